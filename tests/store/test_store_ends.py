"""A run the store marks ended always has its terminal stored (issue 13, item 5; "Also seen").

Real SQLite files in tmp_path; a full disk is the store's ``max_db_bytes`` cap. A restart is a
new RunSystem on the same file, with nothing of the first in memory.
"""

from __future__ import annotations

import json
import shlex
import shutil
import subprocess
import sys
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from runwire.actors import RunContext, RunSystem
from runwire.actors.store import SqliteRunStore, StoreError
from runwire.actors.store._replay import GAP_REASON_NOT_STORED
from runwire.protocol import TERMINAL_TYPES, RunEvent, dump_event


def _flood_then_hold(release: threading.Event) -> Any:
    def pipeline(ctx: RunContext) -> None:
        ctx.log("before the flood")
        ctx.delta("blob", "x" * (2 * 2**20))  # too big for the 256 KiB "disk"
        ctx.log("after the flood")
        release.wait(30)

    return pipeline


def assert_every_seq_delivered_or_declared(events: list[RunEvent]) -> None:
    """seq 1..last each delivered once or covered by a stream.gap; one terminal, last."""
    covered: list[int] = []
    for event in events:
        if event.type == "stream.gap":
            covered += range(event.from_seq, event.to_seq + 1)  # type: ignore[attr-defined]
        else:
            covered.append(event.seq)
    assert covered == list(range(1, events[-1].seq + 1))
    assert [e.type in TERMINAL_TYPES for e in events].count(True) == 1
    assert events[-1].type in TERMINAL_TYPES


def test_a_run_failed_by_a_store_write_error_has_its_terminal_stored_for_a_new_process(tmp_path: Path) -> None:
    db = tmp_path / "runs.sqlite3"
    store = SqliteRunStore(db, max_db_bytes=256 * 1024)
    release = threading.Event()
    try:
        with RunSystem(store=store) as first:
            big = first.start(_flood_then_hold(release), name="big")
            live = list(big.events(timeout=10))
            release.set()
            terminal = live[-1]
            assert (terminal.type, terminal.error_type) == ("run.failed", "StoreWriteError")  # type: ignore[union-attr]
    finally:
        store.close()

    with RunSystem(store=db) as second:  # a new process: nothing of the first is in memory
        info = second.get(big.run_id)
        assert info.from_store and info.state == "failed"
        assert info.terminal is not None and dump_event(info.terminal) == dump_event(terminal)
        assert info.last_seq == terminal.seq
        handle = second.handle(big.run_id)
        assert dump_event(handle.wait(1)) == dump_event(terminal)  # not "running in another process"
        replay = list(handle.events())
        assert dump_event(replay[-1]) == dump_event(terminal)  # ends on the terminal, not a log line
        assert_every_seq_delivered_or_declared(replay)
        gaps = [e for e in replay if e.type == "stream.gap"]
        assert gaps and all(g.reason == GAP_REASON_NOT_STORED for g in gaps)  # type: ignore[attr-defined]
        assert list(handle.events()) == replay  # every read of the stored log is the same
        assert [i.run_id for i in second.runs(state="failed")] == [big.run_id]


def test_an_old_cursor_on_a_run_with_a_failed_write_gets_each_event_once_or_a_gap(tmp_path: Path) -> None:
    """The bus keeps 2 events; an older cursor is filled from the store, whose log has a hole
    (the failed write) and then the terminal: no event twice, none skipped silently."""
    store = SqliteRunStore(tmp_path / "runs.sqlite3", max_db_bytes=256 * 1024)
    release = threading.Event()
    acked: set[int] = set()
    committed = threading.Condition()

    def on_commit(acks: Mapping[str, int]) -> None:
        if "holed" in acks:
            with committed:
                acked.add(acks["holed"])
                committed.notify_all()

    store.add_commit_listener(on_commit)
    try:
        with RunSystem(store=store, retain_events=2) as system:

            def pipeline(ctx: RunContext) -> None:
                for i in range(5):
                    ctx.log(f"line {i}")
                ctx.delta("blob", "x" * (2 * 2**20))
                for i in range(20):
                    ctx.log(f"late {i}")
                release.wait(30)

            handle = system.start(pipeline, run_id="holed")
            live = list(handle.events(timeout=10, policy="block"))
            release.set()
            assert live[-1].type == "run.failed"
            with committed:  # the terminal is stored again after the failed write: wait for it
                assert committed.wait_for(lambda: live[-1].seq in acked, 10)
            replay = list(handle.events(after_seq=0, timeout=10))
            assert_every_seq_delivered_or_declared(replay)
            assert dump_event(replay[-1]) == dump_event(live[-1])
            assert [e.reason for e in replay if e.type == "stream.gap"]  # type: ignore[attr-defined]
    finally:
        store.close()


def test_an_empty_database_file_is_refused_with_an_error_naming_it(tmp_path: Path) -> None:
    """A store file truncated to 0 bytes must not open as a new, empty store (its runs gone
    without a word): every way of opening it refuses, naming the file, and leaves it as it is."""
    db = tmp_path / "runs.sqlite3"
    with RunSystem(store=db) as system:
        system.start(lambda ctx: "kept").wait(10)
    db.write_bytes(b"")  # truncated
    for open_it in (
        lambda: SqliteRunStore(db),
        lambda: SqliteRunStore(db, read_only=True),
        lambda: RunSystem(store=db),
    ):
        with pytest.raises(StoreError, match="empty") as info:
            open_it()
        assert str(db) in str(info.value)
    assert db.stat().st_size == 0
    fresh = tmp_path / "new.sqlite3"  # a file that does not exist yet is a new store, as before
    with RunSystem(store=fresh) as system:
        assert system.start(lambda ctx: 1).wait(10).type == "run.completed"


_READ_ONLY_CHILD = """
import json, sys, threading
from runwire.actors import RunSystem
path, run_id = sys.argv[1], sys.argv[2]
with RunSystem(store=path) as system:
    info = system.get(run_id)
    replay = [e.type for e in system.handle(run_id).events()]
    ended = threading.Event()  # the run holds until it has a terminal: the store answers first
    handle = system.start(lambda ctx: ended.wait(10) and "x")
    handle.on_terminal(lambda terminal: ended.set())
    new = handle.wait(10)
    print(json.dumps({"state": info.state, "replay": replay, "new": [new.type, getattr(new, "error_type", None)]}))
"""


def test_a_store_on_a_read_only_mount_is_opened_read_only_and_serves_its_runs(tmp_path: Path) -> None:
    """A real read-only bind mount (a private mount namespace, so nothing outside sees it):
    RunSystem(store=path) opens, stored runs are readable, a new run fails with StoreWriteError."""
    if shutil.which("unshare") is None or subprocess.run(["unshare", "-m", "true"], check=False).returncode:
        pytest.skip("needs unshare -m (a private mount namespace) for a read-only mount")
    directory = tmp_path / "ro"
    directory.mkdir()
    db = directory / "runs.sqlite3"
    with RunSystem(store=db) as system:
        run_id = system.start(lambda ctx: "kept").run_id
        system.handle(run_id).wait(10)
    script = (
        f"mount --bind {directory} {directory} && mount -o remount,bind,ro {directory} && "
        f"exec {sys.executable} -c {shlex.quote(_READ_ONLY_CHILD)} {db} {run_id}"
    )
    done = subprocess.run(
        ["unshare", "-m", "sh", "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result == {
        "state": "completed",
        "replay": ["run.started", "run.completed"],
        "new": ["run.failed", "StoreWriteError"],
    }
    assert "opened read-only" in done.stderr
