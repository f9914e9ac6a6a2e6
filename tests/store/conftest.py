"""Fixtures for the RunStore tests: real SQLite files in tmp_path, real threads, no mocks."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from runwire.actors.store import SqliteRunStore
from runwire.protocol import RunCompleted, RunEvent, RunProgress, RunStarted, TextDelta, dump_event

CHILD = Path(__file__).with_name("store_child.py")
T0 = datetime(2024, 1, 1, tzinfo=UTC)

# The first released schema, written out literally (not imported) so the upgrade test
# opens a file exactly as runwire v1 left it.
V1_SCHEMA = """
CREATE TABLE schema_version (version INTEGER NOT NULL);
INSERT INTO schema_version (version) VALUES (1);
CREATE TABLE runs (
    run_id TEXT PRIMARY KEY, pipeline TEXT NOT NULL, inputs TEXT NOT NULL, parent_run_id TEXT,
    state TEXT NOT NULL, created_at REAL NOT NULL, started_at REAL, ended_at REAL, terminal BLOB
);
CREATE TABLE events (
    run_id TEXT NOT NULL, seq INTEGER NOT NULL, type TEXT NOT NULL, ts REAL NOT NULL, data BLOB NOT NULL,
    PRIMARY KEY (run_id, seq)
);
CREATE INDEX runs_created ON runs (created_at);
PRAGMA application_id = 1381453394;
"""


def sample_events(run_id: str, n: int, *, terminal: bool = True) -> list[RunEvent]:
    """A run's log: run.started, then deltas and progress, then run.completed (seq 1..n)."""
    events: list[RunEvent] = [
        RunStarted(run_id=run_id, seq=1, ts=T0, pipeline="demo", inputs={"repo": "x"}),
    ]
    for seq in range(2, n + (0 if terminal else 1)):
        ts = T0 + timedelta(milliseconds=seq)
        if seq % 4 == 0:
            events.append(RunProgress(run_id=run_id, seq=seq, ts=ts, current=seq, message="working"))
        else:
            events.append(TextDelta(run_id=run_id, seq=seq, ts=ts, field="summary", text=f"tok{seq} é✓ "))
    if terminal:
        events.append(RunCompleted(run_id=run_id, seq=n, ts=T0 + timedelta(seconds=1), result={"ok": True}))
    return events


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "runs.sqlite3"


@pytest.fixture
def open_store(db_path: Path) -> Iterator[Callable[..., SqliteRunStore]]:
    """Open stores on ``db_path`` (or another path); every one is closed after the test."""
    opened: list[SqliteRunStore] = []

    def _open(path: Path | None = None, **kwargs: object) -> SqliteRunStore:
        store = SqliteRunStore(path or db_path, **kwargs)  # type: ignore[arg-type]
        opened.append(store)
        return store

    yield _open
    for store in opened:
        store.close()


@pytest.fixture
def store(open_store: Callable[..., SqliteRunStore]) -> SqliteRunStore:
    return open_store()


@pytest.fixture
def v1_db(db_path: Path) -> Path:
    """A schema-v1 file with one completed run (3 events) and one running run (2 events)."""
    db_path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(db_path)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.executescript(V1_SCHEMA)
    done = sample_events("v1-done", 3)
    live = sample_events("v1-live", 2, terminal=False)
    conn.execute(
        "INSERT INTO runs VALUES ('v1-done', 'demo', '{\"repo\":\"x\"}', NULL, 'completed', 100.0, 101.0, 102.0, ?)",
        (dump_event(done[-1]),),
    )
    conn.execute("INSERT INTO runs VALUES ('v1-live', 'demo', '{}', 'loop-9', 'running', 200.0, 201.0, NULL, NULL)")
    for ev in done + live:
        conn.execute(
            "INSERT INTO events VALUES (?, ?, ?, ?, ?)",
            (ev.run_id, ev.seq, ev.type, ev.ts.timestamp(), dump_event(ev)),
        )
    conn.commit()
    conn.close()
    return db_path


def spawn_child(*args: str) -> subprocess.Popen[str]:
    """Run tests/store/store_child.py with this interpreter (line-buffered text pipes)."""
    return subprocess.Popen(
        [sys.executable, str(CHILD), *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        bufsize=1,
    )
