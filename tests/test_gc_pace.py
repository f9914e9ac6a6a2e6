"""The GC pacing is scoped and reversible: full collections come rarer, in proportion, only while
many runs are in flight, the host's threshold comes back after, and a host's own change stays."""

from __future__ import annotations

import asyncio
import gc
import threading
from typing import Any

from runwire.actors import RunContext, RunSystem
from runwire.actors._gc_pace import STEP
from runwire.actors._messages import InfoRequest


def _settle(system: RunSystem) -> None:
    """Terminal callbacks run on the bus actor that set the terminal: ask each bus a question
    (FIFO mailboxes) and every callback of an earlier terminal has run."""
    for shard in system._shards:
        shard.bus.ask(InfoRequest(""), timeout=10)


def _in_flight(system: RunSystem, count: int) -> tuple[list[Any], Any]:
    """``count`` async runs waiting on one event; returns their handles and a release function."""
    loop_event: dict[str, asyncio.Event] = {}
    all_in = threading.Event()
    arrived = [0]

    async def waiter(ctx: RunContext) -> int:
        event = loop_event.setdefault("release", asyncio.Event())
        arrived[0] += 1
        if arrived[0] == count:
            all_in.set()
        await event.wait()
        return 1

    handles = [system.start(waiter) for _ in range(count)]
    assert all_in.wait(60)

    async def releaser(ctx: RunContext) -> None:
        loop_event["release"].set()

    return handles, lambda: system.start(releaser).wait(30)


def test_full_collections_are_rarer_in_proportion_only_while_many_runs_are_in_flight() -> None:
    host = gc.get_threshold()
    with RunSystem() as system:
        handles, release = _in_flight(system, 3 * STEP)
        assert gc.get_threshold() == (host[0], host[1], host[2] * 3)
        release()
        for h in handles:
            assert h.wait(30).type == "run.completed"
        _settle(system)
        assert gc.get_threshold() == host


def test_a_threshold_the_host_set_meanwhile_is_never_undone() -> None:
    host = gc.get_threshold()
    try:
        with RunSystem() as system:
            handles, release = _in_flight(system, 2 * STEP)
            gc.set_threshold(host[0], host[1], 7)  # the host's own choice, while runs are in flight
            release()
            for h in handles:
                h.wait(30)
            _settle(system)
            assert gc.get_threshold() == (host[0], host[1], 7)
    finally:
        gc.set_threshold(*host)
