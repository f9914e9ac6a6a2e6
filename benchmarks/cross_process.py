"""Cross-process follow and cancel: owner emits -> a follower in another process receives.

Rows (each the median of RUNWIRE_BENCH_REPEATS fresh processes; every process starts its own
owner process, so both sides are fresh):

- delivery p50/p99 at a paced 1,000 events/s (RUNWIRE_BENCH_EVENTS events, default 3,000):
  in-process subscriber (same process, same store), cross-process follower through the store
  (``RunSystem(store=...).handle(run_id).events()``: the owner's notices), a naive follower that
  polls the store every 100 ms / 1 s, and (if ``watchfiles`` is installed) a follower woken by
  a file-change watch on the WAL, the alternative to the owner's socket;
- cancel p50/p99 (RUNWIRE_BENCH_CANCELS idle runs, default 200): ``handle.cancel()`` from
  another process until it returns (``run.cancelled`` committed in the owner's log), beside an
  in-process ``handle.cancel()`` on the same store.

Goals (issue 15): cross-process delivery p99 < 10 ms, cancel p99 < 20 ms.

Usage: python benchmarks/cross_process.py [--store URL]   (default: a fresh SQLite file per
process; a ``postgresql://`` URL measures that back-end; RUNWIRE_BENCH_POSTGRES_URL adds the
PostgreSQL rows beside SQLite, skipped when unset)
"""

from __future__ import annotations

import atexit
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, os.path.dirname(__file__))
from _common import REPEATS, fmt, median_of, run_isolated

EVENTS = int(os.environ.get("RUNWIRE_BENCH_EVENTS", "3000"))
CANCELS = int(os.environ.get("RUNWIRE_BENCH_CANCELS", "200"))
RATE = 1000.0
STORE_ENV = "RUNWIRE_BENCH_STORE"  # how the parent passes --store to its fresh processes


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _store_target() -> tuple[str, Path | None]:
    """The store for this process: --store's URL, or a new SQLite file (and its temp dir)."""
    url = os.environ.get(STORE_ENV, "")
    if url:
        return url, None
    tmp = Path(tempfile.mkdtemp(prefix="runwire-xproc-"))
    atexit.register(shutil.rmtree, tmp, True)  # after the systems closed (their own atexit ran first)
    return str(tmp / "runs.sqlite3"), tmp


# -- the owner process ---------------------------------------------------------------------------
def owner_main(mode: str, target: str) -> None:
    """``paced``: one run that says ``ready``, waits for ``go`` on stdin, emits EVENTS logs at RATE,
    each carrying its emit time (CLOCK_MONOTONIC is system-wide on Linux). ``idle``: on each
    stdin line start a run that waits to be cancelled and print its run_id once committed."""
    from runwire.actors import RunContext, RunSystem

    go = threading.Event()

    def paced(ctx: RunContext) -> None:
        ctx.milestone("ready")
        go.wait(60)
        start = time.monotonic()
        for i in range(EVENTS):
            due = start + i / RATE
            if (wait := due - time.monotonic()) > 0:
                time.sleep(wait)  # pacing the producer, not waiting for a condition
            ctx.log(str(time.monotonic_ns()))

    def idle(ctx: RunContext) -> None:
        ctx.wait_cancelled(60)

    with RunSystem(store=target) as system:
        assert system.store is not None
        if mode == "paced":
            handle = system.start(paced, name="paced")
            next(e for e in handle.events(timeout=30) if e.type == "run.milestone")
            system.store.flush(30)
            print(handle.run_id, flush=True)
            sys.stdin.readline()
            go.set()
            handle.wait(120)
            sys.stdin.readline()  # the follower has read everything: now close
        else:
            for _ in sys.stdin:
                handle = system.start(idle, name="idle")
                next(iter(handle.events(timeout=30)))
                system.store.flush(30)
                print(handle.run_id, flush=True)


def _owner(mode: str, target: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, __file__, "--owner", mode, target], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )


def _latencies(events: list[tuple[int, str]]) -> dict[str, float]:
    """(received ns, message) pairs of the paced run's logs -> p50/p99 in ms."""
    lat = [(got - int(msg)) / 1e6 for got, msg in events]
    assert len(lat) == EVENTS, f"received {len(lat)} of {EVENTS} events"
    return {"p50": statistics.median(lat), "p99": _pct(lat, 0.99)}


# -- delivery rows -------------------------------------------------------------------------------
def bench_in_process() -> dict[str, float]:
    from runwire.actors import RunContext, RunSystem

    target, _ = _store_target()
    go = threading.Event()

    def paced(ctx: RunContext) -> None:
        go.wait(60)
        start = time.monotonic()
        for i in range(EVENTS):
            if (wait := start + i / RATE - time.monotonic()) > 0:
                time.sleep(wait)
            ctx.log(str(time.monotonic_ns()))

    got: list[tuple[int, str]] = []
    with RunSystem(store=target) as system:
        handle = system.start(paced)
        stream = iter(handle.events(timeout=60, policy="block"))
        assert next(stream).type == "run.started"
        go.set()
        for event in stream:
            if event.type == "run.log":
                got.append((time.monotonic_ns(), event.message))
    return _latencies(got)


def _follow_paced(read: Any) -> dict[str, float]:
    """Start a paced owner, let ``read(store_or_system, run_id, sink)`` follow it, return latencies."""
    target, _ = _store_target()
    owner = _owner("paced", target)
    assert owner.stdout is not None and owner.stdin is not None
    try:
        run_id = owner.stdout.readline().strip()
        got: list[tuple[int, str]] = []
        ready = threading.Event()
        done = threading.Thread(target=read, args=(target, run_id, got, ready))
        done.start()
        ready.wait(30)
        owner.stdin.write("go\n")
        owner.stdin.flush()
        done.join(120)
        owner.stdin.write("bye\n")
        owner.stdin.close()
        owner.wait(60)
    finally:
        if owner.poll() is None:
            owner.kill()
    return _latencies(got)


def bench_cross_process() -> dict[str, float]:
    def read(target: str, run_id: str, got: list[tuple[int, str]], ready: threading.Event) -> None:
        from runwire.actors import RunSystem

        with RunSystem(store=target) as system:
            for event in system.handle(run_id).events(timeout=60):
                if event.type == "run.milestone":
                    ready.set()
                elif event.type == "run.log":
                    got.append((time.monotonic_ns(), event.message))

    return _follow_paced(read)


def _poller(interval: float) -> Any:
    def read(target: str, run_id: str, got: list[tuple[int, str]], ready: threading.Event) -> None:
        from runwire.actors.store import SqliteRunStore

        with SqliteRunStore(target) as store:
            cursor = 0
            while True:
                rec = store.get_run(run_id)
                for event in store.read_events(run_id, cursor):
                    cursor = event.seq
                    if event.type == "run.milestone":
                        ready.set()
                    elif event.type == "run.log":
                        got.append((time.monotonic_ns(), event.message))
                if rec is not None and rec.ended_at is not None:
                    return
                time.sleep(interval)  # the naive follower this benchmark compares with

    return read


def bench_poll_100ms() -> dict[str, float]:
    return _follow_paced(_poller(0.1))


def bench_poll_1s() -> dict[str, float]:
    return _follow_paced(_poller(1.0))


def bench_watchfiles() -> dict[str, float]:
    """Woken by a file-change watch on the WAL (inotify via watchfiles), then read the store."""

    def read(target: str, run_id: str, got: list[tuple[int, str]], ready: threading.Event) -> None:
        import watchfiles

        from runwire.actors.store import SqliteRunStore

        with SqliteRunStore(target) as store:
            cursor = 0
            stop = threading.Event()

            def drain() -> bool:
                nonlocal cursor
                rec = store.get_run(run_id)
                for event in store.read_events(run_id, cursor):
                    cursor = event.seq
                    if event.type == "run.milestone":
                        ready.set()
                    elif event.type == "run.log":
                        got.append((time.monotonic_ns(), event.message))
                return rec is not None and rec.ended_at is not None

            watch = watchfiles.watch(
                target + "-wal", debounce=5, step=1, stop_event=stop, rust_timeout=5000, yield_on_timeout=True
            )
            if drain():
                return
            for _ in watch:
                if drain():
                    stop.set()
                    return

    return _follow_paced(read)


# -- cancel rows ---------------------------------------------------------------------------------
def bench_cancel_cross_process() -> dict[str, float]:
    from runwire.actors import RunSystem

    target, _ = _store_target()
    owner = _owner("idle", target)
    assert owner.stdout is not None and owner.stdin is not None
    took: list[float] = []
    try:
        with RunSystem(store=target) as system:
            for _ in range(CANCELS):
                owner.stdin.write("start\n")
                owner.stdin.flush()
                run_id = owner.stdout.readline().strip()
                handle = system.handle(run_id)
                t0 = time.perf_counter()
                terminal = handle.cancel("bench", timeout=10)
                took.append((time.perf_counter() - t0) * 1e3)
                assert terminal.type == "run.cancelled", terminal
        owner.stdin.close()
        owner.wait(60)
    finally:
        if owner.poll() is None:
            owner.kill()
    return {"p50": statistics.median(took), "p99": _pct(took, 0.99)}


def bench_cancel_in_process() -> dict[str, float]:
    from runwire.actors import RunContext, RunSystem

    def idle(ctx: RunContext) -> None:
        ctx.wait_cancelled(60)

    target, _ = _store_target()
    took: list[float] = []
    with RunSystem(store=target) as system:
        assert system.store is not None
        for _ in range(CANCELS):
            handle = system.start(idle)
            next(iter(handle.events(timeout=30)))
            system.store.flush(30)
            t0 = time.perf_counter()
            handle.cancel("bench", timeout=10)
            took.append((time.perf_counter() - t0) * 1e3)
    return {"p50": statistics.median(took), "p99": _pct(took, 0.99)}


BENCHES = {
    "in_process": bench_in_process,
    "cross_process": bench_cross_process,
    "watchfiles": bench_watchfiles,
    "poll_100ms": bench_poll_100ms,
    "poll_1s": bench_poll_1s,
    "cancel_in_process": bench_cancel_in_process,
    "cancel_cross_process": bench_cancel_cross_process,
}
LABELS = {
    "in_process": "delivery, in-process subscriber (same store)",
    "cross_process": "delivery, follower in another process (owner's notices)",
    "watchfiles": "delivery, follower woken by a WAL file watch (watchfiles)",
    "poll_100ms": "delivery, naive follower polling every 100 ms",
    "poll_1s": "delivery, naive follower polling every 1 s",
    "cancel_in_process": "cancel, in-process handle.cancel() (same store)",
    "cancel_cross_process": "cancel from another process (run.cancelled committed)",
}
SQLITE_ONLY = {"watchfiles", "poll_100ms", "poll_1s"}  # they read the SQLite file directly


def _rows(store: str) -> list[str]:
    if store:
        os.environ[STORE_ENV] = store
    else:
        os.environ.pop(STORE_ENV, None)
    names = [n for n in BENCHES if not (store and n in SQLITE_ONLY)]
    try:
        import watchfiles  # noqa: F401
    except ImportError:  # the WAL-watch row needs watchfiles (not a dependency)
        names = [n for n in names if n != "watchfiles"]
    lines = []
    for name in names:
        results = run_isolated(__file__, name, REPEATS, timeout=900)
        p50, p99 = median_of(results, "p50"), median_of(results, "p99")
        lines.append(f"{LABELS[name]:<58} p50 {fmt(p50, ' ms'):>9}   p99 {fmt(p99, ' ms'):>9}")
    return lines


def main() -> None:
    args = sys.argv[1:]
    if args[:1] == ["--owner"]:
        owner_main(args[1], args[2])
        return
    if args[:1] == ["--one"]:
        print(json.dumps(BENCHES[args[1]]()))
        return
    store = args[args.index("--store") + 1] if "--store" in args else ""
    stores = [("sqlite" if not store else store.partition("://")[0], store)]
    pg = os.environ.get("RUNWIRE_BENCH_POSTGRES_URL", "")
    if not store and pg:
        stores.append(("postgresql", pg))
    print(f"paced {RATE:,.0f} events/s x {EVENTS:,} events; {CANCELS} cancels; medians of {REPEATS} fresh processes")
    for label, url in stores:
        print(f"\n[{label}]")
        for line in _rows(url):
            print(line)
    if not pg and not store:
        print("\n[postgresql] skipped: RUNWIRE_BENCH_POSTGRES_URL is not set")
    print("\ngoals: cross-process delivery p99 < 10 ms, cancel p99 < 20 ms")


if __name__ == "__main__":
    main()
