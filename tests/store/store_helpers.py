"""Helpers shared by the store tests: sample event logs, the v1 schema, the child process."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from runwire.protocol import RunCompleted, RunEvent, RunProgress, RunStarted, TextDelta

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


def where(store: Any) -> str:
    """How a store's errors name it: the file, or the URL without its password."""
    return str(getattr(store, "url", store.path))


def open_location(location: str, **kwargs: Any) -> Any:
    """The store at a path (SQLite) or at a postgresql:// URL (the PostgreSQL store)."""
    if location.startswith("postgresql://"):
        from runwire.actors.postgres import PostgresRunStore

        return PostgresRunStore(location, **kwargs)
    from runwire.actors.store import SqliteRunStore

    return SqliteRunStore(location, **kwargs)
