"""Reads on pooled connections: WAL lets them run beside the writer and see committed data."""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

from ._api import RawEvent, RunRecord, RunState
from ._connect import connect_reader, wrap_error
from ._errors import StoreClosedError
from ._schema import MAX_SEQ, PACK_SEP, split_row

__all__ = ["Readers"]

_RUN_COLUMNS = (
    "r.run_id, r.pipeline, r.inputs, r.parent_run_id, r.state, r.created_at, r.started_at, r.ended_at, "
    "coalesce((SELECT e.id & 4294967295 FROM events e WHERE e.id BETWEEN r.id << 32 AND (r.id << 32) + 4294967295 "
    "ORDER BY e.id DESC LIMIT 1), 0), r.terminal"
)


def _time(value: float | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value, UTC)


def _record(row: tuple[Any, ...]) -> RunRecord:
    return RunRecord(
        run_id=row[0],
        pipeline=row[1],
        inputs_json=row[2],
        parent_run_id=row[3],
        state=cast(RunState, row[4]),
        created_at=datetime.fromtimestamp(row[5], UTC),
        started_at=_time(row[6]),
        ended_at=_time(row[7]),
        last_seq=int(row[8]),
        terminal_json=None if row[9] is None else bytes(row[9]),
    )


def _split(rows: list[tuple[Any, ...]], after_seq: int, want: int) -> list[RawEvent]:
    """Rows as (at most ``want``) events: a packed row split into its events, the first row's
    events up to the cursor left out."""
    if not any(PACK_SEP in data for _, _, data in rows):
        return [RawEvent(int(seq), str(etype), bytes(data)) for seq, etype, data in rows[:want]]
    out: list[RawEvent] = []
    for last, etype, data in rows:
        first, parts = split_row(int(last), bytes(data))
        skip = max(0, after_seq + 1 - first)
        kind = str(etype)
        out += [
            RawEvent(seq, kind, part) for seq, part in enumerate(parts[skip : skip + want - len(out)], first + skip)
        ]
        if len(out) >= want:
            break
    return out


class Readers:
    """A small pool of read-only connections, borrowed one per query by any thread.

    A pool, not one connection per thread: threads come and go (thread pools, servers) and a
    per-thread connection would keep a file handle for every thread that ever read.
    """

    def __init__(
        self, path: Path, *, busy_timeout: float, read_only: bool, immutable: bool = False, max_idle: int = 8
    ) -> None:
        self.path = path
        self._busy_timeout = busy_timeout
        self._read_only = read_only
        self._immutable = immutable
        self._max_idle = max_idle
        self._lock = threading.Lock()
        self._idle: list[sqlite3.Connection] = []
        self._closed = False

    def _borrow(self) -> sqlite3.Connection:
        with self._lock:
            if self._closed:
                raise StoreClosedError("the store was closed", self.path)
            if self._idle:
                return self._idle.pop()
        try:
            return connect_reader(
                self.path, busy_timeout=self._busy_timeout, read_only=self._read_only, immutable=self._immutable
            )
        except sqlite3.Error as exc:
            raise wrap_error(exc, self.path, "opening a read connection") from exc

    def _give_back(self, conn: sqlite3.Connection) -> None:
        with self._lock:
            if not self._closed and len(self._idle) < self._max_idle:
                self._idle.append(conn)
                return
        conn.close()

    def _query(self, action: str, sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        conn = self._borrow()
        try:
            return conn.execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            raise wrap_error(exc, self.path, action) from exc
        finally:
            self._give_back(conn)

    def get_run(self, run_id: str) -> RunRecord | None:
        rows = self._query("reading a run", f"SELECT {_RUN_COLUMNS} FROM runs r WHERE r.run_id = ?", (run_id,))
        return _record(rows[0]) if rows else None

    def owner_of(self, run_id: str) -> str | None:
        """The token of the store instance that created the run (None: unknown run or no owner)."""
        rows = self._query("reading a run's owner", "SELECT owner FROM runs WHERE run_id = ?", (run_id,))
        return str(rows[0][0]) if rows and rows[0][0] else None

    def list_runs(self, state: str | None, parent_run_id: str | None, limit: int) -> list[RunRecord]:
        where, params = [], []
        if state is not None:
            where.append("r.state = ?")
            params.append(state)
        if parent_run_id is not None:
            where.append("r.parent_run_id = ?")
            params.append(parent_run_id)
        clause = f"WHERE {' AND '.join(where)} " if where else ""
        sql = f"SELECT {_RUN_COLUMNS} FROM runs r {clause}ORDER BY r.created_at DESC, r.id DESC LIMIT ?"
        return [_record(row) for row in self._query("listing runs", sql, (*params, limit))]

    def events(self, run_id: str, after_seq: int, limit: int | None) -> list[RawEvent]:
        sql = (
            "SELECT e.id & 4294967295, e.type, e.data FROM runs r JOIN events e "
            "ON e.id > (r.id << 32) + ? AND e.id <= (r.id << 32) + 4294967295 "
            "WHERE r.run_id = ? ORDER BY e.id LIMIT ?"
        )
        after_seq = max(after_seq, 0)
        conn = self._borrow()
        try:
            cur = conn.execute(sql, (after_seq, run_id, -1 if limit is None else limit))
            if limit is None:
                return _split(cur.fetchall(), after_seq, MAX_SEQ)
            # A packed row holds up to MAX_PACK events: fetch rows only until ``limit`` events are
            # read (LIMIT rows is an upper bound: a row holds one event at least).
            out: list[RawEvent] = []
            while len(out) < limit and (rows := cur.fetchmany(min(limit, 16))):
                out += _split(rows, after_seq, limit - len(out))
            return out
        except sqlite3.Error as exc:
            raise wrap_error(exc, self.path, "reading events") from exc
        finally:
            self._give_back(conn)

    def scalar(self, sql: str) -> int:
        """One integer (a PRAGMA such as page_count): for health checks and tests."""
        rows = self._query("reading database stats", sql, ())
        return int(rows[0][0]) if rows else 0

    def close(self) -> None:
        with self._lock:
            self._closed = True
            conns, self._idle = self._idle, []
        for conn in conns:
            with contextlib.suppress(sqlite3.Error):  # closing is best effort
                conn.close()
