"""CompletionActor: each run's state machine; it decides complete/fail terminals, cancel() decides its own.

PENDING -> RUNNING -> {COMPLETED | FAILED | CANCELLED}; PENDING -> CANCELLED. Terminal states
never change. Precedence between racing signals: cancel > fail > complete; a provider
``finish_reason`` never ends a run, it is recorded on the terminal.

One terminal: every decision is a claim on the run's terminal slot (``TerminalSlot.decide``),
and only the winner sends it to the bus. Cancel (the strongest) needs no weighing, so the
``cancel()`` caller decides it on its own thread (``decide_cancel``) and hands it to the bus
itself: one thread wake-up fewer between cancel() and the subscriber (docs/profiles.md). This
actor learns of it from the slot when it next looks at the run (``_synced``).

How "racing" is made precise: a fail or complete is held as a candidate and the actor sends
itself a ``Settle``; every signal already in the mailbox is handled before it, so the strongest
of the signals that arrived together wins, whatever their order. One ``Settle`` serves many
runs: a candidate handled while one is queued waits for the next, sent when the queued one is
handled (so after every signal that was in the mailbox with the candidate); releasing 100,000
runs at once sent 100,000 of them. A ``cancel()`` caller sets the run's cancel flag before it
claims the slot, so a Settle that sees the flag leaves the run to that cancel instead of
completing it.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import pykka
from pydantic import BaseModel, ValidationError

from runwire.protocol import (
    TERMINAL_STATE_OF,
    RunCancelled,
    RunCompleted,
    RunEvent,
    RunFailed,
    RunStarted,
    RunState,
    utc_now,
)
from runwire.protocol._frozen import encodable

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
from ._shard import Box, Shard, ShardActor, internal_failure

__all__ = ["CompletionActor", "CompletionRunInfo", "cancelled_event", "decide_cancel", "stop_worker", "terminal_event"]

_log = logging.getLogger("runwire.completion")


_RANK = {"complete": 1, "fail": 2, "cancel": 3}
_SETTLE = Settle()  # carries nothing: the actor keeps which runs it settles


@dataclass(slots=True)
class _Run:
    record: LiveRun
    state: RunState = "pending"
    candidate: Signal | None = None
    settle_pending: bool = False
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

    def __init__(self, shard: int, bus: pykka.ActorRef[Any], bus_box: Box) -> None:
        super().__init__()
        self.shard = shard
        self.bus = bus
        self._bus_box = bus_box  # run.started and terminals: many runs' per tell
        self.run_actor: pykka.ActorRef[Any] | None = None  # set by the system before any run
        self._runs: dict[str, _Run] = {}
        self._settle_queued = False  # a Settle is in this actor's mailbox
        self._settle_now: list[_Run] = []  # what that Settle decides
        self._settle_next: list[_Run] = []  # candidates handled since it was sent: the next one's

    def _fault(self, run_id: str, exc: Exception) -> None:
        run = self._runs.get(run_id)
        if run is not None and self._synced(run) is None:
            self._decide(run, internal_failure(run_id, self.role, exc))

    def _handle(self, message: Any) -> Any:
        match message:
            case Signal():
                self._signal(message)
            case Settle():
                self._settle_batch()
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
        terminal = self._synced(run)
        finish_reason = run.record.finish_reason  # until the terminal: the latest reported
        if isinstance(terminal, RunCancelled | RunCompleted | RunFailed):
            finish_reason = terminal.finish_reason  # after it: what the terminal carries
        return CompletionRunInfo(run.state, terminal, finish_reason, run.discarded)

    def _synced(self, run: _Run) -> RunEvent | None:
        """The run's terminal if one is decided: here, or by a cancel() caller (through the slot)."""
        if run.terminal is None:
            decided = run.record.terminal.decided()
            if decided is not None:
                run.terminal = decided
                run.state = TERMINAL_STATE_OF[decided.type]
                if run.candidate is not None:
                    run.discarded += 1  # a complete/fail that lost to the cancel
                    run.candidate = None
        return run.terminal

    def _started(self, run_id: str) -> None:
        run = self._runs.get(run_id)
        if run is None or self._synced(run) is not None or run.state != "pending":
            return
        run.state = "running"
        self._bus_box.put(BusPublish(run_id, started_event(run.record)))
        if run.candidate is not None and not run.settle_pending:
            self._want_settle(run)

    def _signal(self, sig: Signal) -> None:
        run = self._runs.get(sig.run_id)
        if run is None:
            return
        if self._synced(run) is not None:
            run.discarded += 1  # late: cancel is sticky, terminals never change
            return
        if sig.kind == "provider_finish":
            return  # the reporter put it on the record (LiveRun.finish_reason) before this
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
            self._want_settle(run)

    def _want_settle(self, run: _Run) -> None:
        run.settle_pending = True
        if self._settle_queued:
            self._settle_next.append(run)
            return
        self._settle_now.append(run)
        self._settle_queued = True
        self.actor_ref.tell(_SETTLE)

    def _settle_batch(self) -> None:
        batch, self._settle_now = self._settle_now, self._settle_next
        self._settle_next = []
        self._settle_queued = bool(self._settle_now)
        if self._settle_queued:
            self.actor_ref.tell(_SETTLE)  # behind every signal in the mailbox now
        for run in batch:
            try:
                self._settle(run)
            except Exception as exc:  # one run's bug fails that run, not the others of the batch
                _log.exception("completion shard %d failed settling run %s", self.shard, run.record.run_id)
                self._fault(run.record.run_id, exc)

    def _settle(self, run: _Run) -> None:
        if self._runs.get(run.record.run_id) is not run:
            return  # closed (expired) meanwhile
        run.settle_pending = False
        if self._synced(run) is not None or run.candidate is None or run.state != "running":
            return
        if run.record.cancel_requested.is_set():
            return  # a cancel() is deciding the run right now, and outranks this candidate
        self._decide(run, run.candidate)

    def _decide(self, run: _Run, sig: Signal) -> None:
        rec = run.record
        mine = terminal_event(rec, sig, rec.finish_reason)
        event = rec.terminal.decide(mine)
        run.state = TERMINAL_STATE_OF[event.type]
        run.terminal = event
        run.candidate = None
        if event is not mine:
            run.discarded += 1  # a cancel() caller decided first (on its own thread)
            return
        try:
            self._bus_box.put(PublishTerminal(rec.run_id, event))  # many terminals per tell
        except pykka.ActorDeadError:
            _log.error("bus shard %d is dead; run %s ends without its log", self.shard, rec.run_id)
        # only a cancel stops a worker; the others' outcome came from the worker (one tell fewer per run)
        if self.run_actor is not None and event.type == "run.cancelled":
            with contextlib.suppress(pykka.ActorDeadError):
                self.run_actor.tell(RunEnded(rec.run_id, event.type))

    def _open_runs(self) -> Iterable[str]:
        return [run_id for run_id, run in self._runs.items() if self._synced(run) is None]

    def _crashed(self, failure: Signal) -> None:
        self._decide(self._runs[failure.run_id], failure)  # _decide only tells: safe while dying


def decide_cancel(record: LiveRun, shard: Shard, reason: str) -> bool:
    """Decide ``run.cancelled`` on the calling thread and send it straight to the bus.

    Cancel outranks every other signal, so there is nothing to weigh: the caller claims the slot
    (False if a terminal was decided first) and tells the bus itself, as ``_decide`` would have,
    without a CompletionActor wake-up in between. The caller sets the run's cancel flag first
    (a RunActor then never starts the worker, a Settle leaves the run) and, if this returns
    True, calls ``stop_worker`` after.
    """
    mine = cancelled_event(record, reason, record.finish_reason)
    if record.terminal.decide(mine) is not mine:
        return False
    try:
        shard.bus_tell(PublishTerminal(record.run_id, mine))
    except pykka.ActorDeadError:
        _log.error("bus shard %d is dead; run %s ends without its log", shard.index, record.run_id)
    return True


def stop_worker(record: LiveRun, shard: Shard) -> None:
    """Tell the RunActor that ``decide_cancel`` cancelled the run: it stops (and times) the worker."""
    with contextlib.suppress(pykka.ActorDeadError):
        shard.run_actor.tell(RunEnded(record.run_id, "run.cancelled"))


def started_event(record: LiveRun) -> RunStarted:
    """``record``'s run.started: sent by the CompletionActor, or made by the bus for a terminal
    that overtook it after the pipeline had emitted (``BusActor._terminal``)."""
    return RunStarted(
        run_id=record.run_id,
        parent_run_id=record.parent_run_id,
        step=record.step,
        pipeline=record.pipeline_name,
        inputs=record.inputs,
    )


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


_new = object.__new__
_set_dict = object.__setattr__
# pydantic keeps its per-instance state in slots: their descriptors set them without a lookup
_set_fields_set = BaseModel.__dict__["__pydantic_fields_set__"].__set__
_set_extra = BaseModel.__dict__["__pydantic_extra__"].__set__
_set_private = BaseModel.__dict__["__pydantic_private__"].__set__
_CANCELLED_SET = frozenset({"run_id", "parent_run_id", "step", "finish_reason", "reason"})  # what terminal_event passes


def _text(value: object, optional: bool) -> bool:
    if value is None:
        return optional
    return type(value) is str and encodable(value)


def cancelled_event(record: LiveRun, reason: str, finish_reason: str | None) -> RunEvent:
    """``terminal_event``'s ``run.cancelled`` for ``record``'s run, built without pydantic's
    validation when its values can only be valid (exact ``str`` that UTF-8 encodes, a non-empty
    ``run_id``, an exact ``int`` step >= 0), as ``DeltaBuilder`` builds deltas; anything else
    takes the validated path. Why: it is built on the ``cancel()`` caller's thread before the bus
    is told, on the way to the subscriber: ~1 µs where validating took 5-17 µs (the ``ts``
    validator runs in Python). tests/test_cancel.py holds the two paths equal."""
    run_id, parent, step = record.run_id, record.parent_run_id, record.step
    if (
        run_id
        and _text(run_id, False)
        and _text(reason, False)
        and _text(parent, True)
        and _text(finish_reason, True)
        and (step is None or (type(step) is int and step >= 0))
    ):
        event: RunCancelled = _new(RunCancelled)
        values = {
            "run_id": run_id,
            "seq": 0,
            "ts": utc_now(),
            "parent_run_id": parent,
            "step": step,
            "type": "run.cancelled",
            "reason": reason,
            "finish_reason": finish_reason,
        }
        _set_dict(event, "__dict__", values)
        _set_fields_set(event, set(_CANCELLED_SET))
        _set_extra(event, None)
        _set_private(event, None)
        return event
    return terminal_event(record, Signal(run_id, "cancel", reason=reason), finish_reason)
