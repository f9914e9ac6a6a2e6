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


class Held:
    """A run held open by a RunSystem in another process sharing the store (tests/store/system_child.py)."""

    def __init__(self, data: Path) -> None:
        self.child = subprocess.Popen(
            [sys.executable, str(CHILD), "hold", str(data / "runs.sqlite3")],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert self.child.stdin is not None and self.child.stdout is not None
        line = self.child.stdout.readline().split()
        assert line and line[0] == "run", self.child.stderr.read() if self.child.stderr else ""
        self.run_id = line[1]
        self.released = False

    def release(self) -> None:
        """Let the run finish (or, if it was cancelled, let the child close) and wait for the child."""
        if self.released:
            return
        self.released = True
        assert self.child.stdin is not None and self.child.stdout is not None
        self.child.stdin.write("go\n")
        self.child.stdin.flush()
        assert self.child.stdout.readline().strip() == "done"

    def close(self) -> None:
        if self.child.poll() is None:
            self.child.kill()
        self.child.wait(30)


@pytest.fixture
def held(data: Path) -> Iterator[Held]:
    run = Held(data)
    try:
        yield run
        run.release()
    finally:
        run.close()


def test_a_run_of_another_process_is_read_up_to_its_last_commit_without_follow(data: Path, held: Held) -> None:
    read = runwire(data, "events", held.run_id, "--json")
    assert read.returncode == 0
    assert [json.loads(x)["type"] for x in read.stdout.splitlines()] == ["run.started", "run.milestone"]
    assert "still running in another process" in one_line_error(read)


def test_cli_follows_a_run_of_another_process_live_to_its_terminal(data: Path, held: Held) -> None:
    env = {**os.environ, "RUNWIRE_DATA_DIR": str(data)}
    follower = subprocess.Popen(
        [RUNWIRE, "events", held.run_id, "--follow", "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
    )
    try:
        assert follower.stdout is not None
        first = [follower.stdout.readline(), follower.stdout.readline()]  # committed before it started
        held.release()  # now the run goes on, live, in the owner's process
        rest, err = follower.communicate(timeout=60)
    finally:
        if follower.poll() is None:
            follower.kill()
    assert follower.returncode == 0, err
    lines = first + rest.splitlines(keepends=True)
    events = [json.loads(line) for line in lines]
    assert [e["type"] for e in events] == ["run.started", "run.milestone", "run.completed"]
    assert [e["seq"] for e in events] == [1, 2, 3]  # each once, in order, the terminal last
    stored = runwire(data, "events", held.run_id, "--json")
    assert stored.stdout == b"".join(lines)  # the same bytes as stored


def test_cli_cancels_a_run_of_another_process(data: Path, held: Held) -> None:
    cancelled = runwire(data, "cancel", held.run_id, "--reason", "from the CLI")
    assert cancelled.returncode == 0, cancelled.stderr
    assert f"run {held.run_id}: cancelled" in one_line_error(cancelled)
    with SqliteRunStore(data / "runs.sqlite3") as store:  # committed when cancel returned
        terminal = store.get_run(held.run_id).terminal  # type: ignore[union-attr]
    assert terminal is not None and terminal.type == "run.cancelled" and terminal.reason == "from the CLI"
    again = runwire(data, "cancel", held.run_id)
    assert again.returncode == 0 and "already ended: cancelled" in one_line_error(again)


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
