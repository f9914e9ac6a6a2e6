"""Events/s from a worker's emit to an async subscriber: runwire vs floors vs a peer.

Every variant builds the same ``TextDelta`` objects in its producer, and consumes them in an
asyncio task, so the ratios isolate the hand-off machinery:

  floor (a)  per event: thread -> loop with call_soon_threadsafe into an asyncio.Queue
  floor (b)  batched: the producer appends to a deque and wakes the loop once per park
  bare pykka the same worker -> actor -> consumer path built from bare pykka + the batched
             bridge, with no runwire logic (no seq, no log, no fence)
  runwire    system.start(pipeline) + ``async for`` over handle.events()
  autogen    autogen-core SingleThreadedAgentRuntime: publish to a topic, one subscribed agent

Goals (issue 18): runwire >= 0.8x bare pykka batched, >= 2.5x the per-event bridge (floor a),
>= 40x autogen-core.

Usage: python benchmarks/throughput.py [--json]   (RUNWIRE_BENCH_N, RUNWIRE_BENCH_REPEATS)
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import threading
import time
from collections import deque
from typing import Any

sys.path.insert(0, os.path.dirname(__file__))
from _common import REPEATS, fmt, main_one, median_of, run_isolated

from runwire.protocol import DeltaBuilder, TextDelta

N = int(os.environ.get("RUNWIRE_BENCH_N", "200000"))


_build_delta = DeltaBuilder("bench")


def make_event(i: int) -> TextDelta:
    """Built exactly as RunContext.delta builds it (a DeltaBuilder: checked types, UTC ts)."""
    return _build_delta("answer", "tok ")


class DequeBridge:
    """Producer appends under a lock; one call_soon_threadsafe only when the consumer is parked."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop, self.buf, self.lock = loop, deque(), threading.Lock()
        self.waiter: asyncio.Future[None] | None = None

    def put_many(self, items: list[Any]) -> None:
        with self.lock:
            self.buf.extend(items)
            w, self.waiter = self.waiter, None
        if w is not None:
            self.loop.call_soon_threadsafe(lambda: w.done() or w.set_result(None))

    def put(self, item: Any) -> None:
        self.put_many([item])

    async def get_all(self) -> list[Any]:
        while True:
            with self.lock:
                if self.buf:
                    items = list(self.buf)
                    self.buf.clear()
                    return items
                self.waiter = w = self.loop.create_future()
            await w


def bench_floor_a() -> dict[str, float]:
    async def main() -> float:
        loop, q = asyncio.get_running_loop(), asyncio.Queue()
        t0 = time.perf_counter()

        def produce() -> None:
            for i in range(N):
                loop.call_soon_threadsafe(q.put_nowait, make_event(i))

        t = threading.Thread(target=produce)
        t.start()
        got = 0
        while got < N:
            event = await q.get()
            got += event.seq == 0  # touch every event, as a subscriber would
        dt = time.perf_counter() - t0
        await asyncio.to_thread(t.join)
        return N / dt

    return {"events_per_s": asyncio.run(main())}


async def _through_bridge(bridge: DequeBridge, put: Any) -> float:
    """Events/s: a producer thread calls ``put`` per event; this task drains ``bridge`` in batches."""
    t0 = time.perf_counter()

    def produce() -> None:
        for i in range(N):
            put(make_event(i))

    t = threading.Thread(target=produce)
    t.start()
    got = 0
    while got < N:
        for event in await bridge.get_all():
            got += event.seq == 0  # touch every event, as a subscriber would
    dt = time.perf_counter() - t0
    await asyncio.to_thread(t.join)
    return N / dt


def bench_floor_b() -> dict[str, float]:
    async def main() -> float:
        bridge = DequeBridge(asyncio.get_running_loop())
        return await _through_bridge(bridge, bridge.put)

    return {"events_per_s": asyncio.run(main())}


def bare_pykka_path(bridge: DequeBridge) -> tuple[Any, Any]:
    """worker -> one pykka actor -> the batched bridge, with no runwire logic: (actor ref, outbox).

    The outbox is the minimum any actor design needs to batch: one tell per batch, not per event.
    """
    import pykka

    class Relay(pykka.ThreadingActor):
        def on_receive(self, message: Any) -> None:
            bridge.put_many(message.take())

    class Outbox:
        def __init__(self, ref: Any) -> None:
            self.ref, self.items, self.lock, self.scheduled = ref, [], threading.Lock(), False

        def put(self, item: Any) -> None:
            with self.lock:
                self.items.append(item)
                if self.scheduled:
                    return
                self.scheduled = True
            self.ref.tell(self)

        def take(self) -> list[Any]:
            with self.lock:
                items, self.items, self.scheduled = self.items, [], False
                return items

    ref = Relay.start()
    return ref, Outbox(ref)


def bench_bare_pykka() -> dict[str, float]:
    async def main() -> float:
        bridge = DequeBridge(asyncio.get_running_loop())
        ref, box = bare_pykka_path(bridge)
        try:
            return await _through_bridge(bridge, box.put)
        finally:
            ref.stop()

    return {"events_per_s": asyncio.run(main())}


def bench_runwire() -> dict[str, float]:
    from runwire.actors import RunSystem

    def flood(ctx: Any) -> None:
        delta = ctx.delta
        for _ in range(N):
            delta("answer", "tok ")

    async def main(system: RunSystem) -> float:
        t0 = time.perf_counter()
        handle = system.start(flood)
        chars = 0
        async for event in handle.events():  # the default policy: a subscriber that falls
            if event.type == "text.delta":  # behind gets adjacent deltas merged, never lost
                chars += len(event.text)
        dt = time.perf_counter() - t0
        assert chars == 4 * N, chars  # every "tok " arrived
        return N / dt

    with RunSystem() as system:
        return {"events_per_s": asyncio.run(main(system))}


def bench_autogen() -> dict[str, float]:
    from autogen_core import DefaultTopicId, SingleThreadedAgentRuntime

    sink_type = _autogen_sink()
    n = min(N, 20_000)  # the peer is slow; fewer events keep the run short (the rate is per event)
    done = asyncio.Event()

    async def main() -> float:
        runtime = SingleThreadedAgentRuntime()
        await sink_type.register(runtime, "sink", lambda: sink_type(n, done))
        runtime.start()
        t0 = time.perf_counter()
        for i in range(n):
            await runtime.publish_message(make_event(i), DefaultTopicId())  # a pydantic message
        await done.wait()
        dt = time.perf_counter() - t0
        await runtime.stop_when_idle()
        return n / dt

    return {"events_per_s": asyncio.run(main())}


def _autogen_sink() -> Any:
    from autogen_core import MessageContext, RoutedAgent, default_subscription, message_handler

    globals()["MessageContext"] = MessageContext  # autogen resolves the handler's (string) annotations

    @default_subscription
    class Sink(RoutedAgent):
        def __init__(self, n: int, done: asyncio.Event) -> None:
            super().__init__("sink")
            self.count, self.n, self.done = 0, n, done

        @message_handler
        async def on_delta(self, message: TextDelta, ctx: MessageContext) -> None:
            self.count += 1
            if self.count == self.n:
                self.done.set()

    return Sink


BENCHES = {
    "floor_a_call_soon": bench_floor_a,
    "floor_b_batched": bench_floor_b,
    "bare_pykka_batched": bench_bare_pykka,
    "runwire": bench_runwire,
    "autogen_core": bench_autogen,
}


def main() -> dict[str, Any]:
    results: dict[str, Any] = {"N": N, "repeats": REPEATS}
    for name in BENCHES:
        try:
            runs = run_isolated(__file__, name)
        except Exception as exc:  # e.g. the peer is not installed
            print(f"{name:22s} skipped: {str(exc).strip().splitlines()[-1]}")
            continue
        results[name] = median_of(runs, "events_per_s")
        spread = [round(r["events_per_s"]) for r in runs]
        print(f"{name:22s} median {fmt(results[name])} events/s   runs {spread}")
    rw = results.get("runwire")
    if rw:
        for peer, goal in (
            ("floor_a_call_soon", 2.5),
            ("floor_b_batched", None),
            ("bare_pykka_batched", 0.8),
            ("autogen_core", 40.0),
        ):
            if results.get(peer):
                ratio = rw / results[peer]
                results[f"ratio_vs_{peer}"] = ratio
                target = f" (goal >= {goal}x: {'met' if ratio >= goal else 'NOT met'})" if goal else ""
                print(f"runwire / {peer:20s} = {ratio:.2f}x{target}")
    return results


if __name__ == "__main__" and not main_one(BENCHES):
    out = main()
    if "--json" in sys.argv:
        print(json.dumps(out))
