"""Retention and scale: a finished run's memory is freed when its TTL expires; 10,000 concurrent
in-flight runs on one RunSystem each end with exactly one terminal, on a fixed set of threads."""

from __future__ import annotations

import asyncio
import gc
import threading
import tracemalloc
from typing import Any

import pytest

from runwire.actors import RunContext, RunExpiredError, RunSystem
from runwire.actors._messages import InfoRequest

from .helpers import assert_well_formed, collect


def _settle(system: RunSystem) -> None:
    """Every actor has handled what was sent before (FIFO mailboxes): ask each one a question."""
    for shard in system._shards:
        for ref in (shard.bus, shard.completion, shard.run_actor):
            ref.ask(InfoRequest(""), timeout=10)


def _grow(retention: float, runs: int = 200) -> tuple[int, list[str]]:
    def chatty(ctx: RunContext) -> int:
        for i in range(100):
            ctx.delta("answer", f"token {i} ")
        return 1

    with RunSystem(retention=retention) as system:
        warm = system.start(chatty)
        warm.wait(10)
        _settle(system)
        gc.collect()
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        handles = [system.start(chatty) for _ in range(runs)]
        for h in handles:
            h.wait(10)
        ids = [h.run_id for h in handles]
        del handles, h  # the test's own references would keep each run's record alive
        _settle(system)
        gc.collect()
        grown = tracemalloc.get_traced_memory()[0] - before
        tracemalloc.stop()
        if retention == 0:
            with pytest.raises(RunExpiredError, match="expired"):
                system.get(ids[0])
        else:
            assert system.get(ids[0]).state == "completed"
        return grown, ids


def test_memory_returns_when_retention_expires() -> None:
    kept, _ = _grow(retention=300.0)
    freed, _ = _grow(retention=0.0)
    # each retained run holds its 100 events (~150-200 B each as columns: text, ts, sizes); the
    # run's own objects add ~4 KiB, fewer since closures per run were removed
    assert kept > 200 * 100 * 150
    assert freed < kept / 10, (freed, kept)


def test_expired_run_says_so_everywhere() -> None:
    with RunSystem(retention=0.0) as system:
        handle = system.start(lambda ctx: 1)
        handle.wait(10)
        _settle(system)
        with pytest.raises(RunExpiredError):
            handle.info()
        with pytest.raises(RunExpiredError):
            system.handle(handle.run_id)
        assert handle.wait(1).type == "run.completed"  # a handle held before still has its terminal


def test_ten_thousand_concurrent_in_flight_runs() -> None:
    k = 10_000
    holder: dict[str, Any] = {"count": 0}
    all_in = threading.Event()

    async def waiter(ctx: RunContext) -> int:
        if "release" not in holder:
            holder["release"] = asyncio.Event()  # on the system's loop: every run shares it
        ctx.progress(0.5, message="in flight")
        holder["count"] += 1
        if holder["count"] == k:
            all_in.set()
        await holder["release"].wait()
        return 1

    async def releaser(ctx: RunContext) -> None:
        holder["release"].set()

    with RunSystem(retention=600.0) as system:
        threads_before = threading.active_count()
        handles = [system.start(waiter) for _ in range(k)]
        assert all_in.wait(120)  # all 10,000 are in flight at once
        assert threading.active_count() <= threads_before  # no thread per run (others may end meanwhile)
        system.start(releaser).wait(30)
        terminals = [h.wait(60) for h in handles]
        assert all(t.type == "run.completed" for t in terminals)
        for h in handles[:: k // 100]:  # a sample's full logs: one terminal, gapless
            events = collect(h)
            assert_well_formed(events)
            assert [e.type for e in events] == ["run.started", "run.progress", "run.completed"]
