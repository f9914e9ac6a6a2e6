"""Retention: gc deletes finished runs in bounded transactions and the file stops growing."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from store_helpers import sample_events

from runwire.actors.store import SqliteRunStore
from runwire.actors.store._maintenance import GcJob
from runwire.protocol import RunCompleted


def _finish(store: SqliteRunStore, run_id: str, ended: datetime, events: int = 3) -> None:
    store.create_run(run_id, "demo")
    log = sample_events(run_id, events)
    log[-1] = RunCompleted(run_id=run_id, seq=events, ts=ended)
    store.append(log)


def test_gc_keep_last_and_older_than(any_store: SqliteRunStore) -> None:
    """On SQLite and PostgreSQL."""
    now = datetime.now(UTC)
    for i in range(6):
        _finish(any_store, f"old{i}", now - timedelta(days=10, minutes=i))
    for i in range(3):
        _finish(any_store, f"new{i}", now - timedelta(minutes=i))
    any_store.create_run("live", "demo")
    any_store.append(sample_events("live", 2, terminal=False))
    any_store.create_run("ancient-live", "demo", created_at=now - timedelta(days=99))
    any_store.flush(5)

    assert any_store.gc(older_than=timedelta(days=1), keep_last=8) == 1  # only old5 is both old and beyond 8
    assert any_store.get_run("old5") is None
    assert any_store.read_events("old5") == []
    assert any_store.gc(older_than=timedelta(days=1)) == 5
    assert any_store.gc(keep_last=1) == 2
    assert sorted(r.run_id for r in any_store.list_runs()) == ["ancient-live", "live", "new0"]
    assert any_store.gc(keep_last=0) == 1
    # runs in flight are never deleted, however old
    assert sorted(r.run_id for r in any_store.list_runs()) == ["ancient-live", "live"]
    assert [r.seq for r in any_store.read_events_raw("live")] == [1, 2]


def test_gc_deletes_in_chunks_of_bounded_size(store: SqliteRunStore) -> None:
    ended = datetime(2024, 1, 1, tzinfo=UTC)
    for i in range(1200):
        _finish(store, f"r{i:04}", ended + timedelta(seconds=i), events=2)
    store.flush(10)
    conn = sqlite3.connect(store.path, isolation_level=None)
    try:
        job = GcJob(cutoff=None, keep_last=100)
        steps = []
        while True:
            before = job.deleted
            finished = job.step(conn, {})
            steps.append(job.deleted - before)
            if finished:
                break
    finally:
        conn.close()
    assert steps == [500, 500, 100]
    assert [r.run_id for r in store.list_runs(limit=1000)][-1] == "r1100"  # the oldest 1100 went


def test_gc_behind_queued_writes_keeps_live_runs(any_store: SqliteRunStore) -> None:
    """On SQLite and PostgreSQL."""
    ended = datetime(2024, 1, 1, tzinfo=UTC)
    for i in range(1100):
        _finish(any_store, f"r{i}", ended, events=2)
    any_store.create_run("live", "demo")
    any_store.append(sample_events("live", 50, terminal=False))
    assert any_store.gc(keep_last=0) == 1100
    any_store.flush(5)
    assert [r.run_id for r in any_store.list_runs()] == ["live"]
    assert len(any_store.read_events_raw("live")) == 50


def _soak(store: SqliteRunStore, cycles: int) -> list[int]:
    pages = []
    for cycle in range(cycles):
        for i in range(60):
            run_id = f"c{cycle}-{i}"
            store.create_run(run_id, "demo", {"cycle": cycle})
            store.append(sample_events(run_id, 30))
        store.flush(10)
        store.gc(keep_last=40)
        pages.append(store.page_stats()[0])
    return pages


def test_soak_file_stays_bounded(store: SqliteRunStore) -> None:
    pages = _soak(store, 12)
    assert max(pages[3:]) <= max(pages[:3]) * 1.1, pages
    assert store.page_stats()[1] <= 8  # incremental vacuum handed free pages back
    assert len(store.list_runs(limit=1000)) == 40


def test_soak_without_auto_vacuum_reuses_free_pages(v1_db: Path, open_store: Callable[..., SqliteRunStore]) -> None:
    store = open_store(v1_db)  # made by v1 without auto_vacuum: freed pages are reused
    pages = _soak(store, 12)
    assert max(pages[3:]) <= max(pages[:3]) * 1.1, pages
