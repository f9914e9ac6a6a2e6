"""The PostgreSQL server the store tests run against: ``RUNWIRE_TEST_POSTGRES_URL`` (.ci/postgres).

Unset locally: those tests skip and say why. In CI (``CI=1`` or ``HYPOTHESIS_PROFILE=ci``) a
missing server is a failure, so the PostgreSQL half of the suite can never vanish silently.
"""

from __future__ import annotations

import os

import pytest

ENV_URL = "RUNWIRE_TEST_POSTGRES_URL"


def in_ci() -> bool:
    return os.environ.get("CI") == "1" or os.environ.get("HYPOTHESIS_PROFILE") == "ci"


def postgres_url() -> str:
    url = os.environ.get(ENV_URL, "")
    if url:
        return url
    reason = f'{ENV_URL} is unset: start a server with `eval "$(.ci/postgres start)"`'
    if in_ci():
        pytest.fail(f"CI needs PostgreSQL: {reason}")
    pytest.skip(reason)


def fresh_schema() -> str:
    """A new, unused schema name: each test (or system) gets tables of its own on the CI server."""
    import uuid

    return f"t_{uuid.uuid4().hex[:20]}"


def drop_schema(url: str, schema: str) -> None:
    """Drop a test's schema and everything in it (best effort: the CI database is thrown away)."""
    import psycopg

    try:
        with psycopg.connect(url, autocommit=True, connect_timeout=10) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    except psycopg.Error:
        pass


def schema_url(schema: str) -> str:
    """The store URL of ``schema`` on the test server (skips or fails like ``postgres_url``)."""
    url = postgres_url()
    return f"{url}{'&' if '?' in url else '?'}schema={schema}"
