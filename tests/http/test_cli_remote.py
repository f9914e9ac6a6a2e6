"""``runwire runs|show|events|cancel --server URL --token T`` against a real server (a subprocess CLI)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import httpx
import pytest

from runwire.actors import RunSystem
from runwire.actors.http import ServerThread, runwire_app

from .conftest import TOKEN, gate

RUNWIRE = shutil.which("runwire") or os.path.join(os.path.dirname(sys.executable), "runwire")


def _cli(*args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("RUNWIRE_SERVER", "RUNWIRE_TOKEN")}
    return subprocess.run([RUNWIRE, *args], capture_output=True, text=True, timeout=timeout, env=env, check=False)


@pytest.fixture
def remote(system: RunSystem) -> ServerThread:
    with ServerThread(runwire_app(system, token=TOKEN, heartbeat=0.3)) as server:
        yield server  # type: ignore[misc]


def _start(server: ServerThread, **inputs: object) -> str:
    r = httpx.post(
        f"{server.url}/api/runs",
        json={"pipeline": "http-steps", "inputs": inputs},
        headers={"Authorization": f"Bearer {TOKEN}"},
    )
    return str(r.json()["run_id"])


def test_cli_drives_a_remote_server_with_server_and_token(remote: ServerThread) -> None:
    done = _start(remote, n=3)
    live = _start(remote, n=2, hold="cli-hold")
    opts = ["--server", remote.url, "--token", TOKEN]
    follower = subprocess.Popen(
        [RUNWIRE, "events", live, "--follow", "--json", *opts], stdout=subprocess.PIPE, text=True
    )
    out = _cli("runs", "--json", *opts)
    assert out.returncode == 0, out.stderr
    assert {json.loads(line)["run_id"] for line in out.stdout.splitlines()} >= {done, live}
    shown = _cli("show", live, "--json", *opts)
    assert json.loads(shown.stdout)["state"] in ("pending", "running")
    assert _cli("cancel", live, *opts).returncode == 0
    lines, _ = follower.communicate(timeout=30)  # --follow ended at the terminal, live
    events = [json.loads(line) for line in lines.splitlines()]
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    assert events[-1]["type"] == "run.cancelled"
    after = _cli("events", live, "--after", "2", "--json", *opts)
    assert [json.loads(line) for line in after.stdout.splitlines()] == events[2:]
    gate("cli-hold").set()


def test_cli_remote_errors_are_one_line_with_a_nonzero_exit(remote: ServerThread) -> None:
    no_token = _cli("runs", "--server", remote.url)
    assert no_token.returncode == 1
    assert no_token.stderr.strip().count("\n") == 0
    assert "401" in no_token.stderr
    unknown = _cli("show", "nope", "--server", remote.url, "--token", TOKEN)
    assert unknown.returncode == 2
    assert "unknown run: nope" in unknown.stderr
    bad = _cli("runs", "--server", "ftp://x")
    assert bad.returncode == 2
    assert "--server must be an http" in bad.stderr
