"""The command line, driven as a user would: a real subprocess, real signals."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys

from runwire.protocol import parse_event

from .helpers import assert_well_formed

RUNWIRE = shutil.which("runwire") or os.path.join(os.path.dirname(sys.executable), "runwire")


def run(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([RUNWIRE, *args], capture_output=True, text=True, timeout=timeout, check=False)


def test_version_and_help() -> None:
    import runwire

    out = run("--version")
    assert out.returncode == 0
    assert out.stdout.strip() == f"runwire {runwire.__version__}"
    helped = run("--help")
    assert helped.returncode == 0
    assert "demo" in helped.stdout
    assert "--json" in run("demo", "--help").stdout


def test_demo_json_prints_only_events_one_per_line() -> None:
    out = run("demo", "--json", "--steps", "4", "--delay", "0")
    assert out.returncode == 0, out.stderr
    events = [parse_event(line) for line in out.stdout.splitlines()]
    assert_well_formed(events)
    assert events[0].type == "run.started"
    assert events[-1].type == "run.completed"
    assert {"run.progress", "run.milestone", "text.delta", "artifact"} <= {e.type for e in events}


def test_demo_live_view_completes() -> None:
    out = run("demo", "--steps", "3", "--delay", "0")
    assert out.returncode == 0
    assert "completed" in out.stderr


def test_ctrl_c_cancels_cleanly_and_exits_130() -> None:
    proc = subprocess.Popen(
        [RUNWIRE, "demo", "--json", "--steps", "10000", "--delay", "0.05"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline() for _ in range(3)]  # started, milestone, first progress
        proc.send_signal(signal.SIGINT)
        rest, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    events = [parse_event(line) for line in lines + rest.splitlines()]
    assert proc.returncode == 130, err
    assert_well_formed(events)
    assert events[-1].type == "run.cancelled"
    assert "Traceback" not in err


def test_bad_option_is_one_clear_error() -> None:
    out = run("demo", "--steps", "0")
    assert out.returncode == 2
    assert "Traceback" not in out.stderr
    assert "--steps" in out.stderr


def test_missing_cli_extra_is_a_one_line_error() -> None:
    code = "import sys; sys.modules['typer'] = None; from runwire.actors.cli import main; main()"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False)
    assert out.returncode == 2
    assert out.stderr.strip().count("\n") == 0
    assert "pip install 'runwire[cli]'" in out.stderr
