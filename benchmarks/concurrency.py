"""Aggregate events/s with 1, 10, 100 and 1,000 runs streaming at once, vs bare pykka at the same counts.

Does throughput hold or collapse as runs are added, and with several subscribers per run?
The same ``TOTAL`` text deltas are split over ``runs`` runs in every variant, each run read by
``subs`` asyncio tasks in one consumer loop (as a server holding many streams would):

  runwire    ``runs`` async pipelines on the system's loop, each emitting its share and yielding
             to the loop every ``CHUNK`` events (so the runs interleave), ``subs`` ``async for``
             readers per run
  bare pykka the same interleaving from one producer thread into per-run batched outboxes, two
             relay actors (runwire's default shard count), and one batched bridge per reader: the
             hand-off machinery any actor design needs, with no runwire logic (no seq, log, fence)

Usage: python benchmarks/concurrency.py [--json]   (RUNWIRE_BENCH_TOTAL, RUNWIRE_BENCH_REPEATS)
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import threading
import time
from typing import Any

sys.path.insert(0, os.path.dirname(__file__))
from _common import REPEATS, fmt, main_one, median_of, run_isolated
from throughput import DequeBridge, make_event

TOTAL = int(os.environ.get("RUNWIRE_BENCH_TOTAL", "200000"))
CHUNK = 64  # events a run emits before it yields to the others
COUNTS = (1, 10, 100, 1000)
SUBS = (1, 4)


def bench_runwire(runs: int, subs: int) -> dict[str, float]:
    from runwire.actors import RunSystem

    share = TOTAL // runs

    async def flood(ctx: Any) -> None:
        delta = ctx.delta
        for i in range(share):
            delta("answer", "tok ")
            if i % CHUNK == CHUNK - 1:
                await asyncio.sleep(0)

    async def read(handle: Any) -> int:
        got = 0
        async for event in handle.events(buffer=share + 8, policy="block"):
            got += event.seq > 0
        return got

    async def main(system: RunSystem) -> float:
        t0 = time.perf_counter()
        handles = [system.start(flood) for _ in range(runs)]
        counts = await asyncio.gather(*(read(h) for h in handles for _ in range(subs)))
        dt = time.perf_counter() - t0
        assert all(c == share + 2 for c in counts), counts[:3]  # run.started + deltas + terminal
        return share * runs * subs / dt

    with RunSystem() as system:
        return {"events_per_s": asyncio.run(main(system))}


def bench_bare_pykka(runs: int, subs: int) -> dict[str, float]:
    import pykka

    share = TOTAL // runs

    class Relay(pykka.ThreadingActor):
        def on_receive(self, message: Any) -> None:
            items = message.take()
            for bridge in message.bridges:
                bridge.put_many(items)

    class Outbox:
        def __init__(self, ref: Any, bridges: list[DequeBridge]) -> None:
            self.ref, self.bridges, self.items, self.lock, self.scheduled = ref, bridges, [], threading.Lock(), False

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

    async def read(bridge: DequeBridge) -> int:
        got = 0
        while got < share:
            for event in await bridge.get_all():
                got += event.seq == 0  # touch every event, as a subscriber would
        return got

    async def main() -> float:
        loop = asyncio.get_running_loop()
        relays = [Relay.start(), Relay.start()]
        bridges = [[DequeBridge(loop) for _ in range(subs)] for _ in range(runs)]
        boxes = [Outbox(relays[i % 2], bridges[i]) for i in range(runs)]

        def produce() -> None:
            for start in range(0, share, CHUNK):
                for box in boxes:  # the runs interleave, CHUNK events at a time
                    for _ in range(min(CHUNK, share - start)):
                        box.put(make_event(0))

        t0 = time.perf_counter()
        producer = threading.Thread(target=produce)
        producer.start()
        counts = await asyncio.gather(*(read(b) for per_run in bridges for b in per_run))
        dt = time.perf_counter() - t0
        await asyncio.to_thread(producer.join)
        for relay in relays:
            relay.stop()
        assert all(c == share for c in counts)
        return share * runs * subs / dt

    return {"events_per_s": asyncio.run(main())}


def _variants() -> dict[str, Any]:
    out: dict[str, Any] = {}
    for subs in SUBS:
        for runs in COUNTS:
            out[f"runwire_{runs}x{subs}"] = lambda r=runs, s=subs: bench_runwire(r, s)
            out[f"bare_pykka_{runs}x{subs}"] = lambda r=runs, s=subs: bench_bare_pykka(r, s)
    return out


BENCHES = _variants()


def main() -> dict[str, Any]:
    results: dict[str, Any] = {"total": TOTAL, "repeats": REPEATS}
    print(f"{TOTAL:,} text deltas split over N runs, S async readers per run; aggregate delivered events/s")
    print(f"{'runs x readers':>15s} {'runwire':>12s} {'bare pykka':>12s} {'ratio':>7s}")
    for subs in SUBS:
        for runs in COUNTS:
            row = {}
            for kind in ("runwire", "bare_pykka"):
                name = f"{kind}_{runs}x{subs}"
                row[kind] = median_of(run_isolated(__file__, name), "events_per_s")
                results[name] = row[kind]
            ratio = row["runwire"] / row["bare_pykka"]
            results[f"ratio_{runs}x{subs}"] = ratio
            print(f"{runs:>8d} x {subs:<4d} {fmt(row['runwire']):>12s} {fmt(row['bare_pykka']):>12s} {ratio:>6.2f}x")
    for subs in SUBS:
        low, high = results[f"runwire_1x{subs}"], results[f"runwire_{COUNTS[-1]}x{subs}"]
        print(f"runwire with {subs} reader(s): {COUNTS[-1]:,} runs keep {high / low:.2f}x of the 1-run rate")
    return results


if __name__ == "__main__" and not main_one(BENCHES):
    out = main()
    if "--json" in sys.argv:
        print(json.dumps(out))
