"""BusActor: one shard of run logs. Assigns ``seq``, keeps the log, fans out, fences the terminal.

Everything about a log happens inside this actor's mailbox, so sequencing, replay-then-tail
subscription and the terminal fence need no locks: a subscriber registered while handling
``Subscribe`` cannot miss or duplicate an event, because no other event is appended meanwhile.
"""

from __future__ import annotations

import contextlib
import logging
from concurrent.futures import InvalidStateError
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

import pykka

from runwire.protocol import RunEvent, RunFailed, StreamGap, TextDelta, dump_event, utc_now
from runwire.protocol._fast import compact_delta

from ._errors import UnknownRunError
from ._messages import (
    Close,
    Drain,
    Fault,
    InfoRequest,
    Open,
    Pause,
    Publish,
    PublishTerminal,
    Resume,
    Subscribe,
    Unsubscribe,
)
from ._record import RunRecord
from ._shard import ShardActor, internal_failure
from ._subscription import DEAD, FULL, OK, LogEntry, Replay, Sink

__all__ = ["GAP_REASON_RETENTION", "BusActor", "BusRunInfo"]

GAP_REASON_RETENTION = "older events are no longer retained in memory"
_dump = dump_event
_compact = compact_delta


def _delta_envelope(event: TextDelta) -> int:
    """JSON bytes of a delta of this run with empty strings, no seq digits, null artifact_id and
    first_seq and a fractional ts: what :meth:`BusActor._append` adds each delta's own parts to."""
    blank = event.model_copy(update={"seq": 0, "field": "", "text": "", "artifact_id": None, "first_seq": None})
    blank.__dict__["ts"] = event.ts.replace(microsecond=1)
    return len(_dump(blank)) - 1


_log = logging.getLogger("runwire.bus")


@dataclass(slots=True)
class _Log:
    record: RunRecord
    events: list[LogEntry] = field(default_factory=list)  # retained: seq base+1 .. base+len
    sizes: list[int] = field(default_factory=list)  # each retained event's JSON bytes, for trimming
    base: int = 0  # seq of the last event trimmed away (0: nothing trimmed)
    size: int = 0  # JSON bytes of the retained events (text deltas: counted, exact for ASCII text)
    envelope: int = 0  # this run's _delta_envelope, made at its first delta
    started: bool = False
    terminal: RunEvent | None = None
    sinks: list[Sink] = field(default_factory=list)
    ahead: dict[Sink, int] = field(default_factory=dict)  # sinks whose cursor is past the log's end
    held: set[Sink] = field(default_factory=set)  # full `block` subscribers: the outbox waits for them

    @property
    def last_seq(self) -> int:
        return self.base + len(self.events)


@dataclass(frozen=True, slots=True)
class BusRunInfo:
    last_seq: int
    retained_from: int
    retained_bytes: int
    subscribers: int
    late_events_dropped: int
    closed: bool


class BusActor(ShardActor):
    def __init__(self, shard: int, retain_events: int = 50_000, retain_bytes: int = 32 * 2**20) -> None:
        super().__init__()
        self.shard = shard
        self.retain_events = retain_events
        self.retain_bytes = retain_bytes
        self.completion: pykka.ActorRef[Any] | None = None  # set by the system before any run
        self._logs: dict[str, _Log] = {}

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
                    log.held.discard(sink)
                    self._drain(log.record)
            case Open(record):
                self._logs[record.run_id] = _Log(record)
            case Close(run_id):
                self._close(run_id)
            case InfoRequest(run_id):
                return self._info(run_id)
            case Pause(release, timeout):
                release.wait(timeout)
            case Fault(run_id):
                raise RuntimeError(f"injected bus fault while handling run {run_id}")
            case _:
                raise TypeError(f"BusActor got an unknown message: {message!r}")
        return None

    # -- the log ------------------------------------------------------------------------------
    def _append(self, log: _Log, events: list[RunEvent]) -> None:
        # The log keeps no model objects: they would make the cyclic GC's full collections walk a
        # long log (measured: p99 delivery 7 ms -> 1 ms without them) and leave the byte bound
        # vague. Text deltas, the bulk of a log, are kept as flat tuples (~0.2 µs to make, GC-free),
        # every other kind as its JSON bytes (~1.5 µs, once); see docs/architecture.md.
        entries, sizes = log.events, log.sizes
        seq = log.base + len(entries)
        total = log.size
        for event in events:
            seq += 1
            event.__dict__["seq"] = seq  # built once by the producer; stamped here, never copied
            if type(event) is TextDelta:
                delta = _compact(event)
                artifact_id, first_seq = delta[7], delta[8]
                size = (
                    (log.envelope or self._envelope(log, event))
                    + len(str(seq))
                    + len(delta[5])  # field, text: their JSON size for ASCII text without escapes
                    + len(delta[6])
                    + (0 if artifact_id is None else len(artifact_id) - 2)  # '"id"' instead of 'null'
                    + (0 if first_seq is None else len(str(first_seq)) - 4)
                    + (-7 if delta[2].microsecond == 0 else 0)  # no '.ffffff' in the timestamp
                )
                entries.append(delta)
            else:
                encoded_event = _dump(event)
                size = len(encoded_event)
                entries.append(encoded_event)
            sizes.append(size)
            total += size
        log.size = total
        if len(entries) > self.retain_events or log.size > self.retain_bytes:
            self._trim(log)
        if log.sinks:
            released = False
            encoded: list[bytes] | None = None
            for sink in list(log.sinks):
                if sink.wants_encoded and sink not in log.ahead:
                    if encoded is None:
                        encoded = [_dump(event) for event in events]
                    status = sink.push_encoded(events, encoded)  # the store writes JSON
                else:
                    status = self._push(log, sink, events)
                if status == FULL:
                    log.held.add(sink)
                elif status == DEAD:
                    released |= self._remove(log, sink)
            if released and not log.held:
                self._drain(log.record)  # after the loop: every sink has this batch first

    @staticmethod
    def _envelope(log: _Log, event: TextDelta) -> int:
        log.envelope = _delta_envelope(event)
        return log.envelope

    def _trim(self, log: _Log) -> None:
        """Drop the oldest events down to 90% of the limits (amortised: not once per event)."""
        keep_events = self.retain_events * 9 // 10
        keep_bytes = self.retain_bytes * 9 // 10
        events = log.events
        cut = max(0, len(events) - keep_events)
        sizes = log.sizes
        size = log.size - sum(sizes[:cut])
        while cut < len(events) - 1 and size > keep_bytes:
            size -= sizes[cut]
            cut += 1
        if cut:
            del events[:cut]
            del sizes[:cut]
            log.base += cut
            log.size = size

    @staticmethod
    def _remove(log: _Log, sink: Sink) -> bool:
        """Forget a subscriber; True if it was holding the outbox (the caller drains)."""
        log.sinks.remove(sink)
        log.ahead.pop(sink, None)
        if sink in log.held:
            log.held.discard(sink)
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

    def _drain(self, record: RunRecord) -> None:
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
        events = record.outbox.take()
        if events:
            self._append(log, events)

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
        if log.started and pending:
            self._append(log, pending)
        elif pending:
            log.record.outbox.late_dropped += len(pending)
        self._append(log, [event])
        log.terminal = event
        for sink in log.sinks:
            sink.close()
        log.sinks.clear()
        with contextlib.suppress(InvalidStateError):  # already resolved by a crash handler
            log.record.terminal.set_result(event)

    def _subscribe(self, run_id: str, sink: Sink, after_seq: int) -> None:
        log = self._logs.get(run_id)
        if log is None:
            sink.close(UnknownRunError(run_id))
            return
        backlog: list[RunEvent | Replay] = []
        if after_seq < log.base:  # older than what is retained: say so, once, first
            backlog.append(
                StreamGap(
                    run_id=run_id,
                    seq=log.base,
                    ts=utc_now(),
                    from_seq=after_seq + 1,
                    to_seq=log.base,
                    reason=GAP_REASON_RETENTION,
                )
            )
        start = max(0, after_seq - log.base)
        if start < len(log.events):  # parsed by the subscriber, on its own thread, not here
            backlog.append(Replay(log.events[start:], log.base + len(log.events)))
        status = sink.push(backlog) if backlog else OK
        if status == DEAD:
            return
        if log.terminal is not None:
            sink.close()
            return
        log.sinks.append(sink)
        if status == FULL:
            log.held.add(sink)
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
            retained_from=log.base + 1,
            retained_bytes=log.size,
            subscribers=len(log.sinks),
            late_events_dropped=log.record.outbox.late_dropped,
            closed=log.terminal is not None,
        )

    # -- faults -------------------------------------------------------------------------------
    def _fault(self, run_id: str, exc: Exception) -> None:
        if self.completion is not None:  # the CompletionActor decides the run's terminal
            self.completion.tell(internal_failure(run_id, "bus", exc))

    def on_failure(
        self,
        exception_type: type[BaseException] | None,
        exception_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """This shard is dying: give every open run its terminal before it goes."""
        for run_id, log in list(self._logs.items()):
            if log.terminal is None:
                event = RunFailed(
                    run_id=run_id,
                    parent_run_id=log.record.parent_run_id,
                    step=log.record.step,
                    error_type="InternalError",
                    message=f"bus shard {self.shard} crashed: {exception_value!r}",
                )
                self._terminal(run_id, event)
