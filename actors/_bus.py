"""BusActor: one shard of run logs. Assigns ``seq``, keeps the log, fans out, fences the terminal.

Everything about a log happens inside this actor's mailbox, so sequencing, replay-then-tail
subscription and the terminal fence need no locks: a subscriber registered while handling
``Subscribe`` cannot miss or duplicate an event, because no other event is appended meanwhile.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterable
from concurrent.futures import InvalidStateError
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import pykka

from runwire.protocol import GAP_REASON_RETENTION, RunEvent, StreamGap, utc_now

from ._completion import started_event, terminal_event
from ._doorbell import hold_wakes, release_wakes, wake_later
from ._errors import UnknownRunError
from ._live_run import LiveRun
from ._messages import (
    Close,
    Drain,
    Open,
    Publish,
    PublishTerminal,
    Resume,
    Signal,
    Subscribe,
    Unsubscribe,
)
from ._retained import Replay, RetainedLog
from ._shard import ShardActor, internal_failure
from ._subscription import DEAD, FULL, OK, Sink

__all__ = ["BusActor", "BusRunInfo"]

_log = logging.getLogger("runwire.bus")


@dataclass(slots=True)
class _Log:
    record: LiveRun
    retained: RetainedLog
    started: bool = False
    terminal: RunEvent | None = None
    sinks: dict[Sink, None] = field(default_factory=dict)  # insertion-ordered; O(1) to drop one
    ahead: dict[Sink, int] = field(default_factory=dict)  # sinks whose cursor is past the log's end
    # full `block` subscribers: the outbox waits for them (a dict: an empty one is not GC-tracked)
    held: dict[Sink, None] = field(default_factory=dict)

    @property
    def last_seq(self) -> int:
        return self.retained.last_seq


def _resolve(record: LiveRun, event: RunEvent) -> None:
    with contextlib.suppress(InvalidStateError):  # already resolved by a crash handler
        record.terminal.set_result(event)


@dataclass(frozen=True, slots=True)
class BusRunInfo:
    last_seq: int
    retained_from: int
    retained_bytes: int
    subscribers: int
    late_events_dropped: int
    closed: bool


class BusActor(ShardActor):
    role = "bus"

    def __init__(self, shard: int, retain_events: int = 50_000, retain_bytes: int = 32 * 2**20) -> None:
        super().__init__()
        self.shard = shard
        self.retain_events = retain_events
        self.retain_bytes = retain_bytes
        self.completion: pykka.ActorRef[Any] | None = None  # set by the system before any run
        self._logs: dict[str, _Log] = {}

    def on_receive(self, message: Any) -> Any:
        # The subscribers' wake-ups and the terminal's waiters wait for the end of the message:
        # woken earlier, each thread would only wait for the GIL this one still holds.
        hold_wakes()
        try:
            return super().on_receive(message)
        finally:
            release_wakes()

    def _handle(self, message: Any) -> Any:
        match message:
            case Drain(record):
                self._drain(record)
            case Publish(run_id, event):
                self._publish(run_id, event)
            case PublishTerminal(run_id, event):
                self._terminal(run_id, event)
            case Subscribe(run_id, sink, after_seq):
                self._subscribe(run_id, sink, after_seq)
            case Unsubscribe(run_id, sink):
                log = self._logs.get(run_id)
                if log is not None and sink in log.sinks and self._remove(log, sink):
                    self._drain(log.record)
            case Resume(run_id, sink):
                log = self._logs.get(run_id)
                if log is not None and sink in log.held:
                    log.held.pop(sink, None)
                    self._drain(log.record)
            case Open(record):
                self._logs[record.run_id] = _Log(record, RetainedLog(record.run_id, record.parent_run_id, record.step))
            case Close(run_id):
                self._close(run_id)
            case _:
                return self._shared(message)
        return None

    # -- the log ------------------------------------------------------------------------------
    def _append(self, log: _Log, events: list[RunEvent], plain: bool = False) -> None:
        sinks = log.sinks
        # a store's sink wants each event's JSON: dumped here, before any subscriber holds these
        # shared objects, and once (the log keeps a non-delta's JSON: the same bytes)
        encode = bool(sinks) and any(sink.wants_encoded for sink in sinks)
        encoded = log.retained.append(events, encode, plain)  # stamps seq; no GC-tracked object per event
        log.retained.trim(self.retain_events, self.retain_bytes)
        if sinks:
            released = False
            for sink in list(sinks):
                if encoded is not None and sink.wants_encoded and sink not in log.ahead:
                    status = sink.push_encoded(events, encoded)
                else:
                    status = self._push(log, sink, events)
                if status == FULL:
                    log.held[sink] = None
                elif status == DEAD:
                    released |= self._remove(log, sink)
            if released and not log.held:
                self._drain(log.record)  # after the loop: every sink has this batch first

    @staticmethod
    def _remove(log: _Log, sink: Sink) -> bool:
        """Forget a subscriber; True if it was holding the outbox (the caller drains)."""
        del log.sinks[sink]
        log.ahead.pop(sink, None)
        if sink in log.held:
            log.held.pop(sink, None)
            return True
        return False

    @staticmethod
    def _push(log: _Log, sink: Sink, events: list[RunEvent]) -> int:
        if log.ahead:
            cursor = log.ahead.get(sink)
            if cursor is not None:
                events = [e for e in events if e.seq > cursor]
                if not events:
                    return OK
                del log.ahead[sink]
        return sink.push(events)

    def _drain(self, record: LiveRun) -> None:
        log = self._logs.get(record.run_id)
        if log is None or log.terminal is not None:
            return
        if not log.started or log.held:
            return  # held in the outbox: until run.started is logged / a block subscriber catches up
        if record.cancel_requested.is_set():
            # The terminal is on its way and takes what is pending with it (same log, same order).
            # Draining meanwhile would only keep the producer, this actor and the subscribers
            # passing the GIL among themselves while the CompletionActor waits for it.
            return
        events, plain = record.outbox.take()
        if events:
            self._append(log, events, plain)

    def _publish(self, run_id: str, event: RunEvent) -> None:
        log = self._logs.get(run_id)
        if log is None or log.terminal is not None:
            return
        self._append(log, [event])
        if event.type == "run.started":
            log.started = True
            self._drain(log.record)

    def _terminal(self, run_id: str, event: RunEvent) -> None:
        log = self._logs.get(run_id)
        if log is None or log.terminal is not None:
            return
        pending = log.record.outbox.seal()
        if pending and not log.started:
            # A cancel overtook the run.started still queued in the CompletionActor after the
            # pipeline had emitted: those emits returned, so their events are kept, behind the
            # run.started they need (the CompletionActor sends none once a terminal is decided).
            pending.insert(0, started_event(log.record))
            log.started = True
        pending.append(event)  # one batch: each subscriber is woken once, with the terminal in it
        self._append(log, pending)
        log.terminal = event
        for sink in log.sinks:
            sink.close()
        log.sinks.clear()
        # resolved after the subscribers' wake-ups: the threads waiting on it come after them
        resolve = partial(_resolve, log.record, event)
        if not wake_later(resolve):
            resolve()

    def _subscribe(self, run_id: str, sink: Sink, after_seq: int) -> None:
        log = self._logs.get(run_id)
        if log is None:
            sink.close(UnknownRunError(run_id))
            return
        backlog: list[RunEvent | Replay] = []
        base = log.retained.base
        if after_seq < base:  # older than what is retained: say so, once, first
            backlog.append(
                StreamGap(
                    run_id=run_id,
                    seq=base,
                    ts=utc_now(),
                    from_seq=after_seq + 1,
                    to_seq=base,
                    reason=GAP_REASON_RETENTION,
                )
            )
        replay = log.retained.replay(after_seq)  # decoded by the subscriber, on its own thread
        if replay is not None:
            backlog.append(replay)
        status = sink.push(backlog) if backlog else OK
        if status == DEAD:
            return
        if log.terminal is not None:
            sink.close()
            return
        log.sinks[sink] = None
        if status == FULL:
            log.held[sink] = None
        if after_seq > log.last_seq:
            log.ahead[sink] = after_seq

    def _close(self, run_id: str) -> None:
        log = self._logs.pop(run_id, None)
        if log is not None:
            for sink in log.sinks:
                sink.close()

    def _info(self, run_id: str) -> BusRunInfo | None:
        log = self._logs.get(run_id)
        if log is None:
            return None
        return BusRunInfo(
            last_seq=log.last_seq,
            retained_from=log.retained.base + 1,
            retained_bytes=log.retained.size,
            subscribers=len(log.sinks),
            late_events_dropped=log.record.outbox.late_dropped,
            closed=log.terminal is not None,
        )

    # -- faults -------------------------------------------------------------------------------
    def _fault(self, run_id: str, exc: Exception) -> None:
        if self.completion is not None:  # the CompletionActor decides the run's terminal
            self.completion.tell(internal_failure(run_id, self.role, exc))

    def _open_runs(self) -> Iterable[str]:
        return [run_id for run_id, log in self._logs.items() if log.terminal is None]

    def _crashed(self, failure: Signal) -> None:
        record = self._logs[failure.run_id].record  # the bus writes the terminal itself: it is the log
        # a terminal already decided (a cancel whose PublishTerminal this dying actor will never
        # handle) is the one to write; otherwise this failure is
        self._terminal(failure.run_id, record.terminal.decide(terminal_event(record, failure)))
