"""Stored reads, the same on every store back-end (tests/backends.py ``DURABLE``): replay, gap fill,
info and runs, as a later system (or this one, once a run left memory) reads what was stored.

Real stores (a SQLite file, the toy in-memory store of docs/extending.md; PostgreSQL joins by one
entry in ``STORES``), real systems and threads; no mocks, no sleeps.
"""

from __future__ import annotations

import threading
from typing import Any

import anyio
import pytest

from runwire.actors import RunContext, RunHandle, RunSystem, UnknownRunError
from runwire.protocol import RunEvent, dump_event

from .backends import SystemFactory
from .helpers import assert_well_formed, every_kind


def boom(ctx: RunContext) -> None:
    raise RuntimeError("boom")


def test_a_later_system_replays_a_stored_run_event_for_event(stored_factory: SystemFactory) -> None:
    first = stored_factory()
    handle = first.start(every_kind, {"repo": "y"}, name="kinds", parent_run_id="loop-9", step=4)
    live = [dump_event(e) for e in handle.events(timeout=10)]
    first.close()
    again = stored_factory().handle(handle.run_id)
    assert [dump_event(e) for e in again.events(timeout=10)] == live
    assert [dump_event(e) for e in again.events(after_seq=5, timeout=10)] == live[5:]
    assert list(again.events(after_seq=len(live), timeout=10)) == []
    assert dump_event(again.wait(1)) == live[-1]
    assert dump_event(again.cancel()) == live[-1]  # an ended run: cancel changes nothing


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_a_run_freed_from_memory_replays_from_the_store_async(stored_factory: SystemFactory, backend: str) -> None:
    system = stored_factory(retention=0)  # retention 0: a finished run leaves memory at once
    handle = system.start(every_kind)
    live = [dump_event(e) for e in handle.events(timeout=10)]

    async def replay() -> list[bytes]:
        return [dump_event(e) async for e in system.handle(handle.run_id).events(timeout=10)]

    assert anyio.run(replay, backend=backend) == live
    assert system.get(handle.run_id).from_store


def test_a_stored_runs_info_is_what_it_ended_with(stored_factory: SystemFactory) -> None:
    first = stored_factory()
    done = first.start(every_kind, {"repo": "y"}, name="kinds", parent_run_id="loop-9", step=4)
    terminal = done.wait(10)
    failed = first.start(boom, name="boom")
    failed.wait(10)
    first.close()
    info = stored_factory().get(done.run_id)
    assert info.from_store
    assert (info.run_id, info.pipeline, info.state, info.parent_run_id, info.step) == (
        done.run_id,
        "kinds",
        "completed",
        "loop-9",
        4,
    )
    assert info.last_seq == terminal.seq
    assert info.terminal is not None and dump_event(info.terminal) == dump_event(terminal)
    assert not info.worker_active and info.subscribers == 0


def test_runs_lists_stored_and_live_runs_once_each_oldest_first(stored_factory: SystemFactory) -> None:
    first = stored_factory()
    done = first.start(every_kind, name="kinds")
    done.wait(10)
    failed = first.start(boom, name="boom")
    failed.wait(10)
    first.close()
    second = stored_factory()
    release = threading.Event()
    live = second.start(lambda ctx: release.wait(10), name="held")
    try:
        assert [i.run_id for i in second.runs()] == [done.run_id, failed.run_id, live.run_id]
        assert [i.run_id for i in second.runs(state="failed")] == [failed.run_id]
        assert [i.run_id for i in second.runs(state="completed")] == [done.run_id]
        assert [i.run_id for i in second.runs(limit=2)] == [failed.run_id, live.run_id]
        assert second.runs(limit=0) == []
        assert [i.from_store for i in second.runs()] == [True, True, False]
    finally:
        release.set()
    live.wait(10)


def _flood_then_hold(emitted: threading.Event, release: threading.Event) -> Any:
    def pipeline(ctx: RunContext) -> int:
        for i in range(2000):
            ctx.delta("answer", f"t{i} ")
        emitted.set()
        release.wait(30)
        ctx.milestone("released")
        return 2000

    return pipeline


def _read_from_0(handle: RunHandle, release: threading.Event, mode: str) -> list[RunEvent]:
    """Subscribe mid-run with cursor 0 (far behind the retained window), then let the run end."""
    if mode == "sync":
        stream = iter(handle.events(timeout=10))
        first = next(stream)
        release.set()
        return [first, *stream]

    async def read() -> list[RunEvent]:
        out = []
        async for event in handle.events(timeout=10):
            out.append(event)
            release.set()
        return out

    return anyio.run(read, backend=mode)


@pytest.mark.parametrize("mode", ["sync", "asyncio", "trio"])
def test_a_cursor_behind_the_retained_window_is_filled_from_the_store(stored_factory: SystemFactory, mode: str) -> None:
    emitted, release = threading.Event(), threading.Event()
    system = stored_factory(retain_events=50)
    handle = system.start(_flood_then_hold(emitted, release))
    assert emitted.wait(10)  # >= 1700 events are in the log by now (outbox window 128): most trimmed
    got = _read_from_0(handle, release, mode)
    assert "stream.gap" not in {e.type for e in got}
    assert_well_formed(got)
    assert len(got) == 2003  # run.started, 2000 deltas, the milestone, run.completed


def test_without_a_store_the_same_cursor_gets_a_gap() -> None:
    """The control for the test above: the gap is real, the store is what fills it."""
    emitted, release = threading.Event(), threading.Event()
    with RunSystem(retain_events=50) as system:
        handle = system.start(_flood_then_hold(emitted, release))
        assert emitted.wait(10)
        got = _read_from_0(handle, release, "sync")
    assert got[0].type == "stream.gap"


def test_a_stored_run_id_is_known_and_taken(stored_factory: SystemFactory) -> None:
    first = stored_factory()
    first.start(every_kind, run_id="kept").wait(10)
    first.close()
    second = stored_factory()
    with pytest.raises(UnknownRunError):
        second.handle("no-such-run")
    with pytest.raises(UnknownRunError):
        second.get("no-such-run")
    with pytest.raises(ValueError, match="already exists in the run store"):
        second.start(every_kind, run_id="kept")
