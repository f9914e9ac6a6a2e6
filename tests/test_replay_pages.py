"""A replay is decoded a page at a time as its subscriber reads: the first event of a long
retained log does not wait for the whole log, a reader holds a bounded number of decoded
events, and the hand-over from the replay to the live tail has no gap and no duplicate."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from typing import Any

import anyio
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runwire.actors import RunContext, RunSystem
from runwire.actors._retained import PAGE
from runwire.protocol import EventBase, RunEvent

from .helpers import assert_well_formed, collect

LONG = 20_000


@pytest.fixture(scope="module")
def shared_system() -> Iterator[RunSystem]:
    with RunSystem() as system:
        yield system


def _mixed(  # type: ignore[no-untyped-def]
    n: int, gate: threading.Event | None = None, reached: threading.Event | None = None, at: int = -1
):
    """Deltas (kept as values) with a log line (kept as JSON) and a delta to an artifact now and
    then; with a ``gate``, the producer stops before event ``at`` until it opens."""

    def pipeline(ctx: RunContext) -> int:
        for i in range(n):
            if i == at and gate is not None and reached is not None:
                reached.set()
                gate.wait(10)
            if i % 7 == 3:
                ctx.log(f"line {i}")
            else:
                ctx.delta("answer", f"tok{i} ", artifact_id="a1" if i % 11 == 5 else None)
        return n

    return pipeline


def _alive_events() -> int:
    """Event objects alive now (pydantic models are tracked by the cyclic GC)."""
    gc.collect()
    return sum(1 for o in gc.get_objects() if isinstance(o, EventBase))


def test_the_first_replayed_event_of_a_long_log_decodes_a_page_not_the_log(shared_system: RunSystem) -> None:
    handle = shared_system.start(_mixed(LONG))
    handle.wait(10)
    before = _alive_events()
    stream = iter(handle.events(timeout=10))
    first = next(stream)
    assert first.seq == 1
    assert _alive_events() - before < LONG // 10  # decoded: a page, where it was the whole log
    for event in stream:  # a reader part-way holds what it has not read yet, not what it has
        if event.seq == LONG // 2:
            break
    assert _alive_events() - before < LONG // 10
    stream.close()
    assert_well_formed(collect(handle))


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_an_async_reader_of_a_long_log_holds_a_bounded_number_of_events(shared_system: RunSystem, backend: str) -> None:
    handle = shared_system.start(_mixed(LONG))
    handle.wait(10)
    before = _alive_events()

    async def read() -> tuple[int, int, int]:
        seqs = 0
        async for event in handle.events():
            seqs += 1
            assert event.seq == seqs
            if seqs == 1:
                at_first = _alive_events() - before
            elif seqs == LONG // 2:
                at_half = _alive_events() - before
        return seqs, at_first, at_half

    n, at_first, at_half = anyio.run(read, backend=backend)
    assert n == LONG + 2
    assert at_first < LONG // 10
    assert at_half < LONG // 10


def test_readers_of_one_log_share_its_decoded_events(shared_system: RunSystem) -> None:
    """Readers subscribed together (one loop's tasks subscribe before any is woken) decode each
    event once between them: the second and third get the objects the first decoded."""
    handle = shared_system.start(_mixed(3 * PAGE))
    handle.wait(10)

    async def read() -> list[RunEvent]:
        return [event async for event in handle.events()]

    async def main() -> list[list[RunEvent]]:
        out: dict[int, list[RunEvent]] = {}
        async with anyio.create_task_group() as tg:
            for i in range(3):

                async def one(i: int = i) -> None:
                    out[i] = await read()

                tg.start_soon(one)
        return [out[i] for i in range(3)]

    streams = anyio.run(main)
    assert_well_formed(streams[0])
    assert streams[0] == streams[1] == streams[2]
    assert all(a is b is c for a, b, c in zip(*streams, strict=True))


def test_a_replay_read_while_the_log_is_trimmed_is_exact() -> None:
    """The log trims its oldest events while a slow reader is still replaying them: the reader
    gets what the log held when it subscribed, then the live tail, with no gap (its cursor was
    retained when it subscribed), no duplicate."""
    gate, reached = threading.Event(), threading.Event()
    with RunSystem(retain_events=3 * PAGE) as system:
        handle = system.start(_mixed(20 * PAGE, gate, reached, at=2 * PAGE))
        reached.wait(10)
        for event in handle.events(timeout=10):  # the events before the gate are in the log now
            if event.seq == 2 * PAGE + 1:
                break
        stream = iter(handle.events(timeout=10, buffer=None))
        got = [next(stream)]  # its replay holds 2 * PAGE + 1 events: it has handed out a page
        gate.set()
        handle.wait(10)  # the rest of the run was appended, the old part trimmed away
        assert handle.info().retained_from > 2 * PAGE
        got.extend(stream)
    assert_well_formed(got)


_cursor = st.integers(min_value=0, max_value=3 * PAGE + 10)


@settings(max_examples=40)
@given(
    n=st.integers(min_value=0, max_value=3 * PAGE + 5),
    pause_at=_cursor,
    cursor=_cursor,
    read_first=st.integers(min_value=0, max_value=3 * PAGE + 10),
    buffer=st.sampled_from([1, 7, PAGE, None]),
)
def test_replay_pages_hand_over_to_the_live_tail_at_any_cursor(
    shared_system: RunSystem, n: int, pause_at: int, cursor: int, read_first: int, buffer: int | None
) -> None:
    """Subscribed at any cursor while the producer is held at any point, read part of the replay,
    then let the producer go on: every event after the cursor once, in order (``block``: lossless)."""
    gate, reached = threading.Event(), threading.Event()
    handle = shared_system.start(_mixed(n, gate, reached, at=pause_at))
    held = min(pause_at, n) + 1  # run.started and the events before the gate: they reach the log
    if pause_at < n:
        reached.wait(10)
    stream = iter(handle.events(cursor, timeout=10, buffer=buffer, policy="block"))
    got: list[Any] = [next(stream) for _ in range(min(read_first, max(0, held - cursor)))]
    gate.set()
    got.extend(stream)
    last = n + 2
    assert [e.seq for e in got] == list(range(cursor + 1, last + 1))
    assert got == collect(handle)[cursor:]
