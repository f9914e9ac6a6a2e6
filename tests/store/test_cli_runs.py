"""`runwire runs | show | events | cancel | gc` and persisted CLI runs, driven as a user would.

Real subprocesses with RUNWIRE_DATA_DIR / --data-dir pointing at tmp_path; no mocks, no sleeps.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from runwire.actors import RunContext, RunSystem
from runwire.actors.store import SqliteRunStore

RUNWIRE = shutil.which("runwire") or os.path.join(os.path.dirname(sys.executable), "runwire")
CHILD = Path(__file__).with_name("system_child.py")


def runwire(data: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    env = {**os.environ, "RUNWIRE_DATA_DIR": str(data), "COLUMNS": "200"}
    return subprocess.run([RUNWIRE, *args], capture_output=True, env=env, timeout=60, check=False)


def one_line_error(out: subprocess.CompletedProcess[bytes]) -> str:
    err = out.stderr.decode()
    assert "Traceback" not in err, err
    assert len(err.strip().splitlines()) == 1, err
    return err


@pytest.fixture
def data(tmp_path: Path) -> Path:
    return tmp_path / "data"


def test_a_demo_run_replays_byte_for_byte_from_another_process(data: Path) -> None:
    live = runwire(data, "demo", "--json", "--steps", "3", "--delay", "0")
    assert live.returncode == 0, live.stderr
    run_id = json.loads(live.stdout.splitlines()[0])["run_id"]
    stored = runwire(data, "events", run_id, "--json")
    assert stored.returncode == 0, stored.stderr
    assert stored.stdout == live.stdout  # same bytes, same order, same timestamps
    after = runwire(data, "events", run_id, "--json", "--after", "5")
    assert after.stdout.splitlines() == live.stdout.splitlines()[5:]
    listed = [json.loads(line) for line in runwire(data, "runs", "--json").stdout.splitlines()]
    assert [(r["run_id"], r["pipeline"], r["state"]) for r in listed] == [(run_id, "demo", "completed")]
    assert listed[0]["last_seq"] == len(live.stdout.splitlines())
    table = runwire(data, "runs").stdout.decode()
    assert run_id in table and "completed" in table
    readable = runwire(data, "events", run_id).stdout.decode().splitlines()
    assert len(readable) == len(live.stdout.splitlines()) and "run.completed" in readable[-1]


def test_no_store_persists_nothing_and_data_dir_overrides_the_env(tmp_path: Path, data: Path) -> None:
    assert runwire(data, "demo", "--json", "--steps", "1", "--delay", "0", "--no-store").returncode == 0
    assert not data.exists()
    other = tmp_path / "other"
    assert runwire(data, "demo", "--json", "--steps", "1", "--delay", "0", "--data-dir", str(other)).returncode == 0
    assert (other / "runs.sqlite3").exists() and not data.exists()
    empty = runwire(data, "runs", "--json")
    assert (empty.returncode, empty.stdout) == (0, b"")
    assert not data.exists()  # reading creates no store


def test_show_lists_a_loops_child_runs(data: Path) -> None:
    def step(ctx: RunContext) -> int:
        return int(ctx.inputs["i"])  # type: ignore[arg-type]

    with RunSystem(store=data / "runs.sqlite3") as system:
        parent = system.start(step, {"i": -1}, name="loop")
        children = [system.start(step, {"i": i}, name="step", parent_run_id=parent.run_id, step=i) for i in range(3)]
        for handle in [parent, *children]:
            handle.wait(10)
    shown = runwire(data, "show", parent.run_id, "--json")
    assert shown.returncode == 0, shown.stderr
    doc = json.loads(shown.stdout)
    assert (doc["run_id"], doc["state"], doc["terminal"]["result"]) == (parent.run_id, "completed", -1)
    assert [c["run_id"] for c in doc["children"]] == [c.run_id for c in children]
    text = runwire(data, "show", parent.run_id).stdout.decode()
    assert "3 child run(s)" in text and all(c.run_id in text for c in children)


@pytest.fixture
def live_elsewhere(data: Path) -> Iterator[str]:
    """A run held open by another process sharing the store; yields its run_id."""
    child = subprocess.Popen(
        [sys.executable, str(CHILD), "hold", str(data / "runs.sqlite3")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert child.stdin is not None and child.stdout is not None
    try:
        line = child.stdout.readline().split()
        assert line and line[0] == "run", child.stderr.read() if child.stderr else ""
        yield line[1]
        child.stdin.write("go\n")
        child.stdin.flush()
        assert child.stdout.readline().strip() == "done"
    finally:
        if child.poll() is None:
            child.kill()
        child.wait(30)


def test_a_run_of_another_process_can_be_read_not_followed_nor_cancelled(data: Path, live_elsewhere: str) -> None:
    run_id = live_elsewhere
    read = runwire(data, "events", run_id, "--json")
    assert read.returncode == 0
    assert [json.loads(x)["type"] for x in read.stdout.splitlines()] == ["run.started", "run.milestone"]
    assert "still running in another process" in one_line_error(read)
    followed = runwire(data, "events", run_id, "--follow", "--json")
    assert followed.returncode == 1
    assert "cannot be followed from here" in one_line_error(followed)
    assert len(followed.stdout.splitlines()) == 2  # the committed events came first
    cancelled = runwire(data, "cancel", run_id)
    assert cancelled.returncode == 1
    assert "running in another process" in one_line_error(cancelled)


def _stored_runs(data: Path, n: int) -> list[str]:
    """``n`` finished runs in the store under ``data``, one after the other (made in-process: fast)."""
    ids = []
    with RunSystem(store=data / "runs.sqlite3") as system:
        for _ in range(n):
            handle = system.start(lambda ctx: None, name="noop")
            handle.wait(10)  # ended in this order: gc's "last" is by end time
            ids.append(handle.run_id)
    return ids


def test_cancel_of_an_ended_or_unknown_run(data: Path) -> None:
    (run_id,) = _stored_runs(data, 1)
    ended = runwire(data, "cancel", run_id)
    assert ended.returncode == 0 and "already ended: completed" in ended.stderr.decode()
    for args in (("cancel", "nope"), ("show", "nope"), ("events", "nope")):
        unknown = runwire(data, *args)
        assert unknown.returncode == 2
        assert "unknown run: nope" in one_line_error(unknown)


def test_gc_keeps_the_last_runs(data: Path) -> None:
    ids = _stored_runs(data, 3)
    assert runwire(data, "gc").returncode == 2
    out = runwire(data, "gc", "--keep-last", "1")
    assert out.returncode == 0 and "deleted 2 finished run(s)" in out.stderr.decode()
    with SqliteRunStore(data / "runs.sqlite3") as store:
        assert [r.run_id for r in store.list_runs()] == ids[-1:]
    assert "deleted 0" in runwire(data, "gc", "--older-than", "1").stderr.decode()


def test_a_corrupt_store_file_is_one_clear_line_naming_it(data: Path) -> None:
    data.mkdir()
    db = data / "runs.sqlite3"
    db.write_bytes(b"this is not a database, " * 200)
    for args in (("runs",), ("events", "x"), ("cancel", "x"), ("gc", "--keep-last", "1"), ("demo",)):
        out = runwire(data, *args)
        assert out.returncode == 1, args
        err = one_line_error(out)
        assert str(db) in err and "not a SQLite database" in err, err
    assert "--no-store" in err  # the demo's error says how to run anyway
    assert runwire(data, "runs", "--state", "bogus").returncode == 2
