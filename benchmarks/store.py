"""Events/s through a RunSystem with the SQLite run store on vs off, and the per-commit floor.

Every variant floods one sync run with N ``text.delta`` events and reads them with ``async for``
(as benchmarks/throughput.py does), in a fresh process:

  memory        RunSystem() : the in-memory baseline
  store         RunSystem(store=file), default durability ("normal": WAL, synchronous=NORMAL).
                Timed twice: ``delivered`` = the subscriber got the terminal; ``durable`` = also
                ``store.flush()`` returned, i.e. every event is committed (the honest figure)
  store_full    the same with durability="full" (fsync per commit; group commit shares it)
  commit_floor  no runtime: SqliteRunStore(durability="full"), append ONE event then flush,
                N_FLOOR times: what a commit per event would cost, for contrast
  postgres      RunSystem(store="postgresql://...") on a fresh schema of the server at
                RUNWIRE_BENCH_POSTGRES_URL (synchronous_commit=on: every commit on the server's
                disk; same machine, over TCP loopback); left out when the variable is unset
                (benchmarks/run_all.py starts a throw-away server with .ci/postgres then)

The file lives in a temporary directory on the same disk as the system's temp dir. Repeats are
interleaved (memory, store, store_full, floor, memory, ...) so load changes hit every variant.
Usage: python benchmarks/store.py [--json]   (RUNWIRE_BENCH_N, RUNWIRE_BENCH_REPEATS, RUNWIRE_BENCH_POSTGRES_URL)
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, os.path.dirname(__file__))
from _common import REPEATS, fmt, main_one, median_of, run_isolated

N = int(os.environ.get("RUNWIRE_BENCH_N", "100000"))
N_FLOOR = int(os.environ.get("RUNWIRE_BENCH_N_FLOOR", "300"))
POSTGRES_URL = os.environ.get("RUNWIRE_BENCH_POSTGRES_URL", "")


def _flood(ctx: Any) -> None:
    delta = ctx.delta
    for _ in range(N):
        delta("answer", "tok ")


def _through_system(store: Any) -> dict[str, float]:
    from runwire.actors import RunSystem

    async def main(system: RunSystem) -> tuple[float, float]:
        t0 = time.perf_counter()
        handle = system.start(_flood)
        last = 0
        async for event in handle.events():  # default policy: a lagging reader gets deltas merged
            last = event.seq
        delivered = time.perf_counter() - t0
        if system.store is not None:
            system.store.flush(600)
        durable = time.perf_counter() - t0
        assert last == N + 2, last  # run.started + N deltas + terminal
        return delivered, durable

    with RunSystem(store=store) as system:
        delivered, durable = asyncio.run(main(system))
    return {"delivered_per_s": N / delivered, "durable_per_s": N / durable}


def bench_memory() -> dict[str, float]:
    return _through_system(None)


def bench_store() -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="runwire-bench-") as tmp:
        return _through_system(Path(tmp) / "runs.sqlite3")


def bench_store_full() -> dict[str, float]:
    from runwire.actors.store import SqliteRunStore

    with tempfile.TemporaryDirectory(prefix="runwire-bench-") as tmp:
        store = SqliteRunStore(Path(tmp) / "runs.sqlite3", durability="full")
        try:
            return _through_system(store)
        finally:
            store.close()


def bench_commit_floor() -> dict[str, float]:
    from runwire.actors.store import SqliteRunStore
    from runwire.protocol import TextDelta, utc_now

    with tempfile.TemporaryDirectory(prefix="runwire-bench-") as tmp:
        store = SqliteRunStore(Path(tmp) / "runs.sqlite3", durability="full")
        store.create_run("floor", "floor")
        store.flush(60)
        t0 = time.perf_counter()
        for seq in range(1, N_FLOOR + 1):
            store.append([TextDelta(run_id="floor", seq=seq, field="answer", text="tok ", ts=utc_now())])
            store.flush(60)  # one event per transaction, each fsynced
        dt = time.perf_counter() - t0
        store.close()
    return {"delivered_per_s": N_FLOOR / dt, "durable_per_s": N_FLOOR / dt}


def bench_postgres() -> dict[str, float]:
    import uuid

    import psycopg

    schema = f"bench_{uuid.uuid4().hex[:12]}"
    sep = "&" if "?" in POSTGRES_URL else "?"
    try:
        return _through_system(f"{POSTGRES_URL}{sep}schema={schema}")
    finally:
        with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


BENCHES = {
    "memory": bench_memory,
    "store": bench_store,
    "store_full": bench_store_full,
    "commit_floor": bench_commit_floor,
    "postgres": bench_postgres,
}


def main() -> dict[str, Any]:
    results: dict[str, Any] = {"N": N, "N_floor": N_FLOOR, "repeats": REPEATS}
    names = [name for name in BENCHES if name != "postgres" or POSTGRES_URL]
    if not POSTGRES_URL:
        print("postgres: left out (RUNWIRE_BENCH_POSTGRES_URL is unset)")
    every: dict[str, list[dict[str, Any]]] = {name: [] for name in names}
    for _ in range(REPEATS):  # interleaved, so a load change on the machine hits every variant alike
        for name in names:
            every[name] += run_isolated(__file__, name, repeats=1)
    for name, runs in every.items():
        for key in ("delivered_per_s", "durable_per_s"):
            results[f"{name}.{key}"] = median_of(runs, key)
        spread = [round(r["durable_per_s"]) for r in runs]
        print(
            f"{name:13s} delivered {fmt(results[f'{name}.delivered_per_s'])} events/s, "
            f"durable {fmt(results[f'{name}.durable_per_s'])} events/s   (durable runs {spread})"
        )
    ratios = [("store", 0.8), ("store_full", None), ("commit_floor", None), ("postgres", 0.3)]  # issue 18: >= 0.8x
    for name, goal in (pair for pair in ratios if pair[0] in every):
        # the median of per-repeat ratios: each pair ran back to back, under the same load
        pairs = [r["durable_per_s"] / m["durable_per_s"] for r, m in zip(every[name], every["memory"], strict=True)]
        ratio = statistics.median(pairs)
        results[f"ratio_{name}_vs_memory"] = ratio
        target = f" (goal >= {goal}x: {'met' if ratio >= goal else 'NOT met'})" if goal else ""
        print(f"{name:13s} / memory = {ratio:.3f}x{target}   pairs {[round(x, 2) for x in pairs]}")
    delivered = results["store.delivered_per_s"] / results["memory.delivered_per_s"]
    results["ratio_store_delivered_vs_memory"] = delivered
    print(f"store (delivered, before commit) / memory = {delivered:.2f}x")
    group = results["store_full.durable_per_s"] / results["commit_floor.durable_per_s"]
    results["ratio_group_commit_vs_floor"] = group
    print(f"store_full / commit_floor = {group:.0f}x (group commit)")
    return results


if __name__ == "__main__" and not main_one(BENCHES):
    out = main()
    if "--json" in sys.argv:
        print(json.dumps(out))
