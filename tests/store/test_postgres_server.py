"""The CI PostgreSQL server is real, reachable on loopback, and supports LISTEN/NOTIFY."""

from __future__ import annotations

import pytest
from pg_server import postgres_url

psycopg = pytest.importorskip("psycopg")


def test_ci_postgres_server_accepts_connections_and_delivers_notify() -> None:
    url = postgres_url()
    with psycopg.connect(url, autocommit=True) as listener, psycopg.connect(url, autocommit=True) as sender:
        version = listener.execute("SHOW server_version_num").fetchone()
        assert version is not None and int(version[0]) >= 150000
        listener.execute("LISTEN runwire_test")
        sender.execute("SELECT pg_notify('runwire_test', 'run-1')")
        got = next(listener.notifies(timeout=10, stop_after=1))
        assert (got.channel, got.payload) == ("runwire_test", "run-1")
