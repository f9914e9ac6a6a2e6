"""Subscribers cannot harm a run (3): a slow, stalled or dead consumer costs the bus O(1) per event.

``coalesce`` (the default) used to re-coalesce a stalled subscriber's whole backlog on every push
once it held more non-delta events than its buffer (quadratic, unbounded: 142 s instead of 2.3 s
for a 200,000-line run); an async consumer whose loop closed after its last wake-up was never
dropped (a ``block`` run stalled until cancelled); and every parked async consumer cost one
syscall per batch (5,000 of them: 133 s for 2,002 events).
"""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

from runwire.actors import RunContext, RunSystem
from runwire.protocol import dump_event

from .helpers import assert_well_formed, collect


def _logs(n: int, emitted: threading.Event | None = None, release: threading.Event | None = None) -> Any:
    def pipeline(ctx: RunContext) -> int:
        for i in range(n):
            ctx.log(f"line {i}")
        if emitted is not None:
            emitted.set()
        if release is not None:
            release.wait(30)
        return n

    return pipeline


def test_a_stalled_coalesce_subscriber_leaves_the_bus_and_resumes_without_loss(system: RunSystem) -> None:
    emitted, release = threading.Event(), threading.Event()
    handle = system.start(_logs(300, emitted, release))
    stalled = iter(handle.events(buffer=100))  # coalesce; 300 log lines cannot be merged or dropped
    first = next(stalled)
    assert emitted.wait(10)
    # the bus holds nothing for it any more: past its buffer it was let go (it used to keep all)
    assert handle.info().subscribers == 0
    release.set()
    handle.wait(10)
    got = [first, *stalled]  # reading on: it re-subscribes from its cursor, the log has the rest
    assert_well_formed(got)
    assert [dump_event(e) for e in got] == [dump_event(e) for e in collect(handle)]


def _elapsed(system: RunSystem, n: int, buffer: int | None) -> float:
    started = time.perf_counter()
    handle = system.start(_logs(n))
    if buffer is not None:
        stalled = iter(handle.events(buffer=buffer))
        next(stalled)  # reads one event, then stops
    assert handle.wait(60).type == "run.completed"
    return time.perf_counter() - started


def test_a_stalled_coalesce_subscriber_costs_the_bus_linear_time() -> None:
    with RunSystem(shards=1) as system:
        _elapsed(system, 2_000, None)  # warm up
        floor = min(_elapsed(system, 30_000, None) for _ in range(2))
        stalled = min(_elapsed(system, 30_000, 5_000) for _ in range(2))
    # linear: about the floor (it was ~40x: every push re-coalesced the 5,000-event backlog)
    assert stalled < 4 * floor + 0.5, (stalled, floor)


class _CountingLoop(asyncio.SelectorEventLoop):
    """A real event loop that counts the wake-ups other threads schedule into it."""

    wakeups = 0

    def call_soon_threadsafe(self, callback: Any, *args: Any, context: Any = None) -> Any:
        _CountingLoop.wakeups += 1
        return super().call_soon_threadsafe(callback, *args, context=context)


def test_parked_async_subscribers_of_one_loop_cost_one_wakeup_per_batch(system: RunSystem) -> None:
    subscribers, rounds = 200, 20
    turn = [threading.Event() for _ in range(rounds)]

    def pipeline(ctx: RunContext) -> int:
        for i in range(rounds):
            ctx.log(f"round {i}")
            assert turn[i].wait(30)  # every subscriber got it: the next one is its own batch
        return rounds

    async def main() -> list[list[bytes]]:
        handle = system.start(pipeline)
        seen = [0] * rounds

        async def follow() -> list[bytes]:
            got = []
            async for event in handle.events():
                got.append(dump_event(event))
                if event.type == "run.log":
                    i = int(event.message.split()[1])
                    seen[i] += 1
                    if seen[i] == subscribers:
                        turn[i].set()
            return got

        return list(await asyncio.gather(*(follow() for _ in range(subscribers))))

    _CountingLoop.wakeups = 0
    with asyncio.Runner(loop_factory=_CountingLoop) as runner:
        logs = runner.run(main())
    assert all(log == logs[0] for log in logs) and len(logs[0]) == rounds + 2
    # one per loop per batch (it was one per subscriber per batch: 200 x 22 here)
    assert _CountingLoop.wakeups < subscribers, _CountingLoop.wakeups


def test_an_async_subscriber_whose_loop_closed_after_its_wakeup_is_dropped(system: RunSystem) -> None:
    proceed = [threading.Event() for _ in range(2)]
    emitted = threading.Event()

    def pipeline(ctx: RunContext) -> int:
        ctx.log("one")
        assert proceed[0].wait(30)
        ctx.log("two")  # wakes the parked consumer: the wake-up is queued on a loop that never runs again
        emitted.set()
        assert proceed[1].wait(30)
        for i in range(1_000):  # past buffer and outbox window: under `block` this used to hold the run forever
            ctx.log(f"flood {i}")
        return 1

    handle = system.start(pipeline)
    loop = asyncio.new_event_loop()
    got: list[str] = []

    async def consume() -> None:
        async for event in handle.events(buffer=4, policy="block"):
            got.append(event.type)
            if len(got) == 2:  # run.started, "one": park in the next read, and stop the loop there
                asyncio.get_running_loop().call_soon(asyncio.get_running_loop().stop)

    task = loop.create_task(consume())
    loop.run_forever()  # returns with the consumer parked
    proceed[0].set()
    assert emitted.wait(10)
    handle.info()  # the bus handled "two" (this question queues behind it): the wake-up is queued
    loop.close()  # closed without finalising the consumer: it never unsubscribes
    proceed[1].set()
    assert handle.wait(10).type == "run.completed"
    assert handle.info().subscribers == 0
    assert got == ["run.started", "run.log"]
    del task


def test_a_held_wakeup_whose_loop_closed_before_its_release_drops_the_subscriber_at_its_next_push() -> None:
    """The bus holds a parked consumer's wake-up until the end of its message (hold_wakes); a
    loop that closes in between fails it at release: the sink's next push says DEAD, so the bus
    drops it there (as it would have at the ring itself), whatever the sink's buffer."""
    from runwire.actors._doorbell import Doorbell, hold_wakes, release_wakes
    from runwire.actors.ext import DEAD, OK, AsyncSink
    from runwire.protocol import RunLog

    loop = asyncio.new_event_loop()
    sink = AsyncSink(Doorbell(loop.call_soon_threadsafe, loop), limit=None)
    parked = loop.create_task(sink.take())
    parked._log_destroy_pending = False  # it is meant to die pending, with its closed loop
    loop.run_until_complete(asyncio.sleep(0))  # one turn: it parks on its sink
    assert not parked.done()
    hold_wakes()  # as the bus does around each message
    try:
        assert sink.push([RunLog(run_id="r", seq=1, message="one")]) == OK  # the wake-up is held
    finally:
        loop.close()  # before the release
        release_wakes()
    assert sink.push([RunLog(run_id="r", seq=2, message="two")]) == DEAD
    del parked
