"""Guarantee 5: subscribe(after_seq) gives the retained events after the cursor, then the live
tail: no duplicate, no hole, whatever the timing; several subscribers see the same sequence."""

from __future__ import annotations

import threading
from typing import Any

import anyio
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runwire.actors import RunContext, RunSystem

from .helpers import assert_well_formed, collect


@pytest.fixture
def system(backend_system: RunSystem) -> RunSystem:
    """Every back-end pair (tests/backends.py) keeps these guarantees."""
    return backend_system


def _emitter(n: int, gate: threading.Event | None = None):  # type: ignore[no-untyped-def]
    def pipeline(ctx: RunContext) -> int:
        for i in range(n):
            if gate is not None and i == n // 2:
                gate.wait(10)
            ctx.log(f"{i}")
        return n

    return pipeline


@settings(max_examples=200)
@given(
    n=st.integers(min_value=0, max_value=120),
    cursors=st.lists(st.integers(min_value=0, max_value=130), min_size=1, max_size=4),
    subscribe_at=st.sampled_from(["before", "midway", "after"]),
)
@pytest.mark.in_process
def test_replay_then_tail_without_duplicate_or_hole(
    system: RunSystem, n: int, cursors: list[int], subscribe_at: str
) -> None:
    gate = threading.Event()
    handle = system.start(_emitter(n, gate))
    results: dict[int, list[Any]] = {}

    def subscribe(idx: int, cursor: int) -> None:
        results[idx] = collect(handle, after_seq=cursor)

    threads = [threading.Thread(target=subscribe, args=(i, c)) for i, c in enumerate(cursors)]
    if subscribe_at == "before":
        for t in threads:
            t.start()
        gate.set()
    elif subscribe_at == "midway":
        gate_threads = threads
        for t in gate_threads:
            t.start()  # racing the producer, which is held at n // 2 until the gate opens
        gate.set()
    else:
        gate.set()
        handle.wait(10)
        for t in threads:
            t.start()
    for t in threads:
        t.join(20)
    last = n + 2
    for idx, cursor in enumerate(cursors):
        got = results[idx]
        assert [e.seq for e in got] == list(range(cursor + 1, last + 1)), (cursor, [e.seq for e in got])
        if cursor < last:
            assert got[-1].type == "run.completed"


def test_several_subscribers_see_identical_sequences(system: RunSystem) -> None:
    gate = threading.Event()
    handle = system.start(_emitter(300, gate))
    streams: list[list[Any]] = [[] for _ in range(4)]
    ready = threading.Barrier(5)

    def sub(i: int) -> None:
        it = iter(handle.events(timeout=10))
        ready.wait(10)
        streams[i].extend(it)

    threads = [threading.Thread(target=sub, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    ready.wait(10)
    gate.set()
    for t in threads:
        t.join(20)
    assert_well_formed(streams[0])
    assert all([e.seq for e in s] == [e.seq for e in streams[0]] for s in streams)
    assert all(s == streams[0] for s in streams)


def test_subscribe_racing_the_terminal(system: RunSystem) -> None:
    for _ in range(200):
        handle = system.start(lambda ctx: ctx.log("one") or 1)
        events = collect(handle)
        assert_well_formed(events)
        assert [e.type for e in events] == ["run.started", "run.log", "run.completed"]


def test_subscribe_after_close_replays_and_ends(system: RunSystem) -> None:
    handle = system.start(_emitter(10))
    handle.wait(10)
    first = collect(handle)
    again = collect(handle, after_seq=5)
    assert_well_formed(first)
    assert again == first[5:]
    assert collect(handle, after_seq=first[-1].seq) == []


@pytest.mark.in_process
def test_leaving_a_loop_early_unsubscribes(system: RunSystem) -> None:
    gate = threading.Event()
    handle = system.start(_emitter(50, gate))
    durable = handle.info().subscribers  # a store's own subscriber (0 without a store) stays
    for event in handle.events():
        if event.seq == 2:
            assert handle.info().subscribers == durable + 1
            break
    assert handle.info().subscribers == durable
    gate.set()
    assert handle.wait(10).type == "run.completed"


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
@pytest.mark.in_process
def test_async_subscribers_replay_then_tail(system: RunSystem, backend: str) -> None:
    gate = threading.Event()
    handle = system.start(_emitter(100, gate))

    async def consume(after: int) -> list[Any]:
        return [e async for e in handle.events(after)]

    async def main() -> tuple[list[Any], list[Any]]:
        out: dict[int, list[Any]] = {}
        async with anyio.create_task_group() as tg:

            async def run(after: int) -> None:
                out[after] = await consume(after)

            tg.start_soon(run, 0)
            tg.start_soon(run, 3)
            await anyio.to_thread.run_sync(gate.set)
        return out[0], out[3]

    full, tail = anyio.run(main, backend=backend)
    assert_well_formed(full)
    assert tail == full[3:]
