"""Run every benchmark and regenerate docs/benchmarks.md from what they print.

Usage: python benchmarks/run_all.py [name ...]   (default: all; RUNWIRE_BENCH_REPEATS=5)
Each benchmark repeats its measurement in fresh processes and prints medians and ratios;
this file keeps their output verbatim, with the machine it ran on. The PostgreSQL rows use the
server at RUNWIRE_BENCH_POSTGRES_URL; unset, a throw-away local server is started with
.ci/postgres for the run (and stopped), or the rows are left out if that cannot start.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import platform
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

HERE = Path(__file__).resolve().parent
DOCS = HERE.parent / "docs" / "benchmarks.md"

BENCHMARKS = {
    "throughput": "Events/s from a worker's emit to an async subscriber, vs floors and a peer (autogen-core).",
    "cancel_latency": "From cancel() to the subscriber receiving run.cancelled, idle and under an event flood.",
    "scale": "Concurrent in-flight runs: time, memory per run, threads (the figures behind sharding).",
    "latency": "Delivery latency emit -> async subscriber at a paced 10,000 events/s, vs floors.",
    "fanout": "One run, 1-64 subscribers, one deliberately slow under each policy.",
    "oda_chain": "ODA loop: 1,000 trivial steps, chain gap and steps/s, vs a 10 ms polling chain.",
    "llms_txt": "llms.txt over the stdlib: runwire (with/without subscriber) vs gitingest and repomix.",
    "llms_quality": "llms.txt quality and size on httpx, the stdlib and ky, beside gitingest and repomix.",
    "mcp_stream": "Events/s and delay to a real MCP client over streamable HTTP vs in-process.",
    "http_stream": "Events/s and delay over SSE to a real HTTP client (httpx + httpx-sse, raw bytes) vs in-process.",
    "dspy_stream": "DSPy streaming: tokens/s and first-token latency through runwire vs dspy.streamify directly.",
    "llms_lm": "LM mode of llms.txt: sequential vs concurrent LM calls on a real tree; LM calls on a re-run.",
    "store": "Events/s through the system with the SQLite and PostgreSQL stores vs none, and the per-commit floor.",
    "concurrency": "Aggregate events/s with 1-1,000 runs streaming at once (1 and 4 readers each), vs bare pykka.",
    "cross_process": "Cross-process follow and cancel on the store: delivery p50/p99 at 1,000 events/s and cancel "
    "p50/p99 from another process, beside in-process and naive polling followers.",
    "ray_executor": "Ray executor vs local, same run: events/s, cancel p50/p99, vs a bare per-item Ray generator.",
}

INTRO = """# Benchmarks

Regenerate with `python benchmarks/run_all.py` (optionally naming some: `python benchmarks/run_all.py
throughput`). Each figure is the median of {repeats} repeats, each repeat in a fresh process. The
machine is shared and noisy: treat differences under ~1.5x as noise. Ratios are measured in the same
run as the figures they compare. Goals come from the issues; each line says whether it was met.
"""


@contextlib.contextmanager
def _postgres() -> Iterator[None]:
    """RUNWIRE_BENCH_POSTGRES_URL for the benchmarks: the caller's, or a temporary .ci/postgres server."""
    script = HERE.parent / ".ci" / "postgres"
    if os.environ.get("RUNWIRE_BENCH_POSTGRES_URL") or not script.exists():
        yield
        return
    started = subprocess.run([str(script), "start"], capture_output=True, text=True, timeout=120, check=False)
    if started.returncode != 0:
        print(f"no PostgreSQL for the benchmarks ({started.stderr.strip()[-300:]}): its rows are left out")
        yield
        return
    env = dict(line.removeprefix("export ").split("=", 1) for line in started.stdout.split("\n") if "=" in line)
    os.environ["RUNWIRE_BENCH_POSTGRES_URL"] = env["RUNWIRE_TEST_POSTGRES_URL"]
    try:
        yield
    finally:
        del os.environ["RUNWIRE_BENCH_POSTGRES_URL"]
        subprocess.run([str(script), "stop"], env={**os.environ, **env}, timeout=60, check=False)


def main(names: list[str]) -> None:
    with _postgres():
        _run(names)


def _run(names: list[str]) -> None:
    repeats = os.environ.get("RUNWIRE_BENCH_REPEATS", "5")
    sections = _existing_sections()
    for name in names or list(BENCHMARKS):
        print(f"== {name}", flush=True)
        proc = subprocess.run(
            [sys.executable, str(HERE / f"{name}.py")], capture_output=True, text=True, timeout=3600, check=False
        )
        output = proc.stdout.strip()
        if proc.returncode != 0 or not output:  # a benchmark that failed part-way says so, and why
            output = f"{output}\nFAILED (exit {proc.returncode}):\n{proc.stderr.strip()[-2000:]}".strip()
        print(output, flush=True)
        when = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
        load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
        machine = f"{platform.python_implementation()} {platform.python_version()}, {os.cpu_count()} cores, load {load}"
        sections[name] = (
            f"## {name}\n\n{BENCHMARKS.get(name, '')}\n\n`python benchmarks/{name}.py` — {when}, {machine}\n\n"
            f"```\n{output}\n```\n"
        )
    order = [n for n in BENCHMARKS if n in sections] + [n for n in sections if n not in BENCHMARKS]
    body = INTRO.format(repeats=repeats) + "\n" + "\n".join(sections[n] for n in order)
    DOCS.write_text(body, encoding="utf-8")
    print(f"wrote {DOCS}")


def _existing_sections() -> dict[str, str]:
    """Keep the sections of benchmarks not re-run this time."""
    if not DOCS.exists():
        return {}
    sections: dict[str, str] = {}
    current: str | None = None
    for line in DOCS.read_text(encoding="utf-8").splitlines(keepends=True):
        if line.startswith("## "):
            current = line[3:].strip()
            sections[current] = ""
        if current is not None:
            sections[current] += line
    return sections


if __name__ == "__main__":
    main(sys.argv[1:])
