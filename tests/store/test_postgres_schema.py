"""PostgreSQL schema versions: a v1 schema upgrades keeping its runs, concurrent opens of a new
schema migrate it once, and a foreign or newer schema is refused naming the store."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import psycopg
import pytest
from pg_server import drop_schema, fresh_schema, postgres_url
from store_helpers import sample_events

from runwire.actors.postgres import PostgresRunStore
from runwire.actors.store import SCHEMA_VERSION, StoreError
from runwire.protocol import dump_event

# The first released PostgreSQL schema, written out literally (not imported) as v1 left it.
V1 = (
    "CREATE TABLE schema_version (version INTEGER NOT NULL)",
    "INSERT INTO schema_version (version) VALUES (1)",
    """CREATE TABLE runs (run_id TEXT PRIMARY KEY, pipeline TEXT NOT NULL, inputs TEXT NOT NULL,
        parent_run_id TEXT, state TEXT NOT NULL, created_at DOUBLE PRECISION NOT NULL,
        started_at DOUBLE PRECISION, ended_at DOUBLE PRECISION, terminal BYTEA)""",
    """CREATE TABLE events (run_id TEXT NOT NULL, seq BIGINT NOT NULL, type TEXT NOT NULL,
        ts DOUBLE PRECISION NOT NULL, data BYTEA NOT NULL, PRIMARY KEY (run_id, seq))""",
    "CREATE INDEX runs_created ON runs (created_at)",
)


@pytest.fixture
def schema() -> Iterator[str]:
    name = fresh_schema()
    yield name
    drop_schema(postgres_url(), name)


def _sql(schema: str, *statements: str, params: tuple[object, ...] = ()) -> None:
    with psycopg.connect(postgres_url(), autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
        conn.execute(f'SET search_path = "{schema}"')
        for statement in statements:
            conn.execute(statement, params if "%s" in statement else ())


def test_a_v1_schema_upgrades_and_keeps_its_runs(schema: str) -> None:
    _sql(schema, *V1)
    done = sample_events("v1-done", 3)
    _sql(
        schema,
        "INSERT INTO runs VALUES ('v1-done', 'demo', '{}', NULL, 'completed', 100.0, 101.0, 102.0, %s)",
        params=(dump_event(done[-1]),),
    )
    _sql(schema, "INSERT INTO runs VALUES ('v1-live', 'demo', '{}', 'loop', 'running', 200.0, 201.0, NULL, NULL)")
    for ev in [*done, *sample_events("v1-live", 2, terminal=False)]:
        _sql(
            schema,
            "INSERT INTO events VALUES (%s, %s, %s, %s, %s)",
            params=(ev.run_id, ev.seq, ev.type, ev.ts.timestamp(), dump_event(ev)),
        )
    with PostgresRunStore(postgres_url(), schema=schema) as store:
        assert [r.data for r in store.read_events_raw("v1-done")] == [dump_event(e) for e in done]
        assert store.get_run("v1-done").terminal == done[-1]
        assert store.recover() == ["v1-live"]  # no owner recorded in v1: closed as left by a dead process
        assert [e.type for e in store.read_events("v1-live")] == ["run.started", "text.delta", "run.failed"]
    with psycopg.connect(postgres_url(), autocommit=True) as conn:
        row = conn.execute(f'SELECT version FROM "{schema}".schema_version').fetchone()
    assert row == (SCHEMA_VERSION,)


def test_concurrent_opens_of_a_new_schema_migrate_it_once(schema: str) -> None:
    stores: list[PostgresRunStore] = []
    errors: list[BaseException] = []
    lock = threading.Lock()
    url = postgres_url()  # here, not in the threads: it skips the test without a server

    def open_one() -> None:
        try:
            opened = PostgresRunStore(url, schema=schema)
        except BaseException as exc:
            errors.append(exc)
            return
        with lock:
            stores.append(opened)

    threads = [threading.Thread(target=open_one) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    for store in stores:
        store.close()
    assert errors == []
    assert len(stores) == 4


def test_a_foreign_or_newer_schema_is_refused_naming_the_store(schema: str) -> None:
    _sql(schema, "CREATE TABLE invoices (id INTEGER)")
    with pytest.raises(StoreError, match="another application") as info:
        PostgresRunStore(postgres_url(), schema=schema)
    assert "invoices" in str(info.value) and f"schema={schema}" in str(info.value)
    other = fresh_schema()
    try:
        _sql(other, "CREATE TABLE schema_version (version INTEGER NOT NULL)", "INSERT INTO schema_version VALUES (99)")
        with pytest.raises(StoreError, match="v99 is newer"):
            PostgresRunStore(postgres_url(), schema=other)
    finally:
        drop_schema(postgres_url(), other)


def test_bad_arguments_fail_at_the_call() -> None:
    for kwargs, match in (
        ({"schema": "Bad-Name"}, "schema must be"),
        ({"lease": 0.01}, "lease must be"),
        ({"pool_size": 0}, "pool_size must be"),
        ({"durability": "sometimes"}, "durability"),
    ):
        with pytest.raises(ValueError, match=match):
            PostgresRunStore("postgresql://nobody@127.0.0.1:1/x", **kwargs)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="not a PostgreSQL URL"):
        PostgresRunStore("mysql://x/y")
    with pytest.raises(ValueError, match=r"lease=.*not a number"):
        PostgresRunStore("postgresql://nobody@127.0.0.1:1/x?lease=soon")
