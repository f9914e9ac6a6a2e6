"""Benchmark the llms.txt generator against gitingest and repomix on the Python standard library.

    python benchmarks/llms_txt.py [--repeats 5] [--source DIR] [--max-file-bytes 524288]

Every run is a fresh process (interpreter start-up and imports included, as a user pays them);
the figures are the median wall time and the median peak RSS over the repeats, after one
untimed warm-up run per tool (page cache, npx cache). The corpus is a copy of the running
interpreter's stdlib folder without ``site-packages`` and ``__pycache__``, so all three tools see
the same files and no parent ``.gitignore`` hides them. The runwire figure is the pure library
call (``generate``), no RunSystem. Peers are skipped with a message when they are not installed:
gitingest from PyPI (``pip install gitingest``), repomix through ``npx repomix`` (needs node/npx).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, os.path.dirname(__file__))
from _common import repomix_command


@dataclass
class Sample:
    seconds: float
    peak_rss_mb: float
    output_bytes: int


def run_measured(cmd: list[str], cwd: Path, log: Path) -> tuple[float, float, int]:
    """Run ``cmd`` to completion; (wall seconds, peak RSS in MiB of it and its descendants, exit code)."""
    with log.open("wb") as sink:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, stdin=subprocess.DEVNULL, stdout=sink, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    return elapsed, usage.ru_maxrss / 1024, proc.returncode  # ru_maxrss is KiB on Linux


def one_runwire(mode: str, source: str, out: str, max_file_bytes: int) -> None:
    """Child-process body. ``library``: the plain call; ``run``: a RunSystem run nobody watches;
    ``run+sub``: the same run with a subscriber reading every event (the instrumentation cost)."""
    from runwire.actors import RunSystem
    from runwire.actors.llms_txt import Options, generate, llms_txt_pipeline

    start = time.perf_counter()
    if mode == "library":
        generate(Options(source=source, out=out, max_file_bytes=max_file_bytes))
    else:
        with RunSystem() as system:
            inputs = {"source": source, "out": out, "max_file_bytes": max_file_bytes}
            handle = system.start(llms_txt_pipeline, inputs, name="llms-txt")
            if mode == "run+sub":
                for _event in handle.events(buffer=None):
                    pass
            terminal = handle.wait(600)
            assert terminal.type == "run.completed", terminal
    print(json.dumps({"inner_seconds": time.perf_counter() - start}))


def tool_commands(corpus: Path, out: Path, max_file_bytes: int) -> dict[str, list[str] | str]:
    """Command per tool, or the reason it is skipped."""
    one = [sys.executable, __file__, "--one"]
    commands: dict[str, list[str] | str] = {
        "runwire": [*one, "run+sub", str(corpus), str(out), str(max_file_bytes)],
        "run-nosub": [*one, "run", str(corpus), str(out), str(max_file_bytes)],
        "library": [*one, "library", str(corpus), str(out), str(max_file_bytes)],
    }
    gitingest = Path(sys.executable).with_name("gitingest")
    if gitingest.exists() or shutil.which("gitingest"):
        exe = str(gitingest) if gitingest.exists() else str(shutil.which("gitingest"))
        commands["gitingest"] = [exe, str(corpus), "-o", str(out / "digest.txt"), "-s", str(max_file_bytes)]
    else:
        commands["gitingest"] = "skipped: gitingest is not installed (pip install gitingest)"
    commands["repomix"] = repomix_command(str(out / "repomix.xml"))
    return commands


def measure(name: str, cmd: list[str], corpus: Path, out: Path, repeats: int) -> list[Sample]:
    samples: list[Sample] = []
    cwd = corpus if name == "repomix" else out
    for index in range(repeats + 1):
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir(parents=True)
        log = out.parent / f"{name}.log"
        seconds, rss, code = run_measured(cmd, cwd, log)
        if code != 0:
            raise RuntimeError(f"{name} exited {code}:\n{log.read_text(errors='replace')[-2000:]}")
        size = sum(p.stat().st_size for p in out.iterdir() if p.is_file())
        if index > 0:  # the first run warms caches and is not counted
            samples.append(Sample(seconds, rss, size))
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=int(os.environ.get("RUNWIRE_BENCH_REPEATS", "5")))
    parser.add_argument("--source", help="corpus directory (default: a copy of this interpreter's stdlib)")
    parser.add_argument("--max-file-bytes", type=int, default=512 * 1024)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="runwire-bench-") as tmp:
        work = Path(tmp)
        if args.source:
            corpus = Path(args.source).resolve()
        else:
            stdlib = sysconfig.get_paths()["stdlib"]
            corpus = work / "stdlib"
            skip = shutil.ignore_patterns("site-packages", "__pycache__")
            shutil.copytree(stdlib, corpus, ignore=skip, symlinks=True)
        files = sum(len(names) for _, _, names in os.walk(corpus))
        print(f"corpus: {corpus} ({files} files), {args.repeats} repeats, python {sys.version.split()[0]}")
        results: dict[str, list[Sample]] = {}
        for name, cmd in tool_commands(corpus, work / "out", args.max_file_bytes).items():
            if isinstance(cmd, str):
                print(f"{name}: {cmd}")
                continue
            results[name] = measure(name, cmd, corpus, work / "out", args.repeats)
        header = ("tool", "median s", "min s", "peak RSS MiB", "output MiB", "time x", "RSS x")
        print("\n{:<10} {:>9} {:>7} {:>13} {:>11} {:>7} {:>6}".format(*header))
        base = results["runwire"]
        base_s = statistics.median(s.seconds for s in base)
        base_rss = statistics.median(s.peak_rss_mb for s in base)
        for name, samples in results.items():
            med_s = statistics.median(s.seconds for s in samples)
            rss = statistics.median(s.peak_rss_mb for s in samples)
            size = samples[-1].output_bytes / 2**20
            print(
                f"{name:<10} {med_s:>9.2f} {min(s.seconds for s in samples):>7.2f} {rss:>13.0f} {size:>11.1f}"
                f" {med_s / base_s:>7.1f} {rss / base_rss:>6.1f}"
            )
        print("\ntime x / RSS x: the tool's median divided by runwire's (higher = runwire is ahead by that factor)")
        print("runwire = a RunSystem run with a subscriber reading every event; run-nosub = the same run unwatched;")
        print("library = the generator called directly, no runtime")
        if "run-nosub" in results:
            nosub = statistics.median(s.seconds for s in results["run-nosub"])
            overhead = base_s / nosub - 1
            verdict = "met" if overhead < 0.05 else "NOT met"
            print(f"instrumentation overhead (subscriber vs none): {overhead * 100:+.1f}% (goal < 5%: {verdict})")


if __name__ == "__main__":
    if len(sys.argv) == 6 and sys.argv[1] == "--one":
        one_runwire(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]))
    else:
        main()
