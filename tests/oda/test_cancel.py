"""Cancelling a loop: the running step is cancelled first (its run.cancelled is in its log before the
loop's), no step starts after cancel() is called, the loop ends run.cancelled. Races between a step
ending (or a decision arriving) and the cancel are put in the StepRunner's mailbox in each order
deterministically (the actor is held while they queue), then explored by hypothesis."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runwire.actors import RunContext, RunHandle, RunSystem, RunTimeoutError
from runwire.actors.oda import Act, LoopState, Retry, StepFailurePolicy
from runwire.protocol import RunEvent

from ..helpers import completions_paused
from ._util import (
    WAIT,
    Gate,
    assert_loop_well_formed,
    children,
    held,
    ok_step,
    terminal_types,
    wait_for_event,
    wait_for_mail,
)

RACES = (
    "step_running",  # cancel while the step runs
    "terminal_then_cancel",  # the step's Terminal is queued ahead of the CancelLoop
    "cancel_then_terminal",  # the CancelLoop is queued ahead of the step's Terminal
    "deciding",  # cancel while decide runs
    "decided_then_cancel",  # decide's answer is queued ahead of the CancelLoop
    "cancel_then_decided",  # the CancelLoop is queued ahead of decide's answer
)


# a loop cancelled while its one step runs: the step's end is reported before the loop's terminal
CHILD_FIRST_CANCEL = ["run.started", "step.started", "step.finished", "run.progress", "run.cancelled"]


def _ended(system: RunSystem, run_id: str) -> bool:
    try:
        system.handle(run_id).wait(0)
    except RunTimeoutError:
        return False
    return True


def run_race(system: RunSystem, race: str, before: int, step_fails: bool, policy: StepFailurePolicy) -> None:
    """``before`` steps complete, then step ``before`` races with a cancel as ``race`` says."""
    deciding_race = race in ("deciding", "decided_then_cancel", "cancel_then_decided")
    gate = Gate(fail=step_fails and not deciding_race)
    if deciding_race:
        gate.open()
    deciding, go = threading.Event(), threading.Event()
    ran: list[str] = []

    def quick(ctx: RunContext) -> int:
        ran.append(ctx.run_id)
        return 0

    def decide(state: LoopState) -> Act:
        if state.steps < before:
            return Act(quick)
        if state.steps == before:
            return Act(gate, name="raced")
        if deciding_race:
            deciding.set()
            go.wait(WAIT)
        return Act(quick, name="must-not-start")

    loop = system.loop(None, decide, on_step_failure=policy)
    children_done_at_loop_end: list[bool] = []
    loop.on_terminal(lambda t: children_done_at_loop_end.append(all(_ended(system, r) for r in [*ran, *gate.run_ids])))
    if race == "step_running":
        assert gate.entered.wait(WAIT)
        loop.cancel("race")
    elif race in ("terminal_then_cancel", "cancel_then_terminal"):
        wait_for_event(loop, "step.started", before + 1)  # the raced step runs; its Terminal hook is set
        with held(loop):
            if race == "terminal_then_cancel":
                gate.open()
                wait_for_mail(loop, 1)
                loop.request_cancel("race")
            else:
                loop.request_cancel("race")
                wait_for_mail(loop, 1)
                gate.open()
                wait_for_mail(loop, 2)
    elif race == "deciding":
        assert deciding.wait(WAIT)
        loop.cancel("race")
        go.set()
    else:
        assert deciding.wait(WAIT)
        with held(loop):
            if race == "decided_then_cancel":
                go.set()
                wait_for_mail(loop, 1)
                loop.request_cancel("race")
            else:
                loop.request_cancel("race")
                wait_for_mail(loop, 1)
                go.set()
                wait_for_mail(loop, 2)
    terminal = loop.wait(WAIT)
    go.set()

    assert terminal.type == "run.cancelled" and terminal.reason == "race"
    events = assert_loop_well_formed(system, loop)
    started = [e for e in events if e.type == "step.started"]
    assert len(started) == before + 1, [e.name for e in started]  # no step after the raced one
    assert [e.type for e in events if e.type.startswith("step.")].count("step.finished") == before + 1
    assert children_done_at_loop_end == [True]  # every step's terminal was logged before the loop's
    assert loop.runner.actor_stopped.wait(WAIT)


@pytest.mark.parametrize("race", RACES)
def test_cancel_racing_a_step_end_or_a_decision_never_starts_another_step(system: RunSystem, race: str) -> None:
    run_race(system, race, before=1, step_fails=False, policy="stop")


@settings(max_examples=60)
@given(
    race=st.sampled_from(RACES),
    before=st.integers(0, 2),
    step_fails=st.booleans(),
    policy=st.sampled_from(["stop", "continue", Retry(times=1)]),
)
def test_cancel_races_under_random_interleavings(
    system: RunSystem, race: str, before: int, step_fails: bool, policy: StepFailurePolicy
) -> None:
    run_race(system, race, before, step_fails, policy)


def test_cancel_cancels_the_running_step_first_then_the_loop(system: RunSystem) -> None:
    gate = Gate()
    loop = system.loop(None, lambda state: Act(gate, name="long"))
    assert gate.entered.wait(WAIT)
    step = system.handle(gate.run_ids[0])
    step_done_when_loop_ended: list[bool] = []
    loop.on_terminal(lambda t: step_done_when_loop_ended.append(_ended(system, step.run_id)))
    terminal = loop.cancel("stop it")
    assert terminal.type == "run.cancelled" and terminal.reason == "stop it"
    assert loop.info().last_seq == terminal.seq  # in the log when cancel() returns, and last
    assert step_done_when_loop_ended == [True]
    step_terminal = step.wait(0)
    assert step_terminal.type == "run.cancelled" and step_terminal.reason == "stop it"
    events = assert_loop_well_formed(system, loop)
    assert [e.type for e in events] == CHILD_FIRST_CANCEL
    assert events[2].outcome == "cancelled"


def test_a_cancel_that_overtakes_the_loops_run_started_keeps_its_steps(system: RunSystem) -> None:
    """Every CompletionActor held: no run.started is logged, yet the loop runs its step, and the
    cancel's terminals reach the bus first. The loop's step.started/finished were emitted before
    it, so they are in its log, behind a run.started (the ODA cancel race lost them under load)."""
    gate = Gate()
    with completions_paused(system):
        loop = system.loop(None, lambda state: Act(gate, name="long"))
        assert gate.entered.wait(WAIT)
        terminal = loop.cancel("before run.started")
    assert terminal.type == "run.cancelled" and terminal.reason == "before run.started"
    events = assert_loop_well_formed(system, loop)
    assert [e.type for e in events] == CHILD_FIRST_CANCEL
    assert events[2].outcome == "cancelled"


def test_cancel_after_the_loop_ended_is_a_no_op(system: RunSystem) -> None:
    loop = system.loop(None, lambda state: Act(ok_step), budget=None, on_step_failure="stop", inputs={})
    loop.request_cancel("first")
    done = loop.wait(WAIT)
    assert loop.cancel("again") is done
    assert loop.cancel("and again") is done


def test_cancel_from_many_threads_gives_one_terminal(system: RunSystem) -> None:
    gate = Gate()
    loop = system.loop(None, lambda state: Act(gate))
    assert gate.entered.wait(WAIT)
    barrier = threading.Barrier(8)
    results: list[RunEvent] = []

    def cancel() -> None:
        barrier.wait(WAIT)
        results.append(loop.cancel(f"caller {threading.get_ident()}"))

    threads = [threading.Thread(target=cancel) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT)
    assert len(results) == 8 and all(r is results[0] for r in results)
    assert results[0].type == "run.cancelled"
    assert terminal_types(children(system, loop)) == ["run.cancelled"]


def test_a_plain_run_handle_cancel_stops_the_chain_child_first(system: RunSystem) -> None:
    """Cancelled through the core handle (MCP's cancel_run, `runwire cancel`): still child-first."""
    gate = Gate()
    loop = system.loop(None, lambda state: Act(gate))
    assert gate.entered.wait(WAIT)
    plain = system.handle(loop.run_id)
    assert type(plain).__name__ == "RunHandle"
    terminal = plain.cancel("direct")
    assert terminal.type == "run.cancelled"
    steps = children(system, loop)
    assert len(steps) == 1
    step_terminal = steps[0].wait(WAIT)
    assert step_terminal.type == "run.cancelled"
    assert step_terminal.ts <= terminal.ts  # the step's run.cancelled is logged before the loop's
    assert loop.runner.actor_stopped.wait(WAIT)
    assert len(children(system, loop)) == 1


def test_closing_the_system_ends_its_loops_and_their_steps() -> None:
    gate = Gate()
    with RunSystem(cancel_deadline=2.0) as system:
        loop = system.loop(None, lambda state: Act(gate))
        assert gate.entered.wait(WAIT)
        step = system.handle(gate.run_ids[0])
    assert loop.wait(WAIT).type == "run.cancelled"
    assert step.wait(WAIT).type == "run.cancelled"
    assert loop.runner.actor_stopped.wait(WAIT)


def test_cancel_right_after_start_starts_no_step_after_it(system: RunSystem) -> None:
    started: list[Any] = []

    def step(ctx: RunContext) -> None:
        started.append(ctx.run_id)

    for _ in range(20):
        loop = system.loop(None, lambda state: Act(step))
        terminal = loop.cancel("at once")
        assert terminal.type == "run.cancelled"
        count = len(children(system, loop))
        assert count <= 1  # at most the one a decision had already started
        assert loop.runner.actor_stopped.wait(WAIT)
        assert len(children(system, loop)) == count


def test_child_first_cancel_holds_for_concurrent_cancels_through_any_handle(system: RunSystem) -> None:
    """Eight cancels at once, through plain handles and the loop's, while the StepRunner is held:
    none may end the loop run before its running step (the old hook was taken by the first
    cancel and the others went straight to the loop run). Order is read by seq in the loop's log."""
    gate = Gate()
    loop = system.loop(None, lambda state: Act(gate, name="long"))
    assert gate.entered.wait(WAIT)
    handles = [system.handle(loop.run_id) if i % 2 else loop for i in range(8)]
    barrier = threading.Barrier(len(handles))
    results: list[RunEvent] = []

    def cancel(handle: RunHandle) -> None:
        barrier.wait(WAIT)
        results.append(handle.cancel(f"caller {threading.get_ident()}", timeout=WAIT))

    with held(loop):  # every cancel is queued behind the Pause: a direct one would end the loop now
        threads = [threading.Thread(target=cancel, args=(h,)) for h in handles]
        for thread in threads:
            thread.start()
        wait_for_mail(loop, len(handles))  # every cancel reached the StepRunner; none ended the loop run
        assert not _ended(system, loop.run_id)
    for thread in threads:
        thread.join(WAIT)
    assert len(results) == len(handles) and all(r is results[0] for r in results)
    events = assert_loop_well_formed(system, loop)
    finished = [e for e in events if e.type == "step.finished"]
    assert len(finished) == 1 and finished[0].outcome == "cancelled"
    assert finished[0].seq < results[0].seq and results[0].type == "run.cancelled"
    assert terminal_types(children(system, loop)) == ["run.cancelled"]
    assert loop.cancel("once more", timeout=WAIT) is results[0]  # and again, later: a no-op
