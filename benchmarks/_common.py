"""Shared helpers for the benchmarks: repeat in fresh processes, take medians, print tables."""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
from collections.abc import Callable
from typing import Any

REPEATS = int(os.environ.get("RUNWIRE_BENCH_REPEATS", "5"))


def run_isolated(script: str, name: str, repeats: int = REPEATS, timeout: float = 600) -> list[dict[str, Any]]:
    """Run ``script --one name`` ``repeats`` times, each in a fresh process; return the JSON results."""
    out = []
    for _ in range(repeats):
        proc = subprocess.run(
            [sys.executable, script, "--one", name], capture_output=True, text=True, timeout=timeout, check=False
        )
        if proc.returncode != 0:
            raise RuntimeError(f"{name} failed:\n{proc.stderr[-2000:]}")
        out.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    return out


def median_of(results: list[dict[str, Any]], key: str) -> float:
    return float(statistics.median(r[key] for r in results))


def main_one(benches: dict[str, Callable[[], dict[str, Any]]]) -> bool:
    """If invoked as ``--one NAME``, run that bench, print its JSON, and return True."""
    if len(sys.argv) > 2 and sys.argv[1] == "--one":
        print(json.dumps(benches[sys.argv[2]]()))
        return True
    return False


def fmt(value: float, unit: str = "") -> str:
    if value >= 100:
        return f"{value:,.0f}{unit}"
    return f"{value:,.3g}{unit}"


def repomix_command(output: str, executable: str | None = None) -> list[str] | str:
    """The command that packs the current directory into ``output`` with repomix: ``executable``
    if given, else ``npx --yes repomix`` (fetched once into npx's cache); a reason if neither runs."""
    if executable:
        return [executable, ".", "-o", output, "--quiet"]
    npx = shutil.which("npx")
    if npx is None:
        return "skipped: node/npx is not installed"
    probe = subprocess.run(
        [npx, "--yes", "repomix", "--version"], capture_output=True, text=True, timeout=600, check=False
    )
    if probe.returncode != 0:
        return f"skipped: npx repomix failed: {(probe.stderr or probe.stdout).strip()[-300:]}"
    return [npx, "--yes", "repomix", ".", "-o", output, "--quiet"]
