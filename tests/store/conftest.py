"""Fixtures for the RunStore tests: real SQLite files in tmp_path, real threads, no mocks."""

from __future__ import annotations

import sqlite3
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # test modules import store_helpers in any import mode

from store_helpers import V1_SCHEMA, open_location, sample_events

from runwire.actors.store import SqliteRunStore
from runwire.protocol import dump_event


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


STORE_BACKENDS = ["sqlite", "postgresql"]


@pytest.fixture(params=STORE_BACKENDS)
def store_backend(request: pytest.FixtureRequest) -> str:
    """The back-end a back-end independent store test runs on (each test runs on both)."""
    return str(request.param)


@pytest.fixture
def store_location(store_backend: str, db_path: Path) -> Iterator[str]:
    """A fresh store location on the back-end: a SQLite file path, or the URL of a PostgreSQL
    schema of its own on the CI server (dropped after the test)."""
    if store_backend == "sqlite":
        db_path.parent.mkdir(parents=True, exist_ok=True)
        yield str(db_path)
        return
    from pg_server import drop_schema, fresh_schema, postgres_url, schema_url

    schema = fresh_schema()
    yield schema_url(schema)
    drop_schema(postgres_url(), schema)


@pytest.fixture
def open_any_store(store_location: str) -> Iterator[Callable[..., Any]]:
    """Open stores on ``store_location``; every one is closed after the test."""
    opened: list[Any] = []

    def _open(**kwargs: Any) -> Any:
        store = open_location(store_location, **kwargs)
        opened.append(store)
        return store

    yield _open
    for store in opened:
        store.close()


@pytest.fixture
def any_store(open_any_store: Callable[..., Any]) -> Any:
    return open_any_store()
