"""StepRunnerActor: one ODA loop. Observe -> decide -> act (start a step run) -> Terminal -> again.

The actor never blocks and never runs user code: observe/decide run on the loop's Thinker
thread, steps are child runs of the RunSystem, and the actor learns that a step ended from a
``Terminal`` message sent by the step's ``on_terminal`` hook — no polling, no timer. Every
decision about the loop (budgets, the failure policy, cancellation) is taken here, in mailbox
order, so a step finishing and the loop being cancelled can race without a lock: the cancel
flag is set before the ``CancelLoop`` is queued, and the actor checks it before it starts a step.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Any

import pykka

from runwire.actors import Cancelled, RunTimeoutError, UnknownRunError
from runwire.actors.ext import Pause, tell_quietly
from runwire.protocol import RunEvent, StepFinished, StepStarted

from ._messages import CancelLoop, DeadlineReached, Decided, LoopEnded, LoopOutcome, StartLoop, Terminal
from ._thinker import Thinker
from ._types import (
    Act,
    Budget,
    FailureBudgetExceeded,
    Finish,
    LoopState,
    Retry,
    StepFailed,
    StepFailurePolicy,
    StepOutcome,
)

if TYPE_CHECKING:
    from runwire.actors import RunContext, RunHandle, RunSystem

__all__ = ["StepRunnerActor"]

_log = logging.getLogger("runwire.oda")


@dataclass(slots=True)
class _Step:
    handle: RunHandle
    act: Act
    index: int
    attempt: int


class StepRunnerActor(pykka.ThreadingActor):
    """Drives one loop; lives as long as the loop run and stops itself after its terminal."""

    use_daemon_thread = True

    def __init__(
        self,
        system: RunSystem,
        observe: Callable[[LoopState], Any] | None,
        decide: Callable[[Any], Any],
        *,
        budget: Budget,
        policy: StepFailurePolicy,
        stop: threading.Event,
        released: threading.Event,
        loop_run_id: str,
    ) -> None:
        super().__init__()
        self._system = system
        self._budget = budget
        self._policy = policy
        self._stop_flag = stop  # set by cancel() callers *before* their CancelLoop is queued
        self._released = released  # set once no step runs: the loop run's cancel hook lets cancels through
        self._loop_run_id = loop_run_id
        me = self.actor_ref
        self._thinker = Thinker(loop_run_id[:8], observe, decide, lambda msg: tell_quietly(me, msg))
        self._ctx: RunContext | None = None
        self._resolve: Callable[[LoopOutcome], None] | None = None
        self._inputs: dict[str, Any] = {}
        self._started_at = time.monotonic()
        self._round = 0  # the decision in flight; a Decided for another round is stale
        self._steps = 0
        self._current: _Step | None = None
        self._last: StepOutcome | None = None
        self._failures = 0
        self._pending_end: Callable[[], LoopOutcome] | None = None  # end once the current step's terminal is in
        self._cancel_reason: str | None = None
        self._loop_cancel_sent = False
        self._done = False  # the loop's outcome was handed to its pipeline, or the loop run ended

    # -- dispatch -----------------------------------------------------------------------------
    def on_receive(self, message: Any) -> Any:
        try:
            self._handle(message)
        except Exception as exc:  # a bug here must still end the loop with a terminal
            _log.exception("StepRunner of loop %s failed handling %s", self._loop_run_id, type(message).__name__)
            outcome = LoopOutcome(error=exc)  # bound now: `exc` is unset after the except block
            self._end(lambda: outcome, step_reason="loop failed")
        return None

    def _handle(self, message: Any) -> None:
        match message:
            case Terminal(child_run_id, event):
                self._terminal(child_run_id, event)
            case Decided(round_, decision, error):
                if round_ == self._round and not self._done:
                    self._decided(decision, error)
            case StartLoop(ctx, resolve, event_loop):
                self._ctx, self._resolve = ctx, resolve
                self._inputs = dict(ctx.inputs)
                self._started_at = time.monotonic()
                self._thinker.use_event_loop(event_loop)
                if not self._stop_flag.is_set():
                    self._think()
            case CancelLoop(reason):
                self._cancel(reason)
            case DeadlineReached():
                if not self._done and not self._stop_flag.is_set():
                    self._end(lambda: self._budget_stop("deadline"), step_reason="loop deadline")
            case LoopEnded(event):
                self._loop_ended(event)
            case Pause(release, timeout, held):
                if held is not None:
                    held.set()
                release.wait(timeout)
            case _:
                raise TypeError(f"StepRunnerActor got an unknown message: {message!r}")

    # -- observe / decide ---------------------------------------------------------------------
    def _think(self) -> None:
        """Hand the next round to the Thinker thread (off the actor)."""
        self._round += 1
        state = LoopState(
            loop_run_id=self._loop_run_id,
            inputs=self._inputs,
            steps=self._steps,
            last=self._last,
            consecutive_failures=self._failures,
            elapsed=time.monotonic() - self._started_at,
        )
        self._thinker.submit(self._round, state)

    def _decided(self, decision: object, error: BaseException | None) -> None:
        self._round += 1  # this round is answered
        if self._stop_flag.is_set():
            self._settle_cancel()
        elif error is not None:
            self._end(lambda: LoopOutcome(error=error))
        elif isinstance(decision, Finish):
            self._end(lambda: LoopOutcome(result=decision.result))
        elif isinstance(decision, Act):
            self._act(decision, attempt=0)
        else:
            err = TypeError(f"decide must return Act(...) or Finish(...), got {type(decision).__name__}")
            self._end(lambda: LoopOutcome(error=err))

    # -- act ----------------------------------------------------------------------------------
    def _act(self, act: Act, attempt: int) -> None:
        """Start ``act`` as the next step, unless a budget says the loop is over."""
        over = self._over_budget()
        if over is not None:
            self._end(lambda: self._budget_stop(over))
            return
        index = self._steps
        try:
            handle = self._system.start(
                act.pipeline, act.inputs, name=act.name, parent_run_id=self._loop_run_id, step=index
            )
        except Exception as exc:  # a bad Act (inputs not JSON, not callable) or a closed system
            outcome = LoopOutcome(error=exc)
            self._end(lambda: outcome)
            return
        self._steps += 1
        self._current = _Step(handle, act, index, attempt)
        me = self.actor_ref
        child = handle.run_id
        handle.on_terminal(lambda event: tell_quietly(me, Terminal(child, event)))
        self._emit(StepStarted(run_id=self._loop_run_id, child_run_id=child, index=index, name=handle.pipeline))

    def _over_budget(self) -> str | None:
        budget = self._budget
        if budget.deadline is not None and time.monotonic() - self._started_at >= budget.deadline:
            return "deadline"
        if budget.max_steps is not None and self._steps >= budget.max_steps:
            return "max_steps"
        return None

    # -- a step ended -------------------------------------------------------------------------
    def _terminal(self, child_run_id: str, event: RunEvent) -> None:
        step = self._current
        if step is None or step.handle.run_id != child_run_id:
            return
        self._current = None
        outcome = StepOutcome(step.index, child_run_id, step.handle.pipeline, step.attempt, event)
        self._last = outcome
        if outcome.ok and self._pending_end is None and not self._stop_flag.is_set():
            self._failures = 0
            self._think()  # first: the next decision starts while this step is being reported
            self._report(outcome)
            return
        self._report(outcome)
        if self._stop_flag.is_set():
            self._settle_cancel()
        elif self._pending_end is not None:
            self._end(self._pending_end)
        else:
            self._failed(step, outcome)

    def _report(self, outcome: StepOutcome) -> None:
        """step.finished and the loop's progress (both before any later step.started)."""
        self._emit(
            StepFinished(
                run_id=self._loop_run_id,
                child_run_id=outcome.child_run_id,
                index=outcome.index,
                outcome=outcome.outcome,
                result=outcome.result,
                error=outcome.error,
            )
        )
        self._progress(outcome)

    def _failed(self, step: _Step, outcome: StepOutcome) -> None:
        """Apply the failure budget, then the step-failure policy."""
        self._failures += 1
        limit = self._budget.max_consecutive_failures
        if limit is not None and self._failures >= limit:
            err: Exception = FailureBudgetExceeded(
                f"{self._failures} steps failed in a row (max_consecutive_failures={limit}); "
                f"last: step {outcome.index} {outcome.error}"
            )
            self._end(lambda: LoopOutcome(error=err))
            return
        policy = self._policy
        if isinstance(policy, Retry):
            if step.attempt < policy.times:
                self._act(step.act, attempt=step.attempt + 1)
                return
            policy = policy.then
        if policy == "continue":
            self._think()
            return
        tries = f" after {step.attempt} retries" if step.attempt else ""
        err = StepFailed(f"step {outcome.index} ({outcome.name}) failed{tries}: {outcome.error}")
        self._end(lambda: LoopOutcome(error=err))

    def _progress(self, outcome: StepOutcome) -> None:
        """No fraction: how many steps a loop needs is what its decisions find out."""
        message = f"step {outcome.index} ({outcome.name}) {outcome.outcome}"
        if self._ctx is not None:
            with contextlib.suppress(Cancelled):
                self._ctx.progress(current=self._steps, total=self._budget.max_steps, message=message)

    # -- ending -------------------------------------------------------------------------------
    def _budget_stop(self, budget: str) -> LoopOutcome:
        last = self._last.summary() if self._last is not None else None
        return LoopOutcome(result={"budget": budget, "steps": self._steps, "last": last}, finish_reason=budget)

    def _end(self, outcome: Callable[[], LoopOutcome], step_reason: str = "loop ended") -> None:
        """Hand the loop's outcome to its pipeline — after the running step's terminal, if one runs."""
        if self._done or self._stop_flag.is_set():
            return  # already ending, or a CancelLoop is on its way and outranks this
        if self._current is not None:
            self._pending_end = outcome
            self._cancel_step(step_reason)
            return
        self._done = True
        self._round += 1  # a decision still in flight is stale now
        if self._resolve is not None:
            with contextlib.suppress(RuntimeError):  # the system's event loop is gone
                self._resolve(outcome())

    def _cancel(self, reason: str) -> None:
        """Cancel the running step (its run.cancelled comes first), then the loop run."""
        self._stop_flag.set()
        if self._cancel_reason is None:
            self._cancel_reason = reason
        self._round += 1  # a decision in flight will not be acted on
        if self._current is not None:
            self._cancel_step(reason)
        else:
            self._settle_cancel()

    def _settle_cancel(self) -> None:
        """Nothing runs any more: if a cancel was asked, cancel the loop run itself (once)."""
        if self._cancel_reason is None or self._loop_cancel_sent or self._current is not None:
            return
        self._loop_cancel_sent = True
        self._released.set()  # before the cancel: the loop run's cancel hook must not route it back here
        with contextlib.suppress(UnknownRunError, RunTimeoutError):
            self._system.handle(self._loop_run_id).cancel(self._cancel_reason, timeout=0)

    def _cancel_step(self, reason: str) -> None:
        """Non-blocking: the step's terminal comes back as a Terminal message."""
        if self._current is not None:
            with contextlib.suppress(RunTimeoutError):
                self._current.handle.cancel(reason, timeout=0)

    def _loop_ended(self, event: RunEvent) -> None:
        self._done = True
        self._stop_flag.set()
        if self._current is not None:  # the loop run was cancelled directly (not through its LoopHandle)
            self._cancel_step(f"loop {event.type.removeprefix('run.')}")
        self._thinker.close()
        self.stop()

    def _emit(self, event: StepStarted | StepFinished) -> None:
        if self._ctx is not None:
            with contextlib.suppress(Cancelled):  # the loop run already ended: the fence drops it anyway
                self._ctx.emit(event)

    def on_stop(self) -> None:
        self._thinker.close()  # also when the loop never started (system.start refused it)

    def on_failure(
        self,
        exception_type: type[BaseException] | None,
        exception_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Dying anyway: give the loop its terminal and leave no step running."""
        self._thinker.close()
        self._cancel_step("loop runner crashed")
        if not self._done and self._resolve is not None:
            self._done = True
            err = RuntimeError(f"the loop's StepRunner crashed: {exception_value!r}")
            with contextlib.suppress(RuntimeError):
                self._resolve(LoopOutcome(error=err))
