"""CompletionActor: each run's state machine and the only writer of its terminal event.

PENDING -> RUNNING -> {COMPLETED | FAILED | CANCELLED}; PENDING -> CANCELLED. Terminal states
never change. Precedence between racing signals: cancel > fail > complete; a provider
``finish_reason`` never ends a run, it is recorded on the terminal.

How "racing" is made precise: cancel (the strongest) decides at once. A fail or complete is
held as a candidate and the actor sends itself a ``Settle``; every signal already in the
mailbox is handled before it, so the strongest of the signals that arrived together wins,
whatever their order. A ``cancel()`` caller sets the run's cancel flag before its message is
queued, so a Settle that sees the flag waits for the Cancel instead of completing.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import pykka
from pydantic import ValidationError

from runwire.protocol import (
    TERMINAL_STATE_OF,
    RunCancelled,
    RunCompleted,
    RunEvent,
    RunFailed,
    RunStarted,
    RunState,
)

from ._live_run import LiveRun
from ._messages import (
    Admit,
    Close,
    PublishTerminal,
    RunEnded,
    Settle,
    Signal,
    Started,
)
from ._messages import Publish as BusPublish
from ._shard import ShardActor, internal_failure

__all__ = ["CompletionActor", "CompletionRunInfo", "terminal_event"]

_log = logging.getLogger("runwire.completion")


_RANK = {"complete": 1, "fail": 2, "cancel": 3}


@dataclass(slots=True)
class _Run:
    record: LiveRun
    state: RunState = "pending"
    candidate: Signal | None = None
    settle_pending: bool = False
    finish_reason: str | None = None
    discarded: int = 0
    terminal: RunEvent | None = None


@dataclass(frozen=True, slots=True)
class CompletionRunInfo:
    state: RunState
    terminal: RunEvent | None
    finish_reason: str | None
    discarded_signals: int


class CompletionActor(ShardActor):
    role = "completion"

    def __init__(self, shard: int, bus: pykka.ActorRef[Any]) -> None:
        super().__init__()
        self.shard = shard
        self.bus = bus
        self.run_actor: pykka.ActorRef[Any] | None = None  # set by the system before any run
        self._runs: dict[str, _Run] = {}

    def _fault(self, run_id: str, exc: Exception) -> None:
        run = self._runs.get(run_id)
        if run is not None and run.terminal is None:
            self._decide(run, internal_failure(run_id, self.role, exc))

    def _handle(self, message: Any) -> Any:
        match message:
            case Signal():
                self._signal(message)
            case Settle(run_id):
                self._settle(run_id)
            case Started(run_id):
                self._started(run_id)
            case Admit(record):
                self._runs[record.run_id] = _Run(record)
            case Close(run_id):
                self._runs.pop(run_id, None)
            case _:
                return self._shared(message)
        return None

    def _info(self, run_id: str) -> CompletionRunInfo | None:
        run = self._runs.get(run_id)
        if run is None:
            return None
        return CompletionRunInfo(run.state, run.terminal, run.finish_reason, run.discarded)

    def _started(self, run_id: str) -> None:
        run = self._runs.get(run_id)
        if run is None or run.state != "pending":
            return
        run.state = "running"
        rec = run.record
        event = RunStarted(
            run_id=run_id, parent_run_id=rec.parent_run_id, step=rec.step, pipeline=rec.pipeline_name, inputs=rec.inputs
        )
        self.bus.tell(BusPublish(run_id, event))
        if run.candidate is not None and not run.settle_pending:
            run.settle_pending = True
            self.actor_ref.tell(Settle(run_id))

    def _signal(self, sig: Signal) -> None:
        run = self._runs.get(sig.run_id)
        if run is None:
            return
        if run.terminal is not None:
            run.discarded += 1  # late: cancel is sticky, terminals never change
            return
        if sig.kind == "provider_finish":
            run.finish_reason = sig.reason or None
            return
        if sig.kind == "cancel":
            if run.candidate is not None:
                run.discarded += 1
            self._decide(run, sig)
            return
        if run.candidate is None:
            run.candidate = sig
        else:
            run.discarded += 1
            if _RANK[sig.kind] > _RANK[run.candidate.kind]:
                run.candidate = sig
        if not run.settle_pending and run.state == "running":
            run.settle_pending = True
            self.actor_ref.tell(Settle(sig.run_id))

    def _settle(self, run_id: str) -> None:
        run = self._runs.get(run_id)
        if run is None:
            return
        run.settle_pending = False
        if run.terminal is not None or run.candidate is None or run.state != "running":
            return
        if run.record.cancel_requested.is_set():
            return  # a Cancel is queued behind us and outranks this candidate
        self._decide(run, run.candidate)

    def _decide(self, run: _Run, sig: Signal) -> None:
        rec = run.record
        event = terminal_event(rec, sig, run.finish_reason)
        run.state = TERMINAL_STATE_OF[event.type]
        run.terminal = event
        run.candidate = None
        try:
            self.bus.tell(PublishTerminal(rec.run_id, event))
        except pykka.ActorDeadError:
            _log.error("bus shard %d is dead; run %s ends without its log", self.shard, rec.run_id)
        if self.run_actor is not None:
            with contextlib.suppress(pykka.ActorDeadError):
                self.run_actor.tell(RunEnded(rec.run_id, event.type))

    def _open_runs(self) -> Iterable[str]:
        return [run_id for run_id, run in self._runs.items() if run.terminal is None]

    def _crashed(self, failure: Signal) -> None:
        self._decide(self._runs[failure.run_id], failure)  # _decide only tells: safe while dying


def terminal_event(record: LiveRun, sig: Signal, finish_reason: str | None = None) -> RunEvent:
    """The terminal event an outcome signal (cancel, fail or complete) gives ``record``'s run."""
    common: dict[str, Any] = {
        "run_id": record.run_id,
        "parent_run_id": record.parent_run_id,
        "step": record.step,
        "finish_reason": finish_reason,
    }
    try:
        if sig.kind == "cancel":
            return RunCancelled(reason=sig.reason, **common)
        if sig.kind == "fail":
            return RunFailed(error_type=sig.error_type, message=sig.message, traceback=sig.traceback, **common)
        return RunCompleted(result=sig.result, **common)
    except ValidationError as exc:  # every entry checks its values; this keeps "one terminal" if one did not
        common["finish_reason"] = None
        return RunFailed(error_type="InternalError", message=f"the run's terminal was invalid: {exc!r}", **common)
