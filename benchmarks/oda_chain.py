"""ODA chain latency: from a step's terminal to the next step's run.started, and steps/s.

One loop of 1,000 trivial steps (RUNWIRE_BENCH_STEPS): the StepRunner learns a step ended from a
Terminal message and starts the next one at once. Compared in the same run with the design the
seed rules out: a naive chain that starts a step, then checks its status every 10 ms until it
has ended. The gap is read from the events themselves: the previous step's terminal ``ts`` to the
next step's ``run.started`` ``ts``. Goal: gap p50 < 1 ms. Each repeat runs in a fresh process.

Usage: python benchmarks/oda_chain.py
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from typing import Any

sys.path.insert(0, os.path.dirname(__file__))
from _common import REPEATS, fmt, main_one, median_of, run_isolated

STEPS = int(os.environ.get("RUNWIRE_BENCH_STEPS", "1000"))
POLL = 0.010  # the naive chain's status check interval


def _step(ctx: Any) -> int:
    return int(ctx.step or 0)


def _gaps(system: Any, child_ids: list[str]) -> tuple[list[float], float]:
    """Chain gaps (ms) between consecutive children, and the children's span (s) from first start to last end."""
    started, ended = [], []
    for run_id in child_ids:
        events = list(system.handle(run_id).events(timeout=30))
        started.append(events[0].ts)
        ended.append(events[-1].ts)
    gaps = sorted((started[i + 1] - ended[i]).total_seconds() * 1e3 for i in range(len(child_ids) - 1))
    return gaps, (ended[-1] - started[0]).total_seconds()


def _summary(gaps: list[float], span: float) -> dict[str, float]:
    return {
        "gap_p50_ms": statistics.median(gaps),
        "gap_p99_ms": gaps[int(len(gaps) * 0.99) - 1],
        "steps_per_s": STEPS / span,
    }


def bench_loop() -> dict[str, float]:
    from runwire.actors import RunSystem
    from runwire.actors.oda import Act, Finish, LoopState

    def decide(state: LoopState) -> Act | Finish:
        return Finish(state.steps) if state.steps >= STEPS else Act(_step, name="trivial")

    with RunSystem() as system:
        loop = system.loop(None, decide)
        assert loop.wait(120).type == "run.completed"
        children = [e.child_run_id for e in loop.events(timeout=30) if e.type == "step.started"]
        assert len(children) == STEPS
        return _summary(*_gaps(system, children))


def bench_naive() -> dict[str, float]:
    from runwire.actors import RunSystem

    with RunSystem() as system:
        children = []
        for i in range(STEPS):
            handle = system.start(_step, name="trivial", parent_run_id="naive", step=i)
            while handle.info().terminal is None:  # the status check the seed rules out
                time.sleep(POLL)
            children.append(handle.run_id)
        return _summary(*_gaps(system, children))


BENCHES = {"loop": bench_loop, "naive": bench_naive}


def main() -> dict[str, Any]:
    results: dict[str, Any] = {"steps": STEPS, "repeats": REPEATS}
    for name in BENCHES:
        runs = run_isolated(__file__, name)
        results[name] = {key: median_of(runs, key) for key in ("gap_p50_ms", "gap_p99_ms", "steps_per_s")}
        results[name]["p50_runs"] = [round(r["gap_p50_ms"], 3) for r in runs]
    loop, naive = results["loop"], results["naive"]
    print(f"ODA chain, {STEPS:,} trivial steps per run, median of {REPEATS} fresh-process repeats")
    for name, label in (("loop", "StepRunner (Terminal message)"), ("naive", f"naive poll every {POLL * 1e3:.0f} ms")):
        r = results[name]
        print(
            f"  {label:31s} gap p50 {fmt(r['gap_p50_ms'])} ms  p99 {fmt(r['gap_p99_ms'])} ms  "
            f"{fmt(r['steps_per_s'])} steps/s  (p50 per repeat: {r['p50_runs']})"
        )
    print(
        f"  ratios (naive / loop): gap p50 {naive['gap_p50_ms'] / loop['gap_p50_ms']:.1f}x, "
        f"gap p99 {naive['gap_p99_ms'] / loop['gap_p99_ms']:.1f}x, "
        f"steps/s {loop['steps_per_s'] / naive['steps_per_s']:.1f}x in favour of the loop"
    )
    verdict = "met" if loop["gap_p50_ms"] < 1.0 else "NOT met"
    print(f"  goal gap p50 < 1 ms: {verdict}")
    return results


if __name__ == "__main__":
    if not main_one(BENCHES):
        main()
