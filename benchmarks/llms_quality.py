"""How good and how big the extractive llms.txt is on real repositories, beside gitingest and repomix.

    python benchmarks/llms_quality.py [--repeats 5] [--httpx DIR] [--ts DIR] [--repomix PATH]

Corpora: an httpx checkout (encode/httpx, docs included), a copy of this interpreter's stdlib
folder without ``site-packages`` and ``__pycache__``, and a TypeScript project (sindresorhus/ky).
Quality is read from the written llms.txt: links (per-directory summary lines not counted), the
share with a description, the share of doc links (Markdown/RST/README) titled from a heading
rather than their path, and tokens (chars / 4, as the generator estimates them) of both files.
Every timed run is a fresh process, median of ``--repeats`` after one untimed warm-up round, the
tools interleaved round by round; peak RSS
is the child's (``wait4``). gitingest and repomix are skipped with a message when not installed. The
import floor (a fresh interpreter that only imports the package) is timed in the same run: the part
of runwire's wall time that no work on the tree can remove.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

sys.path.insert(0, os.path.dirname(__file__))
from _common import repomix_command

_LINK = re.compile(r"^- \[(?P<title>.*)\]\((?P<url>[^)]*)\)(?P<desc>: .*)?$", re.MULTILINE)
_DOC = re.compile(r"\.(?:md|markdown|mdx|rst|adoc)$|(?:^|/)readme(?:\.\w+)?$", re.IGNORECASE)


def run_measured(cmd: list[str], cwd: Path, log: Path) -> tuple[float, float]:
    """Run ``cmd``; (wall seconds, peak RSS MiB). Raises with the log's tail when it fails."""
    with log.open("wb") as sink:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, stdin=subprocess.DEVNULL, stdout=sink, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{cmd[0]} failed:\n{log.read_text(errors='replace')[-2000:]}")
    return elapsed, usage.ru_maxrss / 1024


def quality(out: Path) -> dict[str, float]:
    """Link, description and title figures of the llms.txt in ``out``, and both files' tokens."""
    index = (out / "llms.txt").read_text(encoding="utf-8")
    full = (out / "llms-full.txt").read_text(encoding="utf-8")
    links = [m for m in _LINK.finditer(index) if not m["url"].endswith("/")]
    docs = [m for m in links if _DOC.search(m["url"])]
    return {
        "links": len(links),
        "described": sum(1 for m in links if m["desc"]) / max(len(links), 1),
        "doc_links": len(docs),
        "titled": sum(1 for m in docs if m["title"] != m["url"]) / max(len(docs), 1),
        "summaries": sum(1 for m in _LINK.finditer(index) if m["url"].endswith("/")),
        "index_tokens": -(-len(index) // 4),
        "full_tokens": -(-len(full) // 4),
    }


def commands(corpus: Path, out: Path, repomix: str | None) -> dict[str, list[str] | str]:
    runwire = [sys.executable, "-c", "import sys; from runwire.actors.llms_txt import Options, generate; "
               "generate(Options(source=sys.argv[1], out=sys.argv[2]))", str(corpus), str(out)]  # fmt: skip
    floor = [sys.executable, "-c", "import runwire.actors.llms_txt"]  # the interpreter and the package import
    found: dict[str, list[str] | str] = {"runwire": runwire, "import": floor}
    gitingest = Path(sys.executable).with_name("gitingest")
    found["gitingest"] = (
        [str(gitingest), str(corpus), "-o", str(out / "digest.txt")]
        if gitingest.exists()
        else "skipped: not installed (pip install 'runwire[bench]')"
    )
    found["repomix"] = repomix_command(str(out / "repomix.xml"), repomix)
    return found


def measure(corpus: Path, work: Path, repeats: int, repomix: str | None) -> dict[str, dict[str, float]]:
    """Each tool once per round, ``repeats + 1`` rounds (the first untimed): a load spike on the
    shared machine then lands on every tool alike instead of on one tool's whole series."""
    tools: dict[str, list[str]] = {}
    for name, cmd in commands(corpus, work / "out", repomix).items():
        if isinstance(cmd, str):
            print(f"  {name}: {cmd}")
        else:
            tools[name] = cmd
    times: dict[str, list[float]] = {name: [] for name in tools}
    rss: dict[str, list[float]] = {name: [] for name in tools}
    out = work / "out"
    rows: dict[str, dict[str, float]] = {}
    for index in range(repeats + 1):
        for name, cmd in tools.items():
            shutil.rmtree(out, ignore_errors=True)
            out.mkdir(parents=True)
            seconds, peak = run_measured(cmd, corpus if name == "repomix" else out, work / f"{name}.log")
            if index:
                times[name].append(seconds)
                rss[name].append(peak)
            if index == repeats:  # the last round's output is the one measured
                row = {"seconds": statistics.median(times[name]), "rss": statistics.median(rss[name])}
                if name == "runwire":
                    row |= quality(out)
                elif name == "import":
                    row["output_tokens"] = 0
                else:
                    row["output_tokens"] = -(-sum(p.stat().st_size for p in out.iterdir()) // 4)
                rows[name] = row
    return rows


def report(label: str, rows: dict[str, dict[str, float]]) -> None:
    own = rows["runwire"]
    print(
        f"| {label} | {own['links']:,.0f} | {own['described']:.1%} | {own['titled']:.0%} of {own['doc_links']:.0f} |"
        f" {own['index_tokens']:,.0f} | {own['full_tokens']:,.0f} | {own['seconds']:.2f} s | {own['rss']:.0f} MiB |"
    )
    if "import" in rows:
        floor = rows["import"]["seconds"]
        print(
            f"|   (import floor: python + `import runwire.actors.llms_txt`) | | | | | | {floor:.2f} s"
            f" ({floor / own['seconds']:.0%} of runwire's wall) | {rows['import']['rss']:.0f} MiB |"
        )
    for name, row in rows.items():
        if name not in ("runwire", "import"):
            print(
                f"|   {name} | | | | | {row['output_tokens']:,.0f} | {row['seconds']:.2f} s"
                f" ({row['seconds'] / own['seconds']:.1f}x) | {row['rss']:.0f} MiB |"
            )


def _where(corpus: Path) -> str:
    """A corpus as the report names it: a git checkout by its commit, else the folder's name (a
    local path would say nothing to a reader elsewhere)."""
    if (corpus / ".git").exists():
        git = ["git", "-C", str(corpus), "rev-parse", "--short=12", "HEAD"]
        head = subprocess.run(git, capture_output=True, text=True, check=False)
        if head.returncode == 0:
            return f"checkout at {head.stdout.strip()}"
    return f"a copy ({corpus.name})"


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--httpx", default="/work/repos/httpx", help="an encode/httpx checkout")
    parser.add_argument("--ts", default="/work/repos/ky", help="a TypeScript project (default: sindresorhus/ky)")
    parser.add_argument(
        "--repomix", default=shutil.which("repomix"), help="the repomix executable (default: on PATH, else npx)"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="runwire-quality-") as tmp:
        work = Path(tmp)
        stdlib = work / "stdlib"
        skip = shutil.ignore_patterns("site-packages", "__pycache__")
        shutil.copytree(sysconfig.get_paths()["stdlib"], stdlib, ignore=skip, symlinks=True)
        corpora = {"encode/httpx": Path(args.httpx), "stdlib": stdlib, "sindresorhus/ky (TS)": Path(args.ts)}
        results: dict[str, dict[str, dict[str, float]]] = {}
        for label, corpus in corpora.items():
            if not corpus.is_dir():
                print(f"{label}: skipped, {corpus} not found")
                continue
            files = sum(len(f) for _, _, f in os.walk(corpus))
            print(f"{label}: {_where(corpus)} ({files:,} files)", flush=True)
            results[label] = measure(corpus.resolve(), work, args.repeats, args.repomix)
        print(f"\nmedian of {args.repeats} fresh processes each, python {sys.version.split()[0]}\n")
        print("| corpus / peer | links | described | doc titles from a heading | llms.txt tokens |"
              " llms-full.txt (peer output) tokens | wall | peak RSS |")  # fmt: skip
        print("|---|---|---|---|---|---|---|---|")
        for label, rows in results.items():
            report(label, rows)


if __name__ == "__main__":
    main()
