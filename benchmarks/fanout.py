"""Fan-out: one run, 1/4/16/64 subscribers, one of them deliberately slow, under each policy.

The fast subscribers are asyncio tasks; the slow one is a thread that pauses 1 ms per event
with a buffer of 100. Reported: the fast subscribers' throughput (events/s until the last fast
one has the whole stream) with the slow one present, divided by the same with no slow one.
Goal: >= 0.8x. Under ``block`` the slow subscriber paces the producer by design (lossless),
so that row shows the price of losslessness rather than a defect.

Usage: python benchmarks/fanout.py [--json]
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
from _common import REPEATS, main_one, median_of, run_isolated

N = int(os.environ.get("RUNWIRE_BENCH_FANOUT_N", "20000"))
COUNTS = (1, 4, 16, 64)
POLICIES = ("none", "block", "coalesce", "disconnect")


def _measure(subscribers: int, policy: str) -> dict[str, float]:
    from runwire.actors import RunContext, RunSystem, SubscriberTooSlowError

    gate = threading.Event()

    def producer(ctx: RunContext) -> None:
        gate.wait(30)
        for _ in range(N):
            ctx.delta("answer", "tok ")

    with RunSystem() as system:
        handle = system.start(producer)

        def slow() -> None:
            try:
                for _ in handle.events(buffer=100, policy=policy):  # type: ignore[arg-type]
                    time.sleep(0.001)  # a deliberately slow consumer (benchmarks may sleep)
            except SubscriberTooSlowError:
                pass

        slow_thread = threading.Thread(target=slow) if policy != "none" else None
        if slow_thread:
            slow_thread.start()

        async def fast() -> None:
            async for _ in handle.events(buffer=None):
                pass

        async def main() -> float:
            tasks = [asyncio.create_task(fast()) for _ in range(subscribers)]
            await asyncio.sleep(0.05)  # let every subscription land before the producer starts
            t0 = time.perf_counter()
            gate.set()
            await asyncio.gather(*tasks)
            return N / (time.perf_counter() - t0)

        rate = asyncio.run(main())
        handle.cancel()
        if slow_thread:
            slow_thread.join(60)
    return {"fast_events_per_s": rate}


BENCHES = {f"{n}-{p}": (lambda n=n, p=p: _measure(n, p)) for n in COUNTS for p in POLICIES}


def main() -> dict[str, Any]:
    results: dict[str, Any] = {"N": N}
    for n in COUNTS:
        base = median_of(run_isolated(__file__, f"{n}-none"), "fast_events_per_s")
        line = [f"{n:3d} subscribers: no slow one {base:,.0f} ev/s"]
        results[str(n)] = {"none": base}
        for policy in POLICIES[1:]:
            rate = median_of(run_isolated(__file__, f"{n}-{policy}"), "fast_events_per_s")
            ratio = rate / base
            results[str(n)][policy] = rate
            line.append(f"{policy} {ratio:.2f}x{'' if ratio >= 0.8 else ' (goal 0.8x NOT met)'}")
        print(" | ".join(line))
    return results


if __name__ == "__main__" and not main_one(BENCHES):
    out = main()
    if "--json" in sys.argv:
        print(json.dumps(out))
    _ = REPEATS
