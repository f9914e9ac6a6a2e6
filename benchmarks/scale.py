"""Scale: K concurrent in-flight runs on one RunSystem (async pipelines that emit and wait).

For K in 1,000 and 10,000 (RUNWIRE_BENCH_SCALE, e.g. "1000,10000,100000" for the stretch):
start-to-terminal time for all K, peak RSS, KiB per idle in-flight run, threads used. Goals:
10,000 runs complete, < 10 KiB per idle in-flight run, thread count independent of K; issue 18:
per-run start cost flat (largest K within 1.3x of 1,000) and, at 100,000, all terminals < 20 s.

Usage: python benchmarks/scale.py [--json]
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import resource
import sys
import threading
import time
from typing import Any

sys.path.insert(0, os.path.dirname(__file__))
from _common import REPEATS, main_one, median_of, run_isolated

SIZES = [int(x) for x in os.environ.get("RUNWIRE_BENCH_SCALE", "1000,10000").split(",")]


def _rss_kib() -> int:
    with open("/proc/self/status") as f:
        return int(next(line for line in f if line.startswith("VmRSS")).split()[1])


def _measure(k: int) -> dict[str, float]:
    from runwire.actors import RunContext, RunSystem

    holder: dict[str, Any] = {"count": 0}
    all_in = threading.Event()

    async def waiter(ctx: RunContext) -> int:
        if "release" not in holder:
            holder["release"] = asyncio.Event()
        ctx.log("in flight")
        holder["count"] += 1
        if holder["count"] == k:
            all_in.set()
        await holder["release"].wait()
        return 1

    async def releaser(ctx: RunContext) -> None:
        holder["release"].set()

    with RunSystem(retention=3600.0) as system:
        gc.collect()
        rss0, threads0 = _rss_kib(), threading.active_count()
        t0 = time.perf_counter()
        handles = [system.start(waiter) for _ in range(k)]
        all_in.wait(600)
        t_in_flight = time.perf_counter() - t0
        gc.collect()
        rss_in_flight, threads = _rss_kib(), threading.active_count()
        system.start(releaser).wait(60)
        for h in handles:
            h.wait(600)
        total = time.perf_counter() - t0
        ok = sum(1 for h in handles if h.wait(0).type == "run.completed")
    return {
        "all_in_flight_s": t_in_flight,
        "start_to_all_terminals_s": total,
        "kib_per_in_flight_run": (rss_in_flight - rss0) / k,
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "threads_total": threads,
        "threads_added": threads - threads0,
        "completed": ok,
    }


BENCHES = {str(k): (lambda k=k: _measure(k)) for k in SIZES}


def main() -> dict[str, Any]:
    results: dict[str, Any] = {}
    for k in SIZES:
        runs = run_isolated(__file__, str(k), repeats=REPEATS if k <= 10_000 else 1)
        row = {key: median_of(runs, key) for key in runs[0]}
        results[str(k)] = row
        per_run = row["kib_per_in_flight_run"]
        print(
            f"{k:7,d} runs: all in flight {row['all_in_flight_s']:.2f} s "
            f"({row['all_in_flight_s'] / k * 1e6:.0f} µs per run), "
            f"all terminals {row['start_to_all_terminals_s']:.2f} s, "
            f"{per_run:.2f} KiB/in-flight run (goal < 10: {'met' if per_run < 10 else 'NOT met'}), "
            f"peak RSS {row['peak_rss_mib']:.0f} MiB, "
            f"threads {row['threads_total']:.0f} (+{row['threads_added']:.0f}), completed {row['completed']:.0f}/{k}"
        )
    if len(SIZES) > 1:
        first, last = min(SIZES), max(SIZES)
        ratio = (results[str(last)]["all_in_flight_s"] / last) / (results[str(first)]["all_in_flight_s"] / first)
        print(f"start cost per run at {last:,d} / at {first:,d} = {ratio:.2f}x (goal <= 1.3x: {_met(ratio <= 1.3)})")
    if "100000" in results:
        total = results["100000"]["start_to_all_terminals_s"]
        print(f"100,000 runs, all terminals {total:.1f} s (goal < 20 s: {_met(total < 20)})")
    return results


def _met(ok: bool) -> str:
    return "met" if ok else "NOT met"


if __name__ == "__main__" and not main_one(BENCHES):
    out = main()
    if "--json" in sys.argv:
        print(json.dumps(out))
