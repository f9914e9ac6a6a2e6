"""Memory and threads per in-flight run: the figures behind sharding (docs/architecture.md).

Starts K idle async runs (each emits one event and waits on its cancel), measures RSS and
thread count added, then cancels them all. Compare with one pykka actor per run: a thread and
about 24 KiB each (shared/notes/pykka.md), and the machine's thread ceiling (~22,000).

Usage: python benchmarks/footprint.py [--json]     (RUNWIRE_BENCH_FOOTPRINT_RUNS, default 1000,5000)
"""

from __future__ import annotations

import gc
import json
import os
import sys
import threading
import time
from typing import Any

sys.path.insert(0, os.path.dirname(__file__))
from _common import main_one, median_of, run_isolated

SIZES = [int(x) for x in os.environ.get("RUNWIRE_BENCH_FOOTPRINT_RUNS", "1000,5000").split(",")]


def _rss_kib() -> int:
    with open("/proc/self/status") as f:
        return int(next(line for line in f if line.startswith("VmRSS")).split()[1])


def _measure(k: int) -> dict[str, float]:
    import anyio

    from runwire.actors import RunContext, RunSystem

    async def idle(ctx: RunContext) -> None:
        ctx.log("waiting")
        await anyio.Event().wait()  # only a cancel ends it

    with RunSystem() as system:
        warm = system.start(idle)
        warm.cancel()
        gc.collect()
        rss0, threads0 = _rss_kib(), threading.active_count()
        t0 = time.perf_counter()
        handles = [system.start(idle) for _ in range(k)]
        for h in handles:
            next(iter(h.events(after_seq=1)))  # each run is in flight: its log line is out
        started_s = time.perf_counter() - t0
        gc.collect()
        rss1, threads1 = _rss_kib(), threading.active_count()
        t0 = time.perf_counter()
        for h in handles:
            h.cancel()
        cancel_s = time.perf_counter() - t0
    return {
        "kib_per_run": (rss1 - rss0) / k,
        "threads_added": threads1 - threads0,
        "start_all_s": started_s,
        "cancel_all_s": cancel_s,
    }


BENCHES = {str(k): (lambda k=k: _measure(k)) for k in SIZES}


def main() -> dict[str, Any]:
    results: dict[str, Any] = {}
    for k in SIZES:
        runs = run_isolated(__file__, str(k))
        row = {key: median_of(runs, key) for key in runs[0]}
        results[str(k)] = row
        print(
            f"{k:6d} idle in-flight runs: {row['kib_per_run']:.2f} KiB/run, threads added {row['threads_added']:.0f}, "
            f"start+first event {row['start_all_s']:.2f} s, cancel all {row['cancel_all_s']:.2f} s"
        )
    return results


if __name__ == "__main__" and not main_one(BENCHES):
    out = main()
    if "--json" in sys.argv:
        print(json.dumps(out))
