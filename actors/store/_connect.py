"""Opening SQLite connections with the store's settings, and turning sqlite3 errors into StoreErrors."""

from __future__ import annotations

import errno
import math
import sqlite3
from pathlib import Path
from typing import Final

from ._api import Durability
from ._errors import StoreError
from ._schema import check_schema

__all__ = [
    "SYNCHRONOUS",
    "configure_writer",
    "connect_reader",
    "connect_writer",
    "describe",
    "is_unwritable",
    "wrap_error",
]

SYNCHRONOUS: Final[dict[str, str]] = {"off": "OFF", "normal": "NORMAL", "full": "FULL"}

# What an operator should do about the errors a deployment actually meets.
_HINTS: Final[dict[str, str]] = {
    "SQLITE_FULL": "the disk (or the store's max_db_bytes cap) is full; free space or run gc()",
    "SQLITE_READONLY": "the database file is read-only for this process",
    "SQLITE_NOTADB": "the file is not a SQLite database (corrupt, or another format)",
    "SQLITE_CORRUPT": "the database file is corrupt; restore it from a backup or move it away",
    "SQLITE_BUSY": "another process held the write lock longer than busy_timeout",
    "SQLITE_CANTOPEN": "the file cannot be opened (missing directory or no permission)",
}


def describe(exc: BaseException) -> str:
    """A one-line cause: SQLite's message plus a hint for the well-known error codes."""
    name = str(getattr(exc, "sqlite_errorname", "") or "")
    hint = next((text for code, text in _HINTS.items() if name.startswith(code)), "")
    base = f"{exc} ({name})" if name else str(exc)
    return f"{base}: {hint}" if hint else base


def wrap_error(exc: BaseException, path: Path, action: str) -> StoreError:
    """``StoreError("<action> failed: <cause>")`` naming the file, the sqlite3 error chained as cause."""
    err = StoreError(f"{action} failed: {describe(exc)}", path)
    err.__cause__ = exc
    return err


def _uri(path: Path, mode: str, immutable: bool = False) -> str:
    # immutable: a file on a read-only mount, where SQLite cannot create the WAL's -shm file;
    # it then reads the file without locks, as nobody can write it there
    return f"{path.resolve().as_uri()}?mode={mode}{'&immutable=1' if immutable else ''}"


def is_unwritable(exc: BaseException) -> bool:
    """True when ``exc`` (or its cause) says the file or its directory cannot be written."""
    cause = exc.__cause__ if exc.__cause__ is not None else exc
    if isinstance(cause, OSError):
        return cause.errno in (errno.EROFS, errno.EACCES, errno.EPERM)
    name = str(getattr(cause, "sqlite_errorname", "") or "")
    return name.startswith(("SQLITE_READONLY", "SQLITE_CANTOPEN", "SQLITE_PERM"))


def connect_writer(
    path: Path,
    *,
    durability: Durability,
    busy_timeout: float,
    read_only: bool = False,
    immutable: bool = False,
    max_db_bytes: int | None = None,
) -> sqlite3.Connection:
    """The writer's connection, in autocommit mode (transactions are explicit).

    Raises ``StoreError`` for a file that is not a runwire store (or too new) before writing to it.
    """
    if durability not in SYNCHRONOUS:
        raise ValueError(f"durability must be one of {sorted(SYNCHRONOUS)}, not {durability!r}")
    conn = sqlite3.connect(
        _uri(path, "ro" if read_only else "rwc", immutable),
        uri=True,
        timeout=busy_timeout,
        isolation_level=None,
        check_same_thread=False,  # opened here, then used by the writer thread only
    )
    try:
        check_schema(conn, path)  # before any write: a foreign file must stay untouched
        if max_db_bytes is not None:
            page_size = int(conn.execute("PRAGMA page_size").fetchone()[0])
            conn.execute(f"PRAGMA max_page_count = {max(1, math.ceil(max_db_bytes / page_size))}")
    except BaseException:
        conn.close()
        raise
    return conn


def configure_writer(conn: sqlite3.Connection, path: Path, durability: Durability) -> None:
    """WAL mode and ``synchronous`` from ``durability``. Call under ``opening_lock``.

    Switching a file to WAL can fail with SQLITE_BUSY at once (no busy wait) while another
    connection switches it, hence the cross-process lock around opening.
    """
    if conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0] == 0:
        # Only possible before the file's first page is written (the WAL switch writes it);
        # lets gc hand freed pages back to the OS.
        conn.execute("PRAGMA auto_vacuum = INCREMENTAL")
    if str(conn.execute("PRAGMA journal_mode").fetchone()[0]).lower() != "wal":
        mode = str(conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]).lower()
        if mode != "wal":
            raise StoreError(f"cannot switch the database to WAL mode (got journal_mode={mode})", path)
    conn.execute(f"PRAGMA synchronous = {SYNCHRONOUS[durability]}")
    conn.execute("PRAGMA journal_size_limit = 67108864")  # keep a big WAL from staying big
    # Checkpoint every ~32 MiB of WAL, not SQLite's 4 MiB: a streamed log rewrites its tail pages in
    # every commit, and a checkpoint copies each page once however often it was rewritten.
    conn.execute("PRAGMA wal_autocheckpoint = 8192")


def connect_reader(
    path: Path, *, busy_timeout: float, read_only: bool = False, immutable: bool = False
) -> sqlite3.Connection:
    """A reader's connection: sees committed data, refuses to write (``query_only``)."""
    conn = sqlite3.connect(
        _uri(path, "ro" if read_only else "rw", immutable),
        uri=True,
        timeout=busy_timeout,
        isolation_level=None,
        check_same_thread=False,  # close() may close it from another thread
    )
    conn.execute("PRAGMA query_only = ON")
    return conn
