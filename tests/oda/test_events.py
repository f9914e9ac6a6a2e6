"""One ordered stream of a loop and its steps (include_children): each step's events follow its
step.started and end before its step.finished; every event keeps its own run_id and seq."""

from __future__ import annotations

from typing import Any

import anyio
import pytest

from runwire.actors import RunContext, RunSystem
from runwire.actors.oda import Act, LoopHandle, LoopState, loop_events
from runwire.protocol import TERMINAL_TYPES, RunEvent

from ._util import WAIT, Gate, steps_then_finish, wait_for_event


def chatty(ctx: RunContext) -> int:
    ctx.progress(0.5, message="half")
    ctx.milestone("made", index=ctx.step or 0)
    return ctx.step or 0


def check_nested(loop: LoopHandle, events: list[RunEvent], steps: int) -> None:
    """The order rule, and each run's own seq kept intact."""
    mine = [e for e in events if e.run_id == loop.run_id]
    assert [e.seq for e in mine] == list(range(1, len(mine) + 1))
    i = 0
    for index in range(steps):
        while not (events[i].type == "step.started" and events[i].index == index):  # type: ignore[union-attr]
            assert events[i].run_id == loop.run_id
            i += 1
        child_id = events[i].child_run_id  # type: ignore[union-attr]
        child = []
        i += 1
        while events[i].run_id == child_id:
            child.append(events[i])
            i += 1
        assert [e.seq for e in child] == list(range(1, len(child) + 1))
        assert child[0].type == "run.started" and child[-1].type in TERMINAL_TYPES
        assert all(e.parent_run_id == loop.run_id and e.step == index for e in child)
        assert events[i].type == "step.finished" and events[i].child_run_id == child_id  # type: ignore[union-attr]
    assert events[-1].run_id == loop.run_id and events[-1].type in TERMINAL_TYPES


def test_sync_stream_nests_each_step_between_its_step_events(system: RunSystem) -> None:
    loop = system.loop(None, steps_then_finish(3, chatty))
    events = list(loop_events(system, loop, include_children=True, timeout=WAIT))
    check_nested(loop, events, 3)
    assert [e.type for e in events if e.run_id != loop.run_id] == [
        "run.started",
        "run.progress",
        "run.milestone",
        "run.completed",
    ] * 3


def test_live_subscriber_from_the_start_sees_the_same_stream_as_a_late_one(system: RunSystem) -> None:
    gate = Gate(result=7)

    def decide(state: LoopState) -> Any:
        return steps_then_finish(3, chatty)(state) if state.steps != 1 else Act(gate)

    loop = system.loop(None, decide)
    live = iter(loop.events(include_children=True, timeout=WAIT))  # LoopHandle.events wires to loop_events
    head = [next(live) for _ in range(2)]
    assert [e.type for e in head] == ["run.started", "step.started"]
    gate.open()
    events = head + list(live)
    check_nested(loop, events, 3)
    late = list(loop_events(system, loop, timeout=WAIT))
    assert [(e.run_id, e.seq) for e in late] == [(e.run_id, e.seq) for e in events]


def test_without_children_it_is_the_loop_run_alone(system: RunSystem) -> None:
    loop = system.loop(None, steps_then_finish(2, chatty))
    events = list(loop_events(system, loop, include_children=False, timeout=WAIT))
    assert {e.run_id for e in events} == {loop.run_id}
    assert [e.type for e in events] == [e.type for e in loop.events(timeout=WAIT)]


def test_resume_after_a_seq_replays_later_steps_whole(system: RunSystem) -> None:
    loop = system.loop(None, steps_then_finish(3, chatty))
    second = wait_for_event(loop, "step.started", 2)
    events = list(loop_events(system, loop, after_seq=second.seq - 1, timeout=WAIT))
    assert events[0].type == "step.started" and events[0].index == 1  # type: ignore[union-attr]
    assert events[1].run_id == second.child_run_id and events[1].seq == 1  # type: ignore[union-attr]
    assert sum(1 for e in events if e.type == "step.started") == 2


def test_leaving_early_unsubscribes_from_the_loop_and_the_step(system: RunSystem) -> None:
    gate = Gate()
    loop = system.loop(None, lambda state: Act(gate))
    stream = iter(loop_events(system, loop, timeout=WAIT))
    while (event := next(stream)).run_id == loop.run_id:
        pass
    assert event.type == "run.started"  # the step's first event
    step = system.handle(event.run_id)
    assert step.info().subscribers == 1 and loop.info().subscribers == 1
    stream.close()  # type: ignore[attr-defined]
    # each Unsubscribe was told to its bus before these questions, from this thread: FIFO, no wait needed
    assert step.info().subscribers == 0 and loop.info().subscribers == 0
    loop.cancel("done")


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_async_iteration_gives_the_same_stream(system: RunSystem, backend: str) -> None:
    loop = system.loop(None, steps_then_finish(3, chatty))
    got: list[RunEvent] = []

    async def consume() -> None:
        with anyio.fail_after(WAIT):
            async for event in loop_events(system, loop, include_children=True):
                got.append(event)

    anyio.run(consume, backend=backend)
    check_nested(loop, got, 3)
    assert [(e.run_id, e.seq) for e in got] == [(e.run_id, e.seq) for e in loop_events(system, loop, timeout=WAIT)]


def test_a_step_whose_retention_expired_is_skipped() -> None:
    with RunSystem(retention=0) as system:  # every run is freed at its terminal
        loop = system.loop(None, steps_then_finish(2, chatty))
        stream = iter(loop_events(system, loop, timeout=WAIT))
        assert next(stream).type == "run.started"  # subscribed while the loop is live
        loop.wait(WAIT)  # by now both steps ended and were freed
        rest = list(stream)
    assert {e.run_id for e in rest} == {loop.run_id}
    assert [e.type for e in rest if e.type.startswith("step.")] == ["step.started", "step.finished"] * 2
