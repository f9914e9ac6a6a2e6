"""start_loop: a loop is a run whose async pipeline waits for its StepRunnerActor's outcome.

Why a run: the loop then gets everything a run has for free — its own run_id, ordered events,
exactly one terminal, cancellation, subscriptions. Its pipeline is a coroutine on the system's
event loop that hands the StepRunner its context and awaits one future: it costs no thread and
no wake-up while steps run. The deadline is a ``call_later`` on that same event loop.
"""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import pykka
from pydantic import JsonValue

from runwire.actors import Cancelled, RunContext
from runwire.actors.ext import tell_quietly

from ._handle import LoopHandle
from ._messages import DeadlineReached, LoopEnded, LoopOutcome, StartLoop
from ._runner import StepRunnerActor
from ._types import Budget, LoopError, LoopState, StepFailurePolicy, check_policy

if TYPE_CHECKING:
    from runwire.actors import RunSystem

__all__ = ["start_loop"]


def start_loop(
    system: RunSystem,
    observe: Callable[[LoopState], Any] | None,
    decide: Callable[[Any], Any],
    *,
    budget: Budget | None = None,
    on_step_failure: StepFailurePolicy = "stop",
    inputs: Mapping[str, Any] | None = None,
    name: str = "loop",
    run_id: str | None = None,
) -> LoopHandle:
    """Start an Observe-Decide-Act loop as a run and return its handle at once.

    ``observe(state)`` (``None`` = pass the state through) and ``decide(observation)`` are plain
    or async callables, run off the actor; decide returns :class:`Act` (run a step) or
    :class:`Finish` (end the loop). See docs/oda.md.
    """
    if observe is not None and not callable(observe):
        raise TypeError(f"observe must be callable or None, got {type(observe).__name__}")
    if not callable(decide):
        raise TypeError(f"decide must be callable, got {type(decide).__name__}")
    budget = Budget() if budget is None else budget
    if not isinstance(budget, Budget):
        raise TypeError(f"budget must be a Budget, got {type(budget).__name__}")
    policy = check_policy(on_step_failure)
    rid = run_id if run_id is not None else uuid.uuid4().hex
    if not rid:
        raise ValueError("run_id must be a non-empty string")
    stop, released = threading.Event(), threading.Event()
    runner = StepRunnerActor.start(
        system, observe, decide, budget=budget, policy=policy, stop=stop, released=released, loop_run_id=rid
    )
    try:
        handle = system.start(_loop_pipeline(runner, budget.deadline), inputs, run_id=rid, name=name)
    except BaseException:
        runner.stop(block=False)
        raise
    handle.on_terminal(lambda event: tell_quietly(runner, LoopEnded(event)))
    loop = LoopHandle(system, handle, runner, stop, released)

    # Every cancel of the loop run (a plain RunHandle, MCP's cancel_run, system.close; any number,
    # any thread) is child-first: it goes to the StepRunner until no step runs any more.
    def child_first(reason: str) -> bool:
        if released.is_set():
            return False  # the step has ended: the loop run itself may be cancelled now
        loop.request_cancel(reason)
        return True

    handle.set_cancel_hook(child_first)
    return loop


def _loop_pipeline(runner: pykka.ActorRef[Any], deadline: float | None) -> Callable[[RunContext], Any]:
    async def loop(ctx: RunContext) -> JsonValue:
        event_loop = asyncio.get_running_loop()
        done: asyncio.Future[LoopOutcome] = event_loop.create_future()

        def resolve(outcome: LoopOutcome) -> None:  # called on the actor's thread
            event_loop.call_soon_threadsafe(_settle, done, outcome)

        try:
            runner.tell(StartLoop(ctx, resolve, event_loop))
        except pykka.ActorDeadError:
            raise LoopError("the loop's StepRunner is gone") from None
        timer = None
        if deadline is not None:
            timer = event_loop.call_later(deadline, lambda: tell_quietly(runner, DeadlineReached()))
        try:
            outcome = await done
        finally:
            if timer is not None:
                timer.cancel()
        error = outcome.error
        if error is not None:
            if isinstance(error, Cancelled) or not isinstance(error, Exception):
                # raising these would read as "stopped by cancellation" and leave the run without a terminal
                raise LoopError(f"{type(error).__name__}: {error}") from error
            raise error
        if outcome.finish_reason is not None:
            ctx.report_finish_reason(outcome.finish_reason)
        ctx.progress(1.0, message=f"loop ended: {outcome.finish_reason or 'finished'}")
        return outcome.result

    return loop


def _settle(future: asyncio.Future[LoopOutcome], outcome: LoopOutcome) -> None:
    if not future.done():
        future.set_result(outcome)
