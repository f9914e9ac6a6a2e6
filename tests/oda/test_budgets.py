"""Budgets: max steps and deadline end the loop run.completed with a finish_reason; the Nth failure in
a row ends it run.failed (FailureBudgetExceeded), whatever the policy."""

from __future__ import annotations

import threading

import pytest

from runwire.actors import RunSystem
from runwire.actors.oda import Act, Budget, Finish, LoopHandle, LoopState, Pause, Retry

from ._util import (
    WAIT,
    Gate,
    assert_loop_well_formed,
    children,
    failing_step,
    ok_step,
    steps_then_finish,
    terminal_types,
)


def test_max_steps_ends_the_loop_completed_with_finish_reason(system: RunSystem) -> None:
    loop = system.loop(None, lambda state: Act(ok_step), budget=Budget(max_steps=3))
    terminal = loop.wait(WAIT)
    assert terminal.type == "run.completed"
    assert terminal.finish_reason == "max_steps"
    assert isinstance(terminal.result, dict)
    assert terminal.result["budget"] == "max_steps" and terminal.result["steps"] == 3
    assert terminal.result["last"]["index"] == 2 and terminal.result["last"]["outcome"] == "completed"
    assert len(children(system, loop)) == 3
    progress = [e for e in assert_loop_well_formed(system, loop) if e.type == "run.progress"]
    assert [(e.current, e.total) for e in progress] == [(1, 3), (2, 3), (3, 3), (None, None)]
    assert progress[-1].fraction == 1.0 and progress[-1].message == "loop ended: max_steps"


def test_a_loop_that_finishes_on_its_last_allowed_step_is_not_a_budget_stop(system: RunSystem) -> None:
    terminal = system.loop(None, steps_then_finish(3), budget=Budget(max_steps=3)).wait(WAIT)
    assert terminal.type == "run.completed" and terminal.finish_reason is None and terminal.result == 2


def test_max_steps_zero_starts_nothing(system: RunSystem) -> None:
    loop = system.loop(None, lambda state: Act(ok_step), budget=Budget(max_steps=0))
    terminal = loop.wait(WAIT)
    assert terminal.finish_reason == "max_steps"
    assert terminal.result == {"budget": "max_steps", "steps": 0, "last": None}
    assert children(system, loop) == []


def test_deadline_cancels_the_running_step_and_completes_with_finish_reason(system: RunSystem) -> None:
    gate = Gate()
    loop = system.loop(None, lambda state: Act(gate), budget=Budget(deadline=0.3))
    terminal = loop.wait(WAIT)  # the gate never opens: only the deadline ends this loop
    assert terminal.type == "run.completed" and terminal.finish_reason == "deadline"
    assert terminal.result["last"]["outcome"] == "cancelled"  # type: ignore[index]
    steps = children(system, loop)
    assert terminal_types(steps) == ["run.cancelled"]
    assert steps[0].wait(WAIT).reason == "loop deadline"
    events = assert_loop_well_formed(system, loop)
    assert [e.type for e in events][-4:] == ["step.finished", "run.progress", "run.progress", "run.completed"]


def test_deadline_while_deciding_ends_the_loop_without_another_step(system: RunSystem) -> None:
    release = threading.Event()

    def decide(state: LoopState) -> Act:
        if state.steps == 1:
            release.wait(WAIT)  # a slow decision; the deadline passes meanwhile
        return Act(ok_step)

    loop = system.loop(None, decide, budget=Budget(deadline=0.3))
    terminal = loop.wait(WAIT)
    release.set()
    assert terminal.finish_reason == "deadline"
    assert len(children(system, loop)) == 1


def test_deadline_is_checked_again_before_a_step_starts(system: RunSystem) -> None:
    """The decision arrives after the deadline passed but ahead of the DeadlineReached message."""
    ready = threading.Event()
    loops: list[LoopHandle] = []

    def decide(state: LoopState) -> Act:
        ready.wait(WAIT)
        # hold the runner past the deadline (a busy actor): Decided queues up ahead of DeadlineReached
        loops[0].runner.tell(Pause(threading.Event(), timeout=0.4))
        return Act(ok_step)

    loops.append(system.loop(None, decide, budget=Budget(deadline=0.2)))
    ready.set()
    assert loops[0].wait(WAIT).finish_reason == "deadline"
    assert children(system, loops[0]) == []


@pytest.mark.parametrize("policy", ["continue", Retry(times=10)])
def test_max_consecutive_failures_fails_the_loop_whatever_the_policy(system: RunSystem, policy: object) -> None:
    loop = system.loop(
        None, lambda state: Act(failing_step), on_step_failure=policy, budget=Budget(max_consecutive_failures=3)
    )
    terminal = loop.wait(WAIT)
    assert terminal.type == "run.failed" and terminal.error_type == "FailureBudgetExceeded"
    assert "3 steps failed in a row" in terminal.message and "ValueError: step 2 broke" in terminal.message
    assert terminal_types(children(system, loop)) == ["run.failed"] * 3


def test_a_success_resets_the_consecutive_failure_count(system: RunSystem) -> None:
    plan = [failing_step, failing_step, ok_step, failing_step, failing_step, ok_step]

    def decide(state: LoopState) -> Act | Finish:
        return Act(plan[state.steps]) if state.steps < len(plan) else Finish("survived")

    loop = system.loop(None, decide, on_step_failure="continue", budget=Budget(max_consecutive_failures=3))
    assert loop.wait(WAIT).result == "survived"


def test_budget_values_are_checked() -> None:
    with pytest.raises(ValueError, match="max_steps"):
        Budget(max_steps=-1)
    with pytest.raises(ValueError, match="deadline"):
        Budget(deadline=0)
    with pytest.raises(ValueError, match="max_consecutive_failures"):
        Budget(max_consecutive_failures=0)
    with pytest.raises(ValueError, match="times"):
        Retry(times=-1)
