"""Step-failure policy: stop (loop run.failed StepFailed), retry N times (then stop or continue),
continue (the failure goes to observe/decide)."""

from __future__ import annotations

import threading
from typing import Any

from runwire.actors import RunContext, RunSystem
from runwire.actors.oda import Act, Budget, Finish, LoopState, Retry

from ._util import WAIT, assert_loop_well_formed, children, failing_step, ok_step, terminal_types


def test_stop_fails_the_loop_at_the_first_failed_step(system: RunSystem) -> None:
    decisions: list[int] = []

    def decide(state: LoopState) -> Act:
        decisions.append(state.steps)
        return Act(ok_step) if state.steps == 0 else Act(failing_step, name="breaks")

    loop = system.loop(None, decide, on_step_failure="stop")
    terminal = loop.wait(WAIT)
    assert terminal.type == "run.failed" and terminal.error_type == "StepFailed"
    assert terminal.message == "step 1 (breaks) failed: ValueError: step 1 broke"
    assert decisions == [0, 1]  # nothing decided after the failure
    assert terminal_types(children(system, loop)) == ["run.completed", "run.failed"]
    assert_loop_well_formed(system, loop)


def test_stop_is_the_default(system: RunSystem) -> None:
    assert system.loop(None, lambda state: Act(failing_step)).wait(WAIT).error_type == "StepFailed"


class Flaky:
    """Fails ``failures`` times, then succeeds (thread-safe count across its runs)."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.calls = 0
        self._lock = threading.Lock()

    def __call__(self, ctx: RunContext) -> str:
        with self._lock:
            self.calls += 1
            call = self.calls
        if call <= self.failures:
            raise ConnectionError(f"flaky call {call}")
        return f"ok on call {call}"


def test_retry_reruns_the_same_step_without_deciding_again(system: RunSystem) -> None:
    flaky = Flaky(failures=2)
    decisions: list[Any] = []

    def decide(state: LoopState) -> Act | Finish:
        decisions.append(state.last and state.last.result)
        return Finish(state.last.result) if state.last is not None else Act(flaky, {"q": 1}, name="fetch")

    loop = system.loop(None, decide, on_step_failure=Retry(times=2))
    assert loop.wait(WAIT).result == "ok on call 3"
    assert decisions == [None, "ok on call 3"]
    steps = children(system, loop)
    assert terminal_types(steps) == ["run.failed", "run.failed", "run.completed"]
    assert [h.pipeline for h in steps] == ["fetch"] * 3
    assert [h.info().step for h in steps] == [0, 1, 2]  # a retry is a step of its own


def test_retry_then_stop_fails_the_loop_when_retries_are_spent(system: RunSystem) -> None:
    loop = system.loop(None, lambda state: Act(Flaky(failures=99), name="never"), on_step_failure=Retry(times=2))
    terminal = loop.wait(WAIT)
    assert terminal.error_type == "StepFailed"
    assert terminal.message == "step 2 (never) failed after 2 retries: ConnectionError: flaky call 3"
    assert len(children(system, loop)) == 3


def test_retry_then_continue_hands_the_failure_to_decide(system: RunSystem) -> None:
    seen: list[str | None] = []

    def decide(state: LoopState) -> Act | Finish:
        if state.last is None:
            return Act(failing_step)
        seen.append(state.last.error)
        return Finish("gave up nicely")

    loop = system.loop(None, decide, on_step_failure=Retry(times=1, then="continue"))
    assert loop.wait(WAIT).result == "gave up nicely"
    assert seen == ["ValueError: step 1 broke"]
    assert len(children(system, loop)) == 2


def test_retries_count_against_max_steps(system: RunSystem) -> None:
    loop = system.loop(
        None, lambda state: Act(failing_step), on_step_failure=Retry(times=5), budget=Budget(max_steps=2)
    )
    terminal = loop.wait(WAIT)
    assert terminal.type == "run.completed" and terminal.finish_reason == "max_steps"
    assert terminal.result["last"]["outcome"] == "failed"  # type: ignore[index]
    assert len(children(system, loop)) == 2


def test_continue_lets_decide_see_each_failure_and_carry_on(system: RunSystem) -> None:
    def decide(state: LoopState) -> Act | Finish:
        if state.steps < 3:
            return Act(failing_step if state.steps % 2 == 0 else ok_step)
        return Finish({"last_ok": state.last is not None and state.last.ok})

    loop = system.loop(None, decide, on_step_failure="continue")
    assert loop.wait(WAIT).result == {"last_ok": False}
    assert terminal_types(children(system, loop)) == ["run.failed", "run.completed", "run.failed"]
