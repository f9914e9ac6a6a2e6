"""DSPy streaming through runwire vs consuming ``dspy.streamify`` directly.

The scripted OpenAI-compatible server (runwire.actors.dspy.scripted) runs in its own process
and streams as fast as it can; the same ``dspy.Predict("question -> answer")`` on DSPy's native
engine is consumed two ways in one process:

  direct   ``async for`` over ``dspy.streamify(program, stream_listeners=[...])``, counting chunks
  runwire  ``run_dspy(system, program, ...)`` + ``async for`` over ``handle.events()``, counting deltas

Figures: tokens/s delivered to the subscriber for a long answer that the server writes in one
burst (issue 18's goal: runwire >= 0.95x direct; also printed: the process CPU per token, all
threads, which a loaded machine moves less than wall time, and the server writing one SSE event per write),
and the time from the server sending the first answer token to the subscriber having it, p50
over many short answers paced at 2 ms per token (goal: runwire adds < 2 ms; also printed: the
same from the call, which includes starting the run, and for answers sent in one burst). Both
variants run in the same process, alternating call by call, so a noisy machine slows both alike.
Each repeat is a fresh process (start-up and warm-up calls, a long answer included, are not measured); medians of
RUNWIRE_BENCH_REPEATS (5). RUNWIRE_BENCH_DSPY_TOKENS (5000) sets the long answer's length,
RUNWIRE_BENCH_DSPY_CALLS (60) the short calls per process and variant.

Usage: python benchmarks/dspy_stream.py [--json]
"""

from __future__ import annotations

import os
import resource

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # no model-metadata fetch from the network

import asyncio
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

sys.path.insert(0, os.path.dirname(__file__))
from _common import REPEATS, fmt, main_one, median_of, run_isolated

TOKENS = int(os.environ.get("RUNWIRE_BENCH_DSPY_TOKENS", "5000"))
CALLS = int(os.environ.get("RUNWIRE_BENCH_DSPY_CALLS", "60"))
LONG_RUNS = 3  # long answers per process and variant
SHORT = 20  # tokens in each answer of the first-token measurement
PACE = 0.002  # seconds between the tokens of a paced answer


def _answer(tokens: int) -> str:
    return " ".join(f"t{i}" for i in range(tokens))


def serve() -> None:
    """``--serve``: the scripted server in this process; prints its port, stops when stdin closes."""
    from runwire.actors.dspy.scripted import Reply, ScriptedServer, chat_reply

    def script(body: dict[str, Any]) -> Reply:
        prompt = body["messages"][-1]["content"]
        if "long answer" in prompt:  # as fast as a server can: the whole stream in one write
            return Reply(chat_reply(answer=_answer(TOKENS)), burst=True)
        if "long chunked" in prompt:  # one write per SSE event, no pause
            return Reply(chat_reply(answer=_answer(TOKENS)))
        if "paced" in prompt:  # an LM's pace (here 500 tokens/s): the client idles between tokens
            return Reply(chat_reply(answer=_answer(SHORT)), delay=PACE)
        return Reply(chat_reply(answer=_answer(SHORT)), burst=True)

    with ScriptedServer(script) as server:
        print(server.port, flush=True)
        sys.stdin.read()


@contextmanager
def server_process() -> Iterator[str]:
    proc = subprocess.Popen(
        [sys.executable, __file__, "--serve"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        yield f"http://127.0.0.1:{proc.stdout.readline().strip()}/v1"
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        proc.wait(10)


def _lm(base_url: str) -> Any:
    import dspy

    return dspy.LM("openai/test-model", api_base=base_url, api_key="bench", cache=False, num_retries=0)


async def _direct(program: Any, lm: Any, question: str) -> tuple[float, float, float, int]:
    """(call, first chunk, Prediction) as ``perf_counter`` times, and characters: streamify consumed directly."""
    import dspy
    from dspy.streaming import StreamListener, StreamResponse

    t0 = time.perf_counter()
    with dspy.context(lm=lm):  # listeners are stateful: a fresh streamify per call, as runwire makes
        streamer = dspy.streamify(program, stream_listeners=[StreamListener("answer")], is_async_program=True)
        first, chars = 0.0, 0
        async for item in streamer(question=question):
            if isinstance(item, StreamResponse) and item.chunk:
                if not chars:
                    first = time.perf_counter()
                chars += len(item.chunk)
        return t0, first, time.perf_counter(), chars


async def _runwire(system: Any, program: Any, lm: Any, question: str) -> tuple[float, float, float, int]:
    """The same through runwire: run_dspy + an async subscriber."""
    from runwire.actors.dspy import run_dspy

    t0 = time.perf_counter()
    handle = run_dspy(system, program, lm=lm, milestones=False, question=question)
    first, chars = 0.0, 0
    async for event in handle.events():
        if event.type == "text.delta":
            if not chars:
                first = time.perf_counter()
            chars += len(event.text)  # type: ignore[union-attr]
    return t0, first, time.perf_counter(), chars


def _cpu() -> float:
    """This process's CPU seconds, all threads (the server is another process, the same for both)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))] * 1e3


def bench_pair() -> dict[str, float]:
    """Both variants in one process, alternating call by call so that load and drift hit both alike.

    Paced answers come from a scripted server in this process, so its send times share the clock:
    the latency is measured from the moment the first answer token left the server.
    """
    import dspy

    from runwire.actors import RunSystem
    from runwire.actors.dspy.scripted import Reply, ScriptedServer, chat_reply

    paced = ScriptedServer(Reply(chat_reply(answer=_answer(SHORT)), delay=PACE))
    with server_process() as base_url, paced, RunSystem() as system:
        fast_lm, paced_lm = _lm(base_url), _lm(paced.base_url)
        program = dspy.Predict("question -> answer")  # built once: parsing a signature costs ~2 ms

        async def once(variant: str, lm: Any, question: str) -> tuple[float, float, float, int]:
            if variant == "direct":
                return await _direct(program, lm, question)
            return await _runwire(system, program, lm, question)

        async def main() -> dict[str, float]:
            variants = ("direct", "runwire")
            from_token: dict[str, list[float]] = {v: [] for v in variants}
            from_call: dict[str, list[float]] = {v: [] for v in variants}
            burst: dict[str, list[float]] = {v: [] for v in variants}
            rates: dict[str, list[float]] = {v: [] for v in variants}
            chunked: dict[str, list[float]] = {v: [] for v in variants}
            cpu: dict[str, list[float]] = {v: [] for v in variants}
            for variant in variants:  # the first long answer of a process grows buffers and caches: not measured
                await once(variant, fast_lm, "warm-up")
                await once(variant, paced_lm, "warm-up")
                await once(variant, fast_lm, "long answer")
            for i in range(CALLS):
                for variant in sorted(variants, reverse=bool(i % 2)):
                    before = len(paced.sent)
                    t0, first, _, _ = await once(variant, paced_lm, f"paced {i}")
                    token_at = next(at for at, piece in paced.sent[before:] if piece.startswith("t0"))
                    from_token[variant].append(first - token_at)
                    from_call[variant].append(first - t0)
                    t0, first, _, _ = await once(variant, fast_lm, f"short {i}")
                    burst[variant].append(first - t0)
            for i in range(LONG_RUNS):
                for variant in sorted(variants, reverse=bool(i % 2)):
                    for question, into in (("long answer", rates), ("long chunked", chunked)):
                        before = _cpu()
                        t0, _, end, chars = await once(variant, fast_lm, question)
                        assert chars == len(_answer(TOKENS)), chars
                        into[variant].append(TOKENS / (end - t0))
                        if into is rates:
                            cpu[variant].append((_cpu() - before) / TOKENS * 1e6)
            out: dict[str, float] = {}
            for variant in variants:
                out[f"{variant}_tokens_per_s"] = statistics.median(rates[variant])
                out[f"{variant}_chunked_tokens_per_s"] = statistics.median(chunked[variant])
                out[f"{variant}_cpu_us_per_token"] = statistics.median(cpu[variant])
                out[f"{variant}_first_p50_ms"] = _p(from_token[variant], 0.5)
                out[f"{variant}_first_p90_ms"] = _p(from_token[variant], 0.9)
                out[f"{variant}_call_first_p50_ms"] = _p(from_call[variant], 0.5)
                out[f"{variant}_burst_first_p50_ms"] = _p(burst[variant], 0.5)
            out["ratio"] = out["runwire_tokens_per_s"] / out["direct_tokens_per_s"]
            # CPU per token moves less than wall time on a loaded machine: direct's CPU / runwire's
            out["cpu_ratio"] = out["direct_cpu_us_per_token"] / out["runwire_cpu_us_per_token"]
            out["chunked_ratio"] = out["runwire_chunked_tokens_per_s"] / out["direct_chunked_tokens_per_s"]
            for key in ("first_p50_ms", "call_first_p50_ms", "burst_first_p50_ms"):
                out[f"added_{key}"] = out[f"runwire_{key}"] - out[f"direct_{key}"]
            return out

        return asyncio.run(main())


BENCHES = {"pair": bench_pair}


def main() -> dict[str, Any]:
    runs = run_isolated(__file__, "pair")
    results: dict[str, Any] = {"tokens": TOKENS, "calls": CALLS, "long_runs": LONG_RUNS, "repeats": REPEATS}
    for key in runs[0]:
        results[key] = median_of(runs, key)
    for variant in ("direct", "runwire"):
        spread = [round(r[f"{variant}_tokens_per_s"]) for r in runs]
        print(
            f"{variant:8s} {fmt(results[f'{variant}_tokens_per_s'])} tokens/s (processes {spread});"
            f" first token to subscriber p50 {results[f'{variant}_first_p50_ms']:.2f} ms,"
            f" p90 {results[f'{variant}_first_p90_ms']:.2f} ms"
        )

    def spread_of(key: str) -> list[float]:
        return [round(r[key], 2) for r in runs]

    ratio, added = results["ratio"], results["added_first_p50_ms"]
    print(
        f"runwire / direct tokens/s = {ratio:.2f}x {spread_of('ratio')}"
        f" (goal >= 0.95x: {'met' if ratio >= 0.95 else 'NOT met'})"
    )
    print(
        f"  process CPU per token (all threads): direct {results['direct_cpu_us_per_token']:.0f} us,"
        f" runwire {results['runwire_cpu_us_per_token']:.0f} us; direct / runwire = {results['cpu_ratio']:.2f}x"
        f" {spread_of('cpu_ratio')}"
    )
    print(
        f"  the server writing one SSE event per write instead: {results['chunked_ratio']:.2f}x"
        f" {spread_of('chunked_ratio')} ({fmt(results['direct_chunked_tokens_per_s'])} vs"
        f" {fmt(results['runwire_chunked_tokens_per_s'])} tokens/s; it competes with the client for the 2nd core)"
    )
    print(
        f"added latency, server's first token -> subscriber, p50 = {added:.2f} ms {spread_of('added_first_p50_ms')}"
        f" (goal < 2 ms: {'met' if added < 2 else 'NOT met'})"
    )
    print(
        f"  from the call (includes starting the run): {results['added_call_first_p50_ms']:.2f} ms"
        f" {spread_of('added_call_first_p50_ms')}; whole answer in one burst:"
        f" {results['added_burst_first_p50_ms']:.2f} ms {spread_of('added_burst_first_p50_ms')}"
    )
    return results


if __name__ == "__main__":
    if sys.argv[1:2] == ["--serve"]:
        serve()
    elif not main_one(BENCHES):
        out = main()
        if "--json" in sys.argv:
            print(json.dumps(out))
