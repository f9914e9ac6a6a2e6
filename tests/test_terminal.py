"""Guarantee 2: exactly one terminal per run, whatever races; precedence cancel > fail > complete;
a provider finish_reason never ends a run; late signals are discarded and counted."""

from __future__ import annotations

import random
import threading
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runwire.actors import RunContext, RunSystem

from .helpers import assert_well_formed, blocker, collect, paused


@pytest.fixture
def system(backend_system: RunSystem) -> RunSystem:
    """Every back-end pair (tests/backends.py) keeps these guarantees."""
    return backend_system


def _shard(system: RunSystem, handle: Any) -> Any:
    return system._shards[handle._record.shard]


@pytest.mark.parametrize(
    ("signals", "expected"),
    [
        (["complete", "fail"], "run.failed"),
        (["fail", "complete"], "run.failed"),
        (["complete", "cancel"], "run.cancelled"),
        (["fail", "cancel"], "run.cancelled"),
        (["cancel", "fail", "complete"], "run.cancelled"),
        (["complete", "fail", "cancel"], "run.cancelled"),
    ],
)
@pytest.mark.in_process
def test_precedence_between_signals_that_arrive_together(system: RunSystem, signals: list[str], expected: str) -> None:
    release = threading.Event()
    started = threading.Event()
    handle = system.start(blocker(release, started))
    started.wait(10)
    cancel_thread = None
    with paused(_shard(system, handle).completion):
        for kind in signals:
            if kind == "complete":
                handle.complete({"ok": True})
            elif kind == "fail":
                handle.fail("BoomError", "boom")
            else:
                cancel_thread = threading.Thread(target=handle.cancel, args=("stop",))
                cancel_thread.start()
                handle._record.cancel_requested.wait(10)
    terminal = handle.wait(10)
    release.set()
    if cancel_thread:
        cancel_thread.join(10)
    assert terminal.type == expected
    events = collect(handle)
    assert_well_formed(events)
    assert handle.info().discarded_signals >= len(signals) - 1


@pytest.mark.in_process
def test_provider_finish_reason_alone_never_ends_a_run_and_lands_on_the_terminal(system: RunSystem) -> None:
    release = threading.Event()
    started = threading.Event()
    handle = system.start(blocker(release, started))
    started.wait(10)  # the worker runs: Started was sent before it, so the run is RUNNING
    handle.report_finish_reason("length")
    assert handle.info().state == "running"  # the info ask queues behind the signal
    assert not handle._record.terminal.done()
    release.set()
    terminal = handle.wait(10)
    assert terminal.type == "run.completed"
    assert terminal.finish_reason == "length"


def test_ctx_can_report_finish_reason(system: RunSystem) -> None:
    def pipeline(ctx: RunContext) -> str:
        ctx.report_finish_reason("stop")
        return "x"

    assert system.start(pipeline).wait(10).finish_reason == "stop"


def test_cancel_is_sticky_result_after_cancel_is_discarded_and_counted(system: RunSystem) -> None:
    release = threading.Event()
    handle = system.start(blocker(release))
    assert handle.cancel("user").type == "run.cancelled"
    handle.complete("late result")
    release.set()  # the pipeline now returns 'done' too, also too late
    info = handle.info()
    assert info.state == "cancelled"
    assert info.terminal is not None and info.terminal.type == "run.cancelled"
    events = collect(handle)
    assert_well_formed(events)
    assert all(e.type != "run.completed" for e in events)


def test_complete_then_late_cancel_keeps_completed_and_returns_it(system: RunSystem) -> None:
    handle = system.start(lambda ctx: 5)
    first = handle.wait(10)
    again = handle.cancel("too late")
    assert first.type == again.type == "run.completed"
    assert first is again
    assert_well_formed(collect(handle))


ACTIONS = ["complete", "fail", "cancel", "finish", "pipeline_returns", "pipeline_raises"]


def _act(handle: Any, action: str, release: threading.Event, outcome: dict[str, Any]) -> None:
    if action == "complete":
        handle.complete(1)
    elif action == "fail":
        handle.fail("ExplicitFail", "explicit")
    elif action == "cancel":
        outcome.setdefault("cancel_returns", []).append(handle.cancel("race", timeout=10))
    elif action == "finish":
        handle.report_finish_reason("length")
    elif action in ("pipeline_returns", "pipeline_raises"):
        outcome.setdefault("mode", action)
        release.set()


# 10,000 examples take ~100 s on 2 busy cores: above the suite's 120 s default on a loaded machine.
@pytest.mark.timeout(360)
@settings(max_examples=10_000)
@given(
    actions=st.lists(st.sampled_from(ACTIONS), min_size=1, max_size=5),
    threads=st.integers(min_value=1, max_value=3),
    seed=st.integers(min_value=0, max_value=2**16),
)
def test_exactly_one_terminal_under_random_interleavings(
    race_system: RunSystem, actions: list[str], threads: int, seed: int
) -> None:
    """10,000 random interleavings of outcome signals from several threads at once."""
    release = threading.Event()
    outcome: dict[str, Any] = {}

    def pipeline(ctx: RunContext) -> str:
        release.wait(30)
        ctx.log("worker woke")  # raises Cancelled if the run was cancelled meanwhile
        if outcome.get("mode") == "pipeline_raises":
            raise ValueError("pipeline failed")
        return "returned"

    handle = race_system.start(pipeline)
    rng = random.Random(seed)
    lanes: list[list[str]] = [[] for _ in range(threads)]
    for action in actions:
        lanes[rng.randrange(threads)].append(action)
    barrier = threading.Barrier(threads)

    def lane(items: list[str]) -> None:
        barrier.wait(10)
        for action in items:
            _act(handle, action, release, outcome)

    workers = [threading.Thread(target=lane, args=(items,)) for items in lanes]
    for w in workers:
        w.start()
    for w in workers:
        w.join(30)
    decisive = {"complete", "fail", "cancel", "pipeline_returns", "pipeline_raises"}
    if not decisive & set(actions):
        handle.cancel("end of case")
    release.set()
    terminal = handle.wait(30)
    events = collect(handle)
    assert_well_formed(events)
    assert events[-1] == terminal
    allowed = {"run.cancelled"}  # the end-of-case cancel, or a requested one
    if "complete" in actions or "pipeline_returns" in actions:
        allowed.add("run.completed")
    if "fail" in actions or "pipeline_raises" in actions:
        allowed.add("run.failed")
    assert terminal.type in allowed
    # every cancel() returned the one terminal, whether it decided it or came too late
    assert all(returned is terminal for returned in outcome.get("cancel_returns", []))


@pytest.fixture(scope="module")
def race_system() -> Any:
    with RunSystem(workers=4, retention=30.0) as s:
        yield s
