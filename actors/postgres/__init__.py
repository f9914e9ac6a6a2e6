"""The run store on PostgreSQL: several processes and machines share runs, follow and cancel them.

``RunSystem(store="postgresql://user@host/db")`` (entry points ``postgresql`` and ``postgres``)
or ``PostgresRunStore(url)``. Needs the ``[postgres]`` extra (psycopg 3, psycopg-pool); nothing
here imports psycopg until a store is opened. See docs/store.md and docs/scale-out.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._store import PostgresRunStore

if TYPE_CHECKING:
    from runwire.actors.ext import FailRun, SystemStore

__all__ = ["PostgresRunStore", "open_postgres_store"]


def open_postgres_store(target: str, fail_run: FailRun) -> SystemStore:
    """The ``runwire.stores`` entry point for ``postgresql://`` and ``postgres://`` URLs.

    The system owns the store: it is closed at the system's ``close()``.
    """
    from runwire.actors.store import StoreBinding

    return StoreBinding.open(PostgresRunStore(target), True, fail_run)
