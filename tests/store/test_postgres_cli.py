"""The CLI on a PostgreSQL store (``--store URL``): another process's runs listed and read, and a
store that cannot be opened is one line, exit 1, before any work, the password never printed."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from pg_server import drop_schema, fresh_schema, postgres_url, schema_url

CLI = [shutil.which("runwire") or os.path.join(os.path.dirname(sys.executable), "runwire")]
CHILD = Path(__file__).with_name("pg_child.py")


def runwire(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200"}
    env.pop("RUNWIRE_STORE", None)
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=timeout, env=env, check=False)


@pytest.fixture
def url() -> Iterator[str]:
    schema = fresh_schema()
    yield schema_url(schema)
    drop_schema(postgres_url(), schema)


def test_demo_then_runs_show_events_gc_from_other_processes(url: str) -> None:
    done = runwire("demo", "--steps", "3", "--delay", "0", "--json", "--store", url)
    assert done.returncode == 0, done.stderr
    live = [json.loads(line) for line in done.stdout.splitlines()]
    listed = runwire("runs", "--json", "--store", url)
    assert listed.returncode == 0, listed.stderr
    (run,) = [json.loads(line) for line in listed.stdout.splitlines()]
    assert (run["state"], run["last_seq"]) == ("completed", live[-1]["seq"])
    shown = runwire("show", run["run_id"], "--json", "--store", url)
    assert json.loads(shown.stdout)["terminal"] == live[-1]
    replay = runwire("events", run["run_id"], "--json", "--store", url)
    assert [json.loads(line) for line in replay.stdout.splitlines()] == live  # byte-identical JSON lines
    gone = runwire("gc", "--keep-last", "0", "--store", url)
    assert gone.returncode == 0 and "deleted 1 finished run(s)" in gone.stderr


def test_a_live_run_of_another_system_is_listed_and_read(url: str) -> None:
    child = subprocess.Popen(
        [sys.executable, str(CHILD), "hold", url], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert child.stdout is not None
        line = child.stdout.readline()
        assert line.startswith("run "), line
        run_id = line.split()[1]
        listed = runwire("runs", "--json", "--state", "running", "--store", url)
        assert [json.loads(x)["run_id"] for x in listed.stdout.splitlines()] == [run_id]
        read = runwire("events", run_id, "--store", url)
        assert read.returncode == 0 and "run.milestone" in read.stdout
    finally:
        child.kill()
        child.communicate(timeout=30)


@pytest.mark.parametrize("command", [["runs"], ["cancel", "x"], ["demo", "--steps", "1"]])
def test_a_refused_connection_or_bad_password_is_one_line_without_the_password(command: list[str]) -> None:
    base = postgres_url()
    refused = "postgresql://someone:secret-pw-1@127.0.0.1:1/db"
    bad_password = base.replace("postgres@", "runwire_pw:secret-pw-2@", 1)  # .ci/postgres: a scram role
    for target, why in ((refused, "Connection refused"), (bad_password, "password authentication failed")):
        done = runwire(*command, "--store", target)
        assert done.returncode == 1, done.stderr
        assert done.stdout == ""
        assert done.stderr.count("\n") == 1 and why in done.stderr, done.stderr
        assert "secret-pw" not in done.stderr and ":***@" in done.stderr


def test_events_follow_and_cancel_from_the_cli_of_another_process(url: str) -> None:
    """`runwire events --follow` tails the run live to the terminal that `runwire cancel` (a third
    process) got committed; the owner's own log agrees."""
    child = subprocess.Popen(
        [sys.executable, str(CHILD), "hold", url], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    follower: subprocess.Popen[str] | None = None
    try:
        assert child.stdout is not None and child.stdin is not None
        line = child.stdout.readline()
        assert line.startswith("run "), line
        run_id = line.split()[1]
        follower = subprocess.Popen(
            [*CLI, "events", run_id, "--follow", "--json", "--store", url],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert follower.stdout is not None
        assert json.loads(follower.stdout.readline())["type"] == "run.started"  # it is reading
        child.stdin.write("from the owner\n")
        child.stdin.flush()
        cancelled = runwire("cancel", run_id, "--reason", "from the CLI", "--store", url)
        assert cancelled.returncode == 0, cancelled.stderr
        assert f"run {run_id}: cancelled" in cancelled.stderr
        rest = follower.stdout.read()  # to EOF: the follower exits after the terminal (test timeout bounds it)
        assert follower.wait(60) == 0, follower.stderr.read() if follower.stderr else ""
        tail = [json.loads(x) for x in rest.splitlines()]
        assert tail[-1]["type"] == "run.cancelled" and tail[-1]["reason"] == "from the CLI"
        assert [e["seq"] for e in tail] == list(range(2, tail[-1]["seq"] + 1))  # each once, in order
        assert child.stdout.readline().split() == ["ended", "run.cancelled"]
    finally:
        for proc in (follower, child):
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.communicate(timeout=30)
