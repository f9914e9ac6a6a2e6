"""The LM mode from the command line: real subprocesses against the scripted server.

``python -m runwire.actors.dspy llms-txt`` is this package's own entry point. ``runwire run
llms-txt --lm`` is the CLI option the lead wires into actors/cli/_llms.py (see docs/dspy.md):
its test is skipped until the option exists, and passes unchanged once it does.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from runwire.actors.dspy.scripted import ScriptedServer
from runwire.protocol import parse_event

from .test_llms import FILES, SUMMARY, describe_of, lm_script

RUNWIRE = shutil.which("runwire") or os.path.join(os.path.dirname(sys.executable), "runwire")


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.update({"OPENAI_API_KEY": "test-key", "LITELLM_LOCAL_MODEL_COST_MAP": "True"})
    return env


def _project(tmp_path: Path) -> Path:
    root = tmp_path / "skyfacts"
    for rel, text in FILES.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


def _check_json_run(out: subprocess.CompletedProcess[str], out_dir: Path) -> None:
    assert out.returncode == 0, out.stderr[-2000:]
    events = [parse_event(line) for line in out.stdout.splitlines()]
    assert events[-1].type == "run.completed"
    streamed = "".join(e.text for e in events if e.type == "text.delta" and e.field == "summary")  # type: ignore[union-attr]
    assert streamed == SUMMARY
    assert describe_of("docs/guide.md") in (out_dir / "llms.txt").read_text()


def test_module_entry_point_runs_the_lm_mode(lm_server: ScriptedServer, tmp_path: Path) -> None:
    lm_server.reply_with(lm_script)
    out_dir = tmp_path / "out"
    args = ["llms-txt", str(_project(tmp_path)), "--lm", "openai/test-model", "--lm-base-url", lm_server.base_url]
    cmd = [sys.executable, "-m", "runwire.actors.dspy", *args, "--out", str(out_dir), "--json", "--no-cache"]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=90, env=_env(), check=False)
    _check_json_run(out, out_dir)


def test_module_entry_point_bad_input_exits_2(tmp_path: Path) -> None:
    cmd = [sys.executable, "-m", "runwire.actors.dspy", "llms-txt", str(tmp_path), "--lm", " ", "--json"]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=90, env=_env(), check=False)
    assert out.returncode == 2
    assert "model string" in out.stderr


def _cli_has_lm_option() -> bool:
    helped = subprocess.run([RUNWIRE, "run", "llms-txt", "--help"], capture_output=True, text=True, timeout=60)
    return "--lm-base-url" in helped.stdout


@pytest.mark.skipif(not _cli_has_lm_option(), reason="`runwire run llms-txt --lm` is not wired into the CLI yet")
def test_runwire_run_llms_txt_with_lm(lm_server: ScriptedServer, tmp_path: Path) -> None:
    lm_server.reply_with(lm_script)
    out_dir = tmp_path / "out"
    cmd = [RUNWIRE, "run", "llms-txt", str(_project(tmp_path)), "--out", str(out_dir), "--json", "--no-store"]
    cmd += ["--lm", "openai/test-model", "--lm-base-url", lm_server.base_url]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=90, env=_env(), check=False)
    _check_json_run(out, out_dir)


def _no_key_env() -> dict[str, str]:
    env = {key: value for key, value in _env().items() if not key.endswith(("_API_KEY", "_API_BASE", "_BASE_URL"))}
    return env


def _one_line_exit_2(out: subprocess.CompletedProcess[str], out_dir: Path, *words: str) -> None:
    assert out.returncode == 2, (out.returncode, out.stderr[-2000:])
    lines = out.stderr.splitlines()
    assert len(lines) == 1, out.stderr
    assert lines[0].startswith("runwire: ")
    for word in words:
        assert word in lines[0]
    assert out.stdout == ""  # no run was started: not even its first event
    assert not out_dir.exists()


@pytest.mark.parametrize("entry", ["runwire", "module"])
def test_a_missing_api_key_is_one_line_exit_2_naming_the_variable_before_any_work(entry: str, tmp_path: Path) -> None:
    out_dir = tmp_path / "out"
    args = ["llms-txt", str(_project(tmp_path)), "--lm", "openai/gpt-4o-mini", "--out", str(out_dir), "--json"]
    cmd = [RUNWIRE, "run", *args, "--no-store"] if entry == "runwire" else [sys.executable, "-m", "runwire.actors.dspy"]
    if entry == "module":
        cmd += args
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=90, env=_no_key_env(), check=False)
    _one_line_exit_2(out, out_dir, "OPENAI_API_KEY", "--lm-base-url")


def test_an_unknown_model_is_one_line_exit_2(tmp_path: Path) -> None:
    out_dir = tmp_path / "out"
    cmd = [RUNWIRE, "run", "llms-txt", str(_project(tmp_path)), "--lm", "nosuchprovider/some-model"]
    cmd += ["--out", str(out_dir), "--json", "--no-store"]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=_no_key_env(), check=False)
    _one_line_exit_2(out, out_dir, "unknown model", "nosuchprovider/some-model")


def test_a_local_server_needs_no_key(lm_server: ScriptedServer, tmp_path: Path) -> None:
    lm_server.reply_with(lm_script)
    out_dir = tmp_path / "out"
    cmd = [RUNWIRE, "run", "llms-txt", str(_project(tmp_path)), "--out", str(out_dir), "--json", "--no-store"]
    cmd += ["--lm", "openai/test-model", "--lm-base-url", lm_server.base_url, "--lm-concurrency", "2"]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=90, env=_no_key_env(), check=False)
    _check_json_run(out, out_dir)
    assert lm_server.max_in_flight <= 2


def test_the_live_view_shows_each_file_being_described_not_their_deltas_run_together(
    lm_server: ScriptedServer, tmp_path: Path
) -> None:
    lm_server.reply_with(lm_script)
    out_dir = tmp_path / "out"
    cmd = [RUNWIRE, "run", "llms-txt", str(_project(tmp_path)), "--out", str(out_dir), "--no-store"]
    cmd += ["--lm", "openai/test-model", "--lm-base-url", lm_server.base_url]
    env = {**_env(), "COLUMNS": "300", "TERM": "dumb"}
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=90, env=env, check=False)
    assert out.returncode == 0, out.stderr[-2000:]
    lines = out.stderr.splitlines()
    for rel in ("README.md", "docs/guide.md", "src/skyfacts/colour.py"):
        assert f"described {rel}: {describe_of(rel)}" in lines  # one line per file, with its own words
    for line in lines:
        assert line.count("in the words of an LM") <= 1, line  # never two descriptions in one line
    assert f"wrote summary: {SUMMARY}" in lines  # the overview, once it is whole
