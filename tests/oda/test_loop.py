"""The loop is a run: step.* events, child runs with parent_run_id/step, one terminal, state from terminals."""

from __future__ import annotations

import threading
from typing import Any

import pykka
import pytest

from runwire.actors import RunContext, RunSystem
from runwire.actors.oda import Act, Finish, LoopHandle, LoopState, StepRunnerActor, start_loop

from ._util import WAIT, assert_loop_well_formed, children, events_of, failing_step, ok_step, steps_then_finish


def test_loop_is_a_run_with_step_events_children_and_one_terminal(system: RunSystem) -> None:
    loop = system.loop(None, steps_then_finish(3), name="three")
    assert isinstance(loop, LoopHandle)
    terminal = loop.wait(WAIT)
    assert terminal.type == "run.completed" and terminal.result == 2
    events = assert_loop_well_formed(system, loop)
    kinds = [e.type for e in events]
    assert kinds[0] == "run.started" and kinds[-1] == "run.completed"
    assert kinds.count("step.started") == kinds.count("step.finished") == 3
    assert [e.current for e in events if e.type == "run.progress"] == [1, 2, 3, None]  # then 1.0 at the end
    steps = children(system, loop)
    assert [h.info().step for h in steps] == [0, 1, 2]
    assert all(h.info().parent_run_id == loop.run_id for h in steps)
    assert [h.pipeline for h in steps] == ["step-0", "step-1", "step-2"]
    finished = [e for e in events if e.type == "step.finished"]
    assert [(e.outcome, e.result) for e in finished] == [("completed", 0), ("completed", 1), ("completed", 2)]


def test_state_carries_the_previous_terminal_result_or_error(system: RunSystem) -> None:
    seen: list[tuple[int, str | None, Any, str | None]] = []

    def decide(state: LoopState) -> Act | Finish:
        last = state.last
        seen.append((state.steps, last and last.outcome, last and last.result, last and last.error))
        if state.steps == 0:
            return Act(ok_step, {"value": {"answer": 42}})
        if state.steps == 1:
            return Act(failing_step)
        return Finish("saw both")

    loop = system.loop(None, decide, on_step_failure="continue")
    assert loop.wait(WAIT).result == "saw both"
    assert seen == [
        (0, None, None, None),
        (1, "completed", {"answer": 42}, None),
        (2, "failed", None, "ValueError: step 1 broke"),
    ]


def test_observe_output_is_what_decide_sees_and_loop_inputs_reach_the_state(system: RunSystem) -> None:
    def observe(state: LoopState) -> dict[str, Any]:
        return {"goal": state.inputs["goal"], "done": state.steps}

    def decide(observation: dict[str, Any]) -> Act | Finish:
        if observation["done"] >= observation["goal"]:
            return Finish(observation)
        return Act(ok_step)

    loop = system.loop(observe, decide, inputs={"goal": 2})
    assert loop.wait(WAIT).result == {"goal": 2, "done": 2}


def test_observe_and_decide_run_off_the_actor_sync_and_async(system: RunSystem) -> None:
    threads: dict[str, set[str]] = {"observe": set(), "decide": set()}

    def observe(state: LoopState) -> LoopState:
        threads["observe"].add(threading.current_thread().name)
        return state

    async def decide(state: LoopState) -> Act | Finish:
        threads["decide"].add(threading.current_thread().name)
        return Finish("async") if state.steps >= 2 else Act(ok_step)

    loop = system.loop(observe, decide)
    assert loop.wait(WAIT).result == "async"
    assert all(name.startswith("runwire-oda-") for name in threads["observe"])
    assert threads["decide"] == {"runwire-loop"}  # coroutines run on the system's event loop
    assert not any("StepRunnerActor" in n for names in threads.values() for n in names)


@pytest.mark.parametrize(
    ("decide", "error_type", "message"),
    [
        (lambda state: 1 / 0, "ZeroDivisionError", "division by zero"),
        (lambda state: "not a decision", "TypeError", "decide must return Act(...) or Finish(...), got str"),
        (lambda state: Act(ok_step, {"x": object()}), "ValueError", "inputs must be a JSON object"),
        (lambda state: Act("not callable"), "TypeError", "pipeline must be callable"),  # type: ignore[arg-type]
        (lambda state: Finish(object()), "TypeError", "not JSON"),
    ],
)
def test_bad_decisions_fail_the_loop_clearly(system: RunSystem, decide: Any, error_type: str, message: str) -> None:
    loop = system.loop(None, decide)
    terminal = loop.wait(WAIT)
    assert terminal.type == "run.failed"
    assert terminal.error_type == error_type
    assert message in terminal.message
    assert children(system, loop) == []


def test_async_observe_failure_fails_the_loop(system: RunSystem) -> None:
    async def observe(state: LoopState) -> None:
        raise LookupError("nothing to see")

    terminal = system.loop(observe, lambda obs: Finish()).wait(WAIT)
    assert (terminal.type, terminal.error_type, terminal.message) == ("run.failed", "LookupError", "nothing to see")


def test_bad_arguments_raise_at_once(system: RunSystem) -> None:
    with pytest.raises(TypeError, match="decide must be callable"):
        system.loop(None, "nope")
    with pytest.raises(TypeError, match="observe must be callable"):
        system.loop(42, ok_step)
    with pytest.raises(ValueError, match="on_step_failure"):
        system.loop(None, ok_step, on_step_failure="retry")
    with pytest.raises(TypeError, match="budget must be a Budget"):
        system.loop(None, ok_step, budget={"max_steps": 3})


def test_start_loop_is_what_system_loop_calls(system: RunSystem) -> None:
    handle = start_loop(system, None, steps_then_finish(1), run_id="my-loop", name="named")
    assert handle.run_id == "my-loop" and handle.pipeline == "named"
    assert handle.wait(WAIT).type == "run.completed"
    assert system.handle("my-loop") == handle


def test_runner_actor_stops_itself_after_its_loop(system: RunSystem) -> None:
    loop = system.loop(None, steps_then_finish(2))
    loop.wait(WAIT)
    assert loop.runner.actor_stopped.wait(WAIT)  # an Event set by pykka when the actor stops
    assert loop.runner not in pykka.ActorRegistry.get_by_class(StepRunnerActor)
    for thread in [t for t in threading.enumerate() if t.name == f"runwire-oda-{loop.run_id[:8]}"]:
        thread.join(WAIT)  # the Thinker thread ends too
        assert not thread.is_alive()


def test_step_results_and_events_stay_with_their_runs(system: RunSystem) -> None:
    def step(ctx: RunContext) -> str:
        ctx.milestone("working", index=ctx.step or 0)
        return f"r{ctx.step}"

    loop = system.loop(None, steps_then_finish(2, step))
    loop.wait(WAIT)
    for index, child in enumerate(children(system, loop)):
        events = events_of(child)
        assert [e.type for e in events] == ["run.started", "run.milestone", "run.completed"]
        assert events[1].data == {"index": index}
        assert events[-1].result == f"r{index}"
