"""`runwire run llms-txt` driven as a user would: a real subprocess, a real git clone, real signals."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

from runwire.protocol import parse_event

from ..helpers import assert_well_formed
from .conftest import listing, make_repo

RUNWIRE = shutil.which("runwire") or os.path.join(os.path.dirname(sys.executable), "runwire")
FILES = {
    "README.md": "# Widgetry\n\nWidgets for everyone.\n",
    "pyproject.toml": '[project]\nname = "widgetry"\ndescription = "Widgets for everyone."\n',
    "src/widgetry/__init__.py": '"""The widget core."""\n',
    "docs/guide.md": "# Guide\n\nHow to widget.\n",
}


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([RUNWIRE, "run", "llms-txt", *args], capture_output=True, text=True, timeout=120, check=False)


def test_git_url_json_prints_only_events_and_writes_both_files(tmp_path: Path) -> None:
    make_repo(tmp_path / "repo", FILES)
    out = tmp_path / "out"
    result = run(f"file://{tmp_path / 'repo'}", "--out", str(out), "--json")
    assert result.returncode == 0, result.stderr
    events = [parse_event(line) for line in result.stdout.splitlines()]
    assert_well_formed(events)
    names = [e.name for e in events if e.type == "run.milestone"]
    assert names[:2] == ["repo_fetched", "analysis_started"]
    assert "artifact_written" in names
    assert (out / "llms.txt").read_text().startswith("# widgetry")
    assert (out / "llms-full.txt").is_file()


def test_live_view_and_base_url(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    make_repo(repo, FILES)
    result = run(str(repo), "--out", str(tmp_path / "o"), "--base-url", "https://example.org/w")
    assert result.returncode == 0, result.stderr
    assert "completed" in result.stderr
    assert "](https://example.org/w/docs/guide.md)" in (tmp_path / "o" / "llms.txt").read_text()


def test_bad_input_is_one_line_exit_2_nothing_written(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("x")
    empty = tmp_path / "empty"
    empty.mkdir()
    out = tmp_path / "never"
    cases = [
        (str(tmp_path / "missing"), "not found"),
        (str(tmp_path / "a-file"), "not a directory"),
        (f"file://{tmp_path / 'no-such-repo'}", ""),
        (str(empty), ""),
    ]
    for source, needle in cases:
        result = run(source, "--out", str(out))
        assert result.returncode == 2, (source, result.stderr)
        assert "Traceback" not in result.stderr
        assert needle in result.stderr
        assert listing(out) == []
    bad_out = run(str(tmp_path), "--out", str(tmp_path / "a-file" / "sub"))
    assert bad_out.returncode == 2
    assert "Traceback" not in bad_out.stderr


def test_ctrl_c_cancels_exit_130_and_leaves_no_output(tmp_path: Path) -> None:
    src = tmp_path / "big"
    for i in range(3000):
        (src / f"pkg{i % 30}").mkdir(parents=True, exist_ok=True)
        (src / f"pkg{i % 30}" / f"m{i}.py").write_text(f'"""Module {i}."""\n' + "x = 1\n" * 50)
    out = tmp_path / "out"
    proc = subprocess.Popen(
        [RUNWIRE, "run", "llms-txt", str(src), "--out", str(out), "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        first = [proc.stdout.readline() for _ in range(2)]  # run.started, repo_fetched
        proc.send_signal(signal.SIGINT)
        rest, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    events = [parse_event(line) for line in first + rest.splitlines()]
    assert_well_formed(events)
    assert events[-1].type == "run.cancelled"
    assert proc.returncode == 130, err
    assert listing(out) == []  # no partial output file
