"""Guarantee 1: seq is the bus's: from 1, +1, no gaps; run.started first; the terminal last."""

from __future__ import annotations

import contextlib
import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runwire.actors import RunContext, RunSystem

from .helpers import assert_well_formed, collect, paused


@pytest.fixture
def system(backend_system: RunSystem) -> RunSystem:
    """Every back-end pair (tests/backends.py) keeps these guarantees."""
    return backend_system


def test_seq_from_one_no_gaps_started_first_terminal_last(system: RunSystem) -> None:
    def pipeline(ctx: RunContext) -> int:
        ctx.progress(0.1, message="begin")
        ctx.milestone("repo_fetched", files=3)
        for i in range(500):
            ctx.delta("answer", f"t{i} ")
        ctx.artifact("llms.txt", size=10)
        return 7

    events = collect(system.start(pipeline))
    assert_well_formed(events)
    assert events[0].type == "run.started"
    assert events[-1].type == "run.completed"
    assert len(events) == 505


def test_producer_seq_is_ignored_bus_assigns_it(system: RunSystem) -> None:
    from runwire.protocol import RunLog

    def pipeline(ctx: RunContext) -> None:
        ctx.emit(RunLog(run_id="someone-else", seq=999, message="hi"))

    events = collect(system.start(pipeline))
    assert [e.seq for e in events] == [1, 2, 3]
    assert events[1].run_id == events[0].run_id


def test_cancel_before_start_makes_the_terminal_the_first_event(system: RunSystem) -> None:
    ran = threading.Event()

    def pipeline(ctx: RunContext) -> None:
        ran.set()

    with contextlib.ExitStack() as stack:
        for shard in system._shards:  # hold every RunActor: Start waits behind the pause
            stack.enter_context(paused(shard.run_actor))
        handle = system.start(pipeline)
        terminal = handle.cancel("before start")
    events = collect(handle)
    assert [e.type for e in events] == ["run.cancelled"]
    assert events[0].seq == 1 and terminal == events[0]
    # the run actor saw the cancel flag when it got Start: the pipeline never ran
    assert handle.info().worker_active is False
    assert not ran.is_set()


@settings(max_examples=60)
@given(st.lists(st.integers(min_value=0, max_value=40), min_size=1, max_size=6), st.booleans())
def test_concurrent_runs_each_have_their_own_gapless_log(system: RunSystem, sizes: list[int], fail: bool) -> None:
    def make(n: int):  # type: ignore[no-untyped-def]
        def pipeline(ctx: RunContext) -> int:
            for i in range(n):
                ctx.log(f"line {i}")
            if fail and n % 2:
                raise RuntimeError("odd")
            return n

        return pipeline

    handles = [system.start(make(n)) for n in sizes]
    for n, handle in zip(sizes, handles, strict=True):
        events = collect(handle)
        assert_well_formed(events)
        assert all(e.run_id == handle.run_id for e in events)
        assert len(events) == n + 2
