"""The LM mode of llms.txt: sequential vs concurrent LM calls, and what a re-run costs.

The scripted OpenAI-compatible server (runwire.actors.dspy.scripted) runs in its own process and
answers every call with a fixed number of tokens at a fixed delay per token (an LM's pace, not
a CPU cost). ``lm_pipeline`` describes a real tree (runwire's own ``actors/`` folder by default,
or RUNWIRE_BENCH_LM_SOURCE) four times in one process:

  sequential   concurrency 1, no cache
  concurrent   concurrency RUNWIRE_BENCH_LM_CONCURRENCY (8), no cache
  cached       concurrency 8 with DSPy's disk cache (a fresh directory): the first run fills it,
               the re-run of the unchanged tree is counted, then one file is changed and counted

Figures: wall time of each run (medians of RUNWIRE_BENCH_REPEATS fresh processes, default 3),
the sequential/concurrent ratio (goal >= 5x at concurrency 8) beside the ideal one (calls over
rounds of 8), LM calls on the unchanged re-run (goal 0) and after a one-file change (goal 1).
RUNWIRE_BENCH_LM_TOKENS (40) and RUNWIRE_BENCH_LM_DELAY (0.01 s) shape each answer.

Usage: python benchmarks/llms_lm.py [--json]
"""

from __future__ import annotations

import os

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # no model-metadata fetch from the network

import json
import math
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, os.path.dirname(__file__))
from _common import fmt, main_one, median_of, run_isolated

ROOT = Path(__file__).resolve().parents[1]
SOURCE = os.environ.get("RUNWIRE_BENCH_LM_SOURCE", str(ROOT / "actors"))
CONCURRENCY = int(os.environ.get("RUNWIRE_BENCH_LM_CONCURRENCY", "8"))
TOKENS = int(os.environ.get("RUNWIRE_BENCH_LM_TOKENS", "40"))
DELAY = float(os.environ.get("RUNWIRE_BENCH_LM_DELAY", "0.01"))
REPEATS = int(os.environ.get("RUNWIRE_BENCH_REPEATS", "3"))


def serve() -> None:
    """``--serve``: the scripted server; prints its port; each stdin line asks for the request count."""
    from runwire.actors.dspy.scripted import Reply, ScriptedServer, chat_reply

    words = " ".join(f"w{i}" for i in range(TOKENS - 1))

    def script(body: dict[str, Any]) -> Reply:
        prompt = body["messages"][-1]["content"]
        path = re.search(r"\[\[ ## path ## \]\]\n(.+)", prompt)
        if path is not None:
            return Reply(chat_reply(description=f"{path.group(1)} {words}."), delay=DELAY)
        fields = dict.fromkeys(("summary", "purpose", "concepts", "architecture"), f"{words}.")
        return Reply(chat_reply(**fields, key_files="[]", optional_files="[]"), delay=DELAY)

    with ScriptedServer(script) as server:
        print(server.port, flush=True)
        for _ in sys.stdin:
            print(len(server.requests), server.max_in_flight, flush=True)


@contextmanager
def server_process() -> Iterator[tuple[str, Any]]:
    proc = subprocess.Popen(
        [sys.executable, __file__, "--serve"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None and proc.stdin is not None

    def counts() -> tuple[int, int]:
        proc.stdin.write("count\n")  # type: ignore[union-attr]
        proc.stdin.flush()  # type: ignore[union-attr]
        requests, in_flight = proc.stdout.readline().split()  # type: ignore[union-attr]
        return int(requests), int(in_flight)

    try:
        yield f"http://127.0.0.1:{proc.stdout.readline().strip()}/v1", counts
    finally:
        proc.stdin.close()
        proc.wait(10)


def bench_modes() -> dict[str, float]:
    import dspy

    from runwire.actors import RunSystem
    from runwire.actors.dspy import lm_pipeline

    work = Path(tempfile.mkdtemp(prefix="runwire-bench-lm-"))
    os.environ["DSPY_CACHEDIR"] = str(work / "cache")  # this run's own cache, never ~/.dspy_cache
    tree = work / "tree"
    shutil.copytree(SOURCE, tree, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    out: dict[str, float] = {}
    try:
        with server_process() as (base_url, counts), RunSystem() as system:

            def run(name: str, concurrency: int, cache: bool) -> int:
                lm = dspy.LM("openai/bench", api_base=base_url, api_key="bench", cache=cache, num_retries=0)
                before, _ = counts()
                start, cpu = time.perf_counter(), time.process_time()
                handle = system.start(
                    lm_pipeline(lm, concurrency=concurrency), {"source": str(tree), "out": str(work / name)}
                )
                end = handle.wait(timeout=600)
                out[f"{name}_s"] = time.perf_counter() - start
                out[f"{name}_cpu_s"] = time.process_time() - cpu
                if end.type != "run.completed":
                    raise RuntimeError(f"{name}: {end}")
                calls = counts()[0] - before
                out[f"{name}_calls"] = calls
                return calls

            run("warmup", CONCURRENCY, False)  # imports, first connection: not measured
            calls = run("sequential", 1, False)
            run("concurrent", CONCURRENCY, False)
            out["max_in_flight"] = counts()[1]
            run("cached_first", CONCURRENCY, True)
            run("cached_unchanged", CONCURRENCY, True)
            victim = sorted(tree.rglob("*.py"))[0]
            victim.write_text(victim.read_text() + "\n# changed\n")
            run("cached_one_file", CONCURRENCY, True)
            same = (work / "sequential" / "llms.txt").read_bytes() == (work / "concurrent" / "llms.txt").read_bytes()
            out["same_bytes"] = float(same)
            out["calls"] = calls
            out["ideal_ratio"] = calls / (math.ceil((calls - 1) / CONCURRENCY) + 1)  # overview runs after the files
            out["ratio"] = out["sequential_s"] / out["concurrent_s"]
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return out


BENCHES = {"modes": bench_modes}


def _shown(path: str) -> str:
    """The source relative to the repository when inside it (the output goes into docs)."""
    resolved = Path(path).resolve()
    return str(resolved.relative_to(ROOT)) if resolved.is_relative_to(ROOT) else path


def main() -> dict[str, Any]:
    runs = run_isolated(__file__, "modes", repeats=REPEATS)
    results: dict[str, Any] = {"source": SOURCE, "concurrency": CONCURRENCY, "tokens": TOKENS, "delay": DELAY}
    results["repeats"] = REPEATS
    for key in runs[0]:
        results[key] = median_of(runs, key)
    ratio = results["ratio"]
    spread = [round(r["ratio"], 2) for r in runs]
    print(
        f"{int(results['calls'])} LM calls per run on {_shown(SOURCE)}"
        f" ({TOKENS} tokens at {DELAY * 1000:.0f} ms each per call)"
    )
    print(
        f"sequential {fmt(results['sequential_s'], ' s')},"
        f" concurrent ({CONCURRENCY}) {fmt(results['concurrent_s'], ' s')} -> {ratio:.2f}x {spread}"
        f" (ideal {results['ideal_ratio']:.2f}x; goal >= 5x: {'met' if ratio >= 5 else 'NOT met'});"
        f" max in flight {int(results['max_in_flight'])}; same bytes: {bool(results['same_bytes'])}"
    )
    unchanged = int(results["cached_unchanged_calls"])
    print(
        f"cache: first run {int(results['cached_first_calls'])} calls {fmt(results['cached_first_s'], ' s')};"
        f" unchanged re-run {unchanged} calls {fmt(results['cached_unchanged_s'], ' s')}"
        f" (goal 0: {'met' if unchanged == 0 else 'NOT met'});"
        f" one file changed {int(results['cached_one_file_calls'])} call(s) {fmt(results['cached_one_file_s'], ' s')}"
    )
    return results


if __name__ == "__main__":
    if sys.argv[1:2] == ["--serve"]:
        serve()
    elif not main_one(BENCHES):
        result = main()
        if "--json" in sys.argv:
            print(json.dumps(result))
