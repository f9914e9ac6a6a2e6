"""The Ray executor vs local, in the same run: events/s and cancel latency, and the bare floor.

  local            N text deltas from one run to a subscriber, the local executor
  ray              the same run on a Ray task: emits shipped in batches, replayed on the owner
  bare_generator   a bare Ray streaming generator yielding the same items one by one (no runwire)
  cancel           from cancel() to the subscriber receiving run.cancelled, idle runs, local and Ray

Goals (issue 15): ray >= 5x the bare per-item generator (batching); Ray cancel p99 < 50 ms.
The parent starts a local Ray head (2 CPUs, tests/ray_cluster.py) once and stops it; each repeat
is a fresh process connected to it.

Usage: python benchmarks/ray_executor.py [--json]
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, os.path.dirname(__file__))
from _common import REPEATS, fmt, main_one, median_of, run_isolated

N = int(os.environ.get("RUNWIRE_BENCH_RAY_EVENTS", "100000"))
BARE_N = N // 10  # the per-item generator is ~10x slower: fewer items, the same rate
CANCEL_RUNS = int(os.environ.get("RUNWIRE_BENCH_RAY_CANCELS", "200"))
ENV = "RUNWIRE_BENCH_RAY_ADDRESS"


def _flood(ctx: Any) -> int:
    n = int(ctx.inputs["n"])
    delta = ctx.delta
    for _ in range(n):
        delta("answer", "tok ")
    return n


def _idle(ctx: Any) -> None:
    ctx.log("ready")
    ctx.wait_cancelled(60)


def _executor(ray: bool) -> Any:
    if not ray:
        return "local"
    from runwire.actors.ray import ray_executor

    return ray_executor(os.environ[ENV])


def _events_per_s(ray: bool) -> dict[str, float]:
    from runwire.actors import RunSystem

    with RunSystem(executor=_executor(ray)) as system:
        system.start(_flood, {"n": 100}).wait(60)  # warm: the worker imported runwire
        t0 = time.perf_counter()
        count = sum(1 for e in system.start(_flood, {"n": N}).events() if e.type == "text.delta")
        elapsed = time.perf_counter() - t0
    assert count == N, count
    return {"events_per_s": N / elapsed}


def _bare() -> dict[str, float]:
    import ray

    ray.init(address=os.environ[ENV], log_to_driver=False, logging_level="WARNING")

    @ray.remote(num_returns="streaming", max_retries=0)
    def items(n: int) -> Any:
        for _ in range(n):
            yield ("delta", ("answer", "tok ", None), None)

    for ref in items.remote(100):
        ray.get(ref)
    t0 = time.perf_counter()
    count = sum(1 for ref in items.remote(BARE_N) if ray.get(ref))
    return {"events_per_s": count / (time.perf_counter() - t0)}


def _cancel(ray: bool) -> dict[str, float]:
    from runwire.actors import RunSystem

    latencies: list[float] = []
    with RunSystem(executor=_executor(ray), workers=4) as system:
        for _ in range(CANCEL_RUNS):
            handle = system.start(_idle)
            ready = threading.Event()
            received: list[float] = []

            def follow(handle: Any = handle, ready: threading.Event = ready, received: list[float] = received) -> None:
                for event in handle.events():
                    if event.type == "run.log":
                        ready.set()
                    if event.type == "run.cancelled":
                        received.append(time.perf_counter())

            thread = threading.Thread(target=follow)
            thread.start()
            ready.wait(60)
            t0 = time.perf_counter()
            handle.cancel("bench")
            thread.join(60)
            latencies.append((received[0] - t0) * 1e3)
    latencies.sort()
    return {"p50_ms": statistics.median(latencies), "p99_ms": latencies[int(len(latencies) * 0.99) - 1]}


BENCHES = {
    "local": lambda: _events_per_s(False),
    "ray": lambda: _events_per_s(True),
    "bare_generator": _bare,
    "cancel_local": lambda: _cancel(False),
    "cancel_ray": lambda: _cancel(True),
}


def main() -> dict[str, Any]:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from tests.ray_cluster import start_cluster, stop_cluster

    address, folder = start_cluster(worker_node=False)
    os.environ[ENV] = address
    results: dict[str, Any] = {"events": N, "bare_events": BARE_N, "cancel_runs": CANCEL_RUNS, "repeats": REPEATS}
    try:
        for name in ("local", "ray", "bare_generator"):
            results[name] = median_of(run_isolated(__file__, name), "events_per_s")
            print(f"{name:15s} {fmt(results[name])} events/s")
        ratio = results["ray"] / results["bare_generator"]
        print(f"ray / local          = {results['ray'] / results['local']:.2f}x")
        verdict = "met" if ratio >= 5 else "NOT met"
        print(f"ray / bare_generator = {ratio:.1f}x (goal >= 5x: {verdict})")
        for name in ("cancel_local", "cancel_ray"):
            runs = run_isolated(__file__, name)
            p50, p99 = median_of(runs, "p50_ms"), median_of(runs, "p99_ms")
            results[name] = {"p50_ms": p50, "p99_ms": p99}
            goal = "" if name == "cancel_local" else f"  (goal p99 < 50 ms: {'met' if p99 < 50 else 'NOT met'})"
            print(f"{name:15s} p50 {p50:.3f} ms  p99 {p99:.3f} ms{goal}")
    finally:
        stop_cluster(folder)
    return results


if __name__ == "__main__" and not main_one(BENCHES):
    out = main()
    if "--json" in sys.argv:
        print(json.dumps(out))
