"""Cancel latency: from ``handle.cancel()`` to the subscriber receiving ``run.cancelled``.

Two workloads, 1,000 runs each (RUNWIRE_BENCH_RUNS): an idle run (the worker waits), and a run
whose worker floods text deltas as fast as it can while a subscriber drains them. Goals:
p99 < 1 ms idle, < 2 ms under the flood. Each repeat runs in a fresh process.

Usage: python benchmarks/cancel_latency.py [--json]
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import threading
import time
from typing import Any

sys.path.insert(0, os.path.dirname(__file__))
from _common import REPEATS, main_one, median_of, run_isolated

RUNS = int(os.environ.get("RUNWIRE_BENCH_RUNS", "1000"))


def _measure(flood: bool) -> dict[str, float]:
    from runwire.actors import RunContext, RunSystem

    def idle(ctx: RunContext) -> None:
        ctx.log("ready")
        ctx.wait_cancelled()

    def flooding(ctx: RunContext) -> None:
        delta = ctx.delta
        while True:
            delta("answer", "tok ")

    latencies: list[float] = []
    with RunSystem() as system:
        for _ in range(RUNS):
            handle = system.start(flooding if flood else idle)
            seen_work = threading.Event()
            received: list[float] = []

            def subscriber(
                handle: Any = handle, seen_work: threading.Event = seen_work, received: list[float] = received
            ) -> None:
                for event in handle.events():
                    if event.seq == 2:
                        seen_work.set()
                    if event.type == "run.cancelled":
                        received.append(time.perf_counter())

            thread = threading.Thread(target=subscriber)
            thread.start()
            seen_work.wait(10)
            t0 = time.perf_counter()
            handle.cancel("bench")
            thread.join(10)
            latencies.append((received[0] - t0) * 1e3)
    latencies.sort()
    return {
        "p50_ms": statistics.median(latencies),
        "p99_ms": latencies[int(len(latencies) * 0.99) - 1],
        "max_ms": latencies[-1],
    }


def _tuned(flood: bool) -> dict[str, float]:
    """Same, with the interpreter's GIL switch interval at 0.5 ms instead of 5 ms: a process-wide
    knob (``sys.setswitchinterval``) a latency-sensitive service may set; runwire does not."""
    sys.setswitchinterval(0.0005)
    return _measure(flood)


BENCHES = {
    "idle": lambda: _measure(False),
    "flood": lambda: _measure(True),
    "idle_switch_0.5ms": lambda: _tuned(False),
    "flood_switch_0.5ms": lambda: _tuned(True),
}


def main() -> dict[str, Any]:
    results: dict[str, Any] = {"runs": RUNS, "repeats": REPEATS}
    # Issue 18's goals: idle p99 < 0.5 ms, under a flood < 1.5 ms (the switch-interval variants
    # are diagnostics, held to the same goals).
    for name, goal in (("idle", 0.5), ("flood", 1.5), ("idle_switch_0.5ms", 0.5), ("flood_switch_0.5ms", 1.5)):
        runs = run_isolated(__file__, name)
        p50, p99 = median_of(runs, "p50_ms"), median_of(runs, "p99_ms")
        results[name] = {"p50_ms": p50, "p99_ms": p99, "p99_runs": [round(r["p99_ms"], 3) for r in runs]}
        verdict = "met" if p99 < goal else "NOT met"
        print(f"cancel latency {name:18s} p50 {p50:.3f} ms  p99 {p99:.3f} ms  (goal p99 < {goal} ms: {verdict})")
    return results


if __name__ == "__main__" and not main_one(BENCHES):
    out = main()
    if "--json" in sys.argv:
        print(json.dumps(out))
