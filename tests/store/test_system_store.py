"""A RunSystem persisting to a real SQLite store: every event stored, faults, recovery (replay, gap
fill, info and runs: tests/test_stored_reads.py, on every store back-end).

Real files in tmp_path, real threads and a real SIGKILLed child process; no mocks, no sleeps.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from runwire.actors import RunContext, RunSystem
from runwire.actors.store import SqliteRunStore, StoreWriteError
from runwire.actors.store import _attach as attach
from runwire.protocol import TERMINAL_TYPES, dump_event, parse_event
from tests.helpers import assert_well_formed, every_kind  # tests/store is no package: import by the root one

CHILD = Path(__file__).with_name("system_child.py")


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "runs.sqlite3"


@pytest.fixture
def stored_system(db: Path) -> Iterator[RunSystem]:
    with RunSystem(store=db) as system:
        yield system


def test_every_event_is_stored_byte_for_byte_from_seq_1(stored_system: RunSystem) -> None:
    handle = stored_system.start(every_kind, {"repo": "x"}, name="kinds", parent_run_id="loop-1", step=2)
    live = list(handle.events(timeout=10))
    store = stored_system.store
    assert store is not None
    store.flush(10)
    raw = store.read_events_raw(handle.run_id)
    assert [r.data for r in raw] == [dump_event(e) for e in live]
    assert_well_formed(live)
    rec = store.get_run(handle.run_id)
    assert rec is not None
    assert (rec.pipeline, rec.state, rec.inputs, rec.parent_run_id) == ("kinds", "completed", {"repo": "x"}, "loop-1")
    assert rec.last_seq == live[-1].seq
    assert [c.run_id for c in store.list_runs(parent_run_id="loop-1")] == [handle.run_id]


def _emit_then_hold(release: threading.Event, text: str) -> Any:
    """Emit ``text``, then wait: the run cannot complete before the store has answered."""

    def pipeline(ctx: RunContext) -> None:
        ctx.delta("blob", text)
        release.wait(30)

    return pipeline


def test_a_write_the_store_refuses_fails_that_run_and_others_go_on(db: Path) -> None:
    store = SqliteRunStore(db, max_db_bytes=256 * 1024)  # a small "disk"
    release = threading.Event()
    try:
        with RunSystem(store=store) as system:
            big = system.start(_emit_then_hold(release, "x" * (2 * 2**20)), name="big")
            live = list(big.events(timeout=10))
            release.set()
            terminal = live[-1]
            assert terminal.type == "run.failed"
            assert terminal.error_type == "StoreWriteError"
            assert "full" in terminal.message and str(db) in terminal.message
            small = system.start(every_kind, name="small")
            assert small.wait(10).type == "run.completed"
            with pytest.raises(StoreWriteError) as failed:  # the next flush reports the failed write too
                store.flush(10)
            assert failed.value.run_ids == (big.run_id,)
            store.flush(10)
            assert store.get_run(small.run_id).state == "completed"  # type: ignore[union-attr]
            stored = store.read_events(big.run_id)
            *prefix, last = stored  # a contiguous prefix, then the terminal (stored even so)
            assert [e.seq for e in prefix] == list(range(1, len(prefix) + 1))
            assert all(e.type not in TERMINAL_TYPES for e in prefix)
            assert dump_event(last) == dump_event(terminal)
            assert store.get_run(big.run_id).state == "failed"  # type: ignore[union-attr]  # not "running"
    finally:
        store.close()


def test_a_read_only_store_fails_runs_with_a_clear_error(db: Path, caplog: pytest.LogCaptureFixture) -> None:
    SqliteRunStore(db).close()  # an existing store file
    store = SqliteRunStore(db, read_only=True)
    release = threading.Event()
    try:
        with caplog.at_level(logging.WARNING, "runwire.store"), RunSystem(store=store) as system:
            terminal = system.start(_emit_then_hold(release, "hello")).wait(10)
            release.set()
            assert terminal.type == "run.failed"
            assert terminal.error_type == "StoreWriteError"
            assert "read-only" in terminal.message
            assert system.get(system.start(every_kind).run_id).run_id  # the system still serves
        assert "recovery skipped" in caplog.text
    finally:
        store.close()


def _deltas(ctx: RunContext) -> None:
    for _ in range(int(ctx.inputs["n"])):  # type: ignore[arg-type]
        ctx.delta("a", "t")


def test_a_small_store_window_holds_the_producer_and_loses_nothing(db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(attach, "WINDOW", 8)  # FULL after 8 uncommitted events: exercises hold/resume
    with RunSystem(store=db) as system:
        handle = system.start(_deltas, {"n": 3000})
        live = list(handle.events(timeout=20, policy="block"))
        assert system.store is not None
        system.store.flush(10)
        assert [r.data for r in system.store.read_events_raw(handle.run_id)] == [dump_event(e) for e in live]
    assert len(live) == 3002


def test_a_run_of_another_live_system_is_followed_live_and_cancelled(db: Path) -> None:
    """Two systems, two stores, one file: the second follows and cancels the first one's run."""
    release = threading.Event()

    def held(ctx: RunContext) -> str:
        ctx.milestone("holding")
        release.wait(30)
        return "done"

    with RunSystem(store=db) as owner, RunSystem(store=db) as other:  # two stores, two owners
        followed = owner.start(held)
        next(e for e in followed.events(timeout=10) if e.type == "run.milestone")
        assert owner.store is not None
        owner.store.flush(10)
        info = other.get(followed.run_id)
        assert info.from_store and info.state == "running" and info.terminal is None
        stream = iter(other.handle(followed.run_id).events(timeout=10))
        assert [next(stream).type, next(stream).type] == ["run.started", "run.milestone"]
        release.set()
        rest = list(stream)  # the live tail, to the terminal
        assert [e.type for e in rest] == ["run.completed"]
        assert rest[-1] == followed.wait(10)

        release.clear()
        cancelled = owner.start(held)
        next(e for e in cancelled.events(timeout=10) if e.type == "run.milestone")
        owner.store.flush(10)
        terminal = other.handle(cancelled.run_id).cancel("from the other system", timeout=10)
        assert terminal.type == "run.cancelled" and terminal.reason == "from the other system"
        assert owner.store.get_run(cancelled.run_id).terminal == terminal  # committed before cancel returned
        assert cancelled.wait(10) == terminal
        release.set()


def test_sigkilled_system_loses_no_acknowledged_event_and_is_recovered_at_start(db: Path) -> None:
    child = subprocess.Popen(
        [sys.executable, str(CHILD), "crash", str(db)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert child.stdout is not None
        header = child.stdout.readline().split()
        assert header[0] == "run", child.stderr.read() if child.stderr else ""
        run_id = header[1]
        acked = 0
        for _ in range(20):  # twenty commits in: mid-run
            line = child.stdout.readline()
            assert line.startswith("ack "), line
            acked = max(acked, int(line.split()[1]))
        os.kill(child.pid, signal.SIGKILL)
        rest, _ = child.communicate(timeout=30)  # acks printed before the kill
        acked = max([acked] + [int(x.split()[1]) for x in rest.splitlines() if x.startswith("ack ")])
    finally:
        if child.poll() is None:
            child.kill()
        child.wait(30)
    assert child.returncode == -signal.SIGKILL
    with RunSystem(store=db) as system:  # recovery happens when the system opens the store
        info = system.get(run_id)
        assert info.state == "failed" and info.terminal is not None
        assert info.terminal.error_type == "ProcessExited"  # type: ignore[union-attr]
        events = list(system.handle(run_id).events())
    assert_well_formed(events)
    assert events[-1].seq - 1 >= acked  # zero acknowledged events lost
    assert events[0].type == "run.started"
    logs = [getattr(e, "message", None) for e in events if e.type == "run.log"]
    assert logs == [f"line {i}" for i in range(1, len(logs) + 1)]
    assert parse_event(dump_event(events[-1])) == events[-1]


def test_import_runwire_actors_loads_no_sqlite() -> None:
    out = subprocess.run(
        [sys.executable, "-c", "import sys, runwire.actors; print('sqlite3' in sys.modules)"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert out.stdout.strip() == "False"
