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

from runwire.protocol import RunEvent, RunFailed

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
    Signal,
    Subscribe,
    Unsubscribe,
)
from ._record import RunRecord
from ._subscription import Sink

__all__ = ["BusActor", "BusRunInfo"]

_log = logging.getLogger("runwire.bus")


@dataclass(slots=True)
class _Log:
    record: RunRecord
    events: list[RunEvent] = field(default_factory=list)
    started: bool = False
    terminal: RunEvent | None = None
    sinks: list[Sink] = field(default_factory=list)
    ahead: dict[Sink, int] = field(default_factory=dict)  # sinks whose cursor is past the log's end


@dataclass(frozen=True, slots=True)
class BusRunInfo:
    last_seq: int
    subscribers: int
    late_events_dropped: int
    closed: bool


class BusActor(pykka.ThreadingActor):
    use_daemon_thread = True

    def __init__(self, shard: int) -> None:
        super().__init__()
        self.shard = shard
        self.completion: pykka.ActorRef[Any] | None = None  # set by the system before any run
        self._logs: dict[str, _Log] = {}

    def on_receive(self, message: Any) -> Any:
        try:
            return self._handle(message)
        except Exception as exc:
            if isinstance(message, Fault) and message.escape:
                raise
            self._fault(message, exc)
            return None

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
                if log is not None and sink in log.sinks:
                    log.sinks.remove(sink)
                    log.ahead.pop(sink, None)
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
        seq = len(log.events)
        for event in events:
            seq += 1
            event.__dict__["seq"] = seq  # built once by the producer; stamped here, never copied
        log.events.extend(events)
        if log.sinks:
            dead = [sink for sink in log.sinks if not self._push(log, sink, events)]
            for sink in dead:
                log.sinks.remove(sink)
                log.ahead.pop(sink, None)

    @staticmethod
    def _push(log: _Log, sink: Sink, events: list[RunEvent]) -> bool:
        if log.ahead:
            cursor = log.ahead.get(sink)
            if cursor is not None:
                events = [e for e in events if e.seq > cursor]
                if not events:
                    return True
                del log.ahead[sink]
        return sink.push(events)

    def _drain(self, record: RunRecord) -> None:
        log = self._logs.get(record.run_id)
        if log is None or log.terminal is not None:
            return
        if not log.started:
            return  # held in the outbox until run.started is in the log
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
        backlog = log.events[after_seq:]
        if backlog and not sink.push(backlog):
            return
        if log.terminal is not None:
            sink.close()
            return
        log.sinks.append(sink)
        if after_seq > len(log.events):
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
            last_seq=len(log.events),
            subscribers=len(log.sinks),
            late_events_dropped=log.record.outbox.late_dropped,
            closed=log.terminal is not None,
        )

    # -- faults -------------------------------------------------------------------------------
    def _fault(self, message: Any, exc: Exception) -> None:
        """A bug while handling a run's message must still end that run with a terminal."""
        run_id = getattr(message, "run_id", None) or getattr(getattr(message, "record", None), "run_id", None)
        _log.exception("BusActor shard %d failed handling %r", self.shard, type(message).__name__)
        if run_id is not None and self.completion is not None:
            self.completion.tell(
                Signal(run_id, "fail", error_type="InternalError", message=f"bus fault: {type(exc).__name__}: {exc}")
            )

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
