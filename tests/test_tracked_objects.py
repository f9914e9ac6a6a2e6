"""How many objects the cyclic GC tracks per run stays bounded: every full collection walks them
all, so at 100,000 runs each one per run is ~0.1 M more (docs/profiles.md, sessions 7-9).

Counted with ``gc.get_objects()`` before and after, over many runs (an average per run, so the
few objects anything else in the process makes meanwhile do not matter). The bounds are what
the runtime costs now plus what the test's own pipeline holds (its coroutines, the Event's
waiter future, the handle): a change that adds a tracked object per run fails here.
"""

from __future__ import annotations

import asyncio
import gc
import threading
from typing import Any

from runwire.actors import RunContext, RunSystem
from runwire.actors._messages import InfoRequest

RUNS = 1_000
# measured 29 (34 before session 9): 7 of them are this test's (two coroutines, the Event's
# future and its iterator, the handle, the task's wake-up callback and weak reference)
IN_FLIGHT_MAX = 29.5
# measured 15 (17 before session 9), the handle included
FINISHED_MAX = 15.5


def _tracked() -> int:
    gc.collect()
    return len(gc.get_objects())


def _quiet(system: RunSystem) -> None:
    """One more async run to its end (the loop has run every earlier task's done callback: they
    were queued before its spawn), then a question to each shard actor (FIFO mailboxes: every
    message about an earlier run has been handled, every terminal callback has run)."""
    assert system.start(_nothing).wait(30).type == "run.completed"
    for shard in system._shards:
        for ref in (shard.run_actor, shard.completion, shard.bus):
            ref.ask(InfoRequest(""), timeout=10)


async def _nothing(ctx: RunContext) -> None:
    return None


def test_tracked_objects_per_idle_and_finished_run_are_bounded() -> None:
    holder: dict[str, asyncio.Event] = {}
    all_in = threading.Event()
    arrived = [0]

    async def waiter(ctx: RunContext) -> int:
        event = holder.setdefault("release", asyncio.Event())
        ctx.log("in flight")
        arrived[0] += 1
        if arrived[0] == RUNS:
            all_in.set()
        await event.wait()
        return 1

    async def releaser(ctx: RunContext) -> None:
        holder["release"].set()

    with RunSystem(retention=3600.0) as system:
        _quiet(system)  # the first run makes what every later one shares (the loop's, the actors')
        before = _tracked()
        handles: list[Any] = [system.start(waiter) for _ in range(RUNS)]
        assert all_in.wait(60)
        in_flight = (_tracked() - before) / RUNS
        assert system.start(releaser).wait(30).type == "run.completed"
        assert all(h.wait(60).type == "run.completed" for h in handles)
        _quiet(system)
        # the releaser and the _quiet run are finished runs too: 2 more than RUNS
        finished = (_tracked() - before) / (RUNS + 2)
    assert in_flight <= IN_FLIGHT_MAX, f"{in_flight:.2f} GC-tracked objects per in-flight run"
    assert finished <= FINISHED_MAX, f"{finished:.2f} GC-tracked objects per finished (retained) run"
