"""Opening files: fresh, schema v1 (upgrade path), newer, corrupt and foreign databases."""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from store_helpers import sample_events

from runwire.actors.store import SCHEMA_VERSION, SqliteRunStore, StoreError
from runwire.actors.store._schema import APPLICATION_ID
from runwire.protocol import RunFailed, dump_event


def _pragma(path: Path, name: str) -> object:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(f"PRAGMA {name}").fetchone()[0]
    finally:
        conn.close()


def _version(path: Path) -> int:
    conn = sqlite3.connect(path)
    try:
        return int(conn.execute("SELECT version FROM schema_version").fetchone()[0])
    finally:
        conn.close()


def test_fresh_file_gets_the_current_schema(store: SqliteRunStore) -> None:
    assert SCHEMA_VERSION >= 2
    assert _version(store.path) == SCHEMA_VERSION
    assert _pragma(store.path, "application_id") == APPLICATION_ID
    assert _pragma(store.path, "auto_vacuum") == 2  # incremental
    assert _pragma(store.path, "journal_mode") == "wal"


def test_v1_file_upgrades_and_keeps_its_runs(v1_db: Path, open_store: Callable[..., SqliteRunStore]) -> None:
    assert _version(v1_db) == 1
    store = open_store(v1_db)
    assert _version(v1_db) == SCHEMA_VERSION

    done = store.get_run("v1-done")
    assert done is not None
    assert (done.state, done.last_seq, done.inputs, done.created_at.timestamp()) == (
        "completed",
        3,
        {"repo": "x"},
        100.0,
    )
    assert done.terminal == sample_events("v1-done", 3)[-1]
    assert [r.data for r in store.read_events_raw("v1-done")] == [dump_event(e) for e in sample_events("v1-done", 3)]

    # v1 had no owners: its in-flight run belongs to nobody alive, so recovery closes it
    assert store.recover() == ["v1-live"]
    live = store.read_events("v1-live")
    assert [e.seq for e in live] == [1, 2, 3]
    assert isinstance(live[-1], RunFailed)
    assert live[-1].parent_run_id == "loop-9"

    # and the upgraded file takes new runs
    store.create_run("new", "demo")
    store.append(sample_events("new", 3))
    store.flush(5)
    conn = sqlite3.connect(v1_db)  # the event_log view shows the log the way v1 stored it
    assert conn.execute("SELECT seq, type FROM event_log WHERE run_id = 'v1-done' ORDER BY seq").fetchall() == [
        (1, "run.started"),
        (2, "text.delta"),
        (3, "run.completed"),
    ]
    conn.close()
    assert [(r.run_id, r.state) for r in store.list_runs()] == [
        ("new", "completed"),
        ("v1-live", "failed"),
        ("v1-done", "completed"),
    ]


def test_newer_schema_is_refused(store: SqliteRunStore) -> None:
    store.close()
    conn = sqlite3.connect(store.path)
    conn.execute("UPDATE schema_version SET version = ?", (SCHEMA_VERSION + 1,))
    conn.commit()
    conn.close()
    with pytest.raises(StoreError, match="newer than this runwire supports") as info:
        SqliteRunStore(store.path)
    assert str(store.path) in str(info.value)


def test_random_bytes_are_refused_with_the_file_name(db_path: Path) -> None:
    db_path.parent.mkdir(parents=True)
    db_path.write_bytes(os.urandom(64 * 1024))
    with pytest.raises(StoreError, match="not a database") as info:
        SqliteRunStore(db_path)
    assert str(db_path) in str(info.value)
    assert isinstance(info.value.__cause__, sqlite3.DatabaseError)


def test_corrupt_pages_are_refused(db_path: Path) -> None:
    db_path.parent.mkdir(parents=True)
    conn = sqlite3.connect(db_path)
    conn.execute("CREATE TABLE t (x)")
    conn.commit()
    conn.close()
    data = bytearray(db_path.read_bytes())
    data[100:4096] = os.urandom(4096 - 100)  # the schema page, after the header
    db_path.write_bytes(bytes(data))
    with pytest.raises(StoreError) as info:
        SqliteRunStore(db_path)
    assert str(db_path) in str(info.value)


@pytest.mark.parametrize("app_id", [0, 1234])
def test_another_application_s_database_is_refused(db_path: Path, app_id: int) -> None:
    db_path.parent.mkdir(parents=True)
    conn = sqlite3.connect(db_path)
    conn.executescript(
        f"PRAGMA application_id = {app_id}; CREATE TABLE customers (id, name); CREATE TABLE orders (id);"
    )
    conn.close()
    with pytest.raises(StoreError, match="another application") as info:
        SqliteRunStore(db_path)
    assert "customers, orders" in str(info.value)
    assert str(db_path) in str(info.value)
    assert _pragma(db_path, "journal_mode") == "delete"  # untouched: not even switched to WAL
    assert sorted(p.name for p in db_path.parent.iterdir()) == [db_path.name]


def test_a_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="directory"):
        SqliteRunStore(tmp_path)


def test_concurrent_opens_of_a_new_file_migrate_it_once(db_path: Path) -> None:
    stores: list[SqliteRunStore] = []
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def open_it() -> None:
        start.wait()
        try:
            stores.append(SqliteRunStore(db_path))
        except BaseException as exc:  # pragma: no cover - reported by the assert below
            errors.append(exc)

    threads = [threading.Thread(target=open_it) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for s in stores:
        s.close()
    assert errors == []
    assert _version(db_path) == SCHEMA_VERSION
