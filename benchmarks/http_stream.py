"""Events delivered over SSE to a real HTTP client (httpx + httpx-sse), against the in-process subscriber.

The same pipeline runs behind both consumers:
  sse:    ``runwire_app`` served by uvicorn in its own process (loopback); this process starts the
          run with POST /api/runs and reads GET /api/runs/{id}/events with httpx-sse
  raw:    the same SSE stream read as bytes (frames split on blank lines, only ``seq``/``ts`` picked
          out): what the server delivers, without httpx-sse's per-line parsing in the client
  inproc: ``async for event in handle.events()`` on a RunSystem in this process
Two loads: a flood (N progress events as fast as the producer emits: events/s, and each event's
delay from its emit ``ts`` to its arrival) and a paced stream at RATE events/s (delay p50/p99).
Each figure is the median of REPEATS fresh processes (RUNWIRE_BENCH_REPEATS, default 5).

Usage: python benchmarks/http_stream.py [--json]
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from datetime import datetime
from typing import Any

sys.path.insert(0, os.path.dirname(__file__))
from _common import fmt, main_one, median_of, run_isolated

FLOOD = int(os.environ.get("RUNWIRE_BENCH_HTTP_EVENTS", "50000"))
RATE = 1000  # paced events/s
PACED_S = 3.0
WARMUP = 100  # paced: the first events may be replayed while the client connects; not counted


def flood_pipeline(ctx: Any) -> int:
    n = int(ctx.inputs["n"])
    for i in range(n):
        ctx.progress(current=i + 1, total=n)
    return n


def paced_pipeline(ctx: Any) -> int:
    """RATE events/s; between events it blocks like a producer waiting on its socket."""
    n = int(RATE * PACED_S)
    t0 = time.perf_counter()
    for i in range(n):
        ctx.wait_cancelled(max(0.0, t0 + i / RATE - time.perf_counter()))
        ctx.progress(current=i + 1, total=n)
    return n


def _epoch(ts: str) -> float:
    return datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp()


def _figures(delays: list[float], count: int, seconds: float) -> dict[str, float]:
    ordered = sorted(delays)
    return {
        "events": count,
        "events_per_s": count / seconds,
        "p50_ms": statistics.median(ordered) * 1e3,
        "p99_ms": ordered[max(0, int(len(ordered) * 0.99) - 1)] * 1e3,
    }


def _register() -> None:
    from runwire.actors.ext import register_pipeline

    register_pipeline("bench-flood", flood_pipeline)
    register_pipeline("bench-paced", paced_pipeline)


def serve() -> None:
    """The server process: the HTTP API on a free loopback port, plus the bench pipelines."""
    from runwire.actors import RunSystem
    from runwire.actors.http import ServerThread, runwire_app

    _register()
    with RunSystem() as system, ServerThread(runwire_app(system)) as server:
        sys.stderr.write(f"serving {server.url}\n")
        sys.stderr.flush()
        sys.stdin.read()  # until the benchmark closes our stdin


def _server() -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, __file__, "--serve"], stdin=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert proc.stderr is not None
    line = proc.stderr.readline()
    if not line.startswith("serving "):
        raise RuntimeError(f"the server process did not start: {line}")
    return proc, line.split(" ", 1)[1].strip()


def _run(load: str, consumer: str) -> dict[str, float]:
    pipeline = "bench-flood" if load == "flood" else "bench-paced"
    inputs = {"n": FLOOD} if load == "flood" else {}
    skip = 0 if load == "flood" else WARMUP
    if consumer == "inproc":
        import anyio

        from runwire.actors import RunSystem
        from runwire.actors.ext import resolve_pipeline

        _register()

        async def in_process(system: RunSystem) -> dict[str, float]:
            delays: list[float] = []
            t0 = time.time()
            handle = system.start(resolve_pipeline(pipeline), inputs, name=pipeline)
            count = 0
            async for event in handle.events():
                if event.seq > skip:
                    delays.append(time.time() - event.ts.timestamp())
                count += 1
            return _figures(delays, count, time.time() - t0)

        with RunSystem() as system:
            return anyio.run(in_process, system)

    import httpx
    from httpx_sse import connect_sse

    proc, url = _server()
    try:
        with httpx.Client(base_url=url, timeout=httpx.Timeout(30, read=60)) as client:
            client.get("/api/pipelines")  # warm: the connection
            delays: list[float] = []
            t0 = time.time()
            run = client.post("/api/runs", json={"pipeline": pipeline, "inputs": inputs}).json()
            count = 0
            if consumer == "raw":
                with client.stream("GET", run["events_url"]) as response:
                    rest = b""
                    for chunk in response.iter_raw():
                        now = time.time()
                        *frames, rest = (rest + chunk).split(b"\n\n")
                        for frame in frames:
                            count += 1
                            if count > skip:
                                at = frame.index(b'"ts":"') + 6
                                delays.append(now - _epoch(frame[at : frame.index(b'"', at)].decode()))
                return _figures(delays, count, time.time() - t0)
            with connect_sse(client, "GET", run["events_url"]) as source:
                for sse in source.iter_sse():
                    now = time.time()
                    event = json.loads(sse.data)
                    if event["seq"] > skip:
                        delays.append(now - _epoch(event["ts"]))
                    count += 1
            return _figures(delays, count, time.time() - t0)
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        proc.wait(30)


BENCHES = {
    f"{load}:{consumer}": (lambda load=load, consumer=consumer: _run(load, consumer))
    for load in ("flood", "paced")
    for consumer in ("inproc", "sse", "raw")
}


def main() -> None:
    if sys.argv[1:2] == ["--serve"]:
        serve()
        return
    if main_one(BENCHES):
        return
    results: dict[str, dict[str, float]] = {}
    for name in BENCHES:
        runs = run_isolated(__file__, name)
        results[name] = {key: median_of(runs, key) for key in ("events_per_s", "p50_ms", "p99_ms")}
    if "--json" in sys.argv:
        print(json.dumps(results, indent=2))
        return
    print(f"SSE streaming vs in-process (median of {os.environ.get('RUNWIRE_BENCH_REPEATS', '5')} processes)")
    print(f"{'load:consumer':<16}{'events/s':>12}{'p50 delay':>12}{'p99 delay':>12}")
    for name, r in results.items():
        row = f"{name:<16}{fmt(r['events_per_s']):>12}{fmt(r['p50_ms'], ' ms'):>12}{fmt(r['p99_ms'], ' ms'):>12}"
        print(row)
    for load in ("flood", "paced"):
        base = results[f"{load}:inproc"]
        for consumer in ("sse", "raw"):
            r = results[f"{load}:{consumer}"]
            print(
                f"{load}, {consumer} vs in-process: events/s x{r['events_per_s'] / base['events_per_s']:.2f}, "
                f"p99 delay x{r['p99_ms'] / base['p99_ms']:.1f}"
            )


if __name__ == "__main__":
    main()
