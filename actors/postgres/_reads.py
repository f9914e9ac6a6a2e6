"""Reads on pooled connections (psycopg_pool): committed data only, any thread."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, cast

from runwire.actors.store import RawEvent, RunRecord, RunState, StoreClosedError

from ._connect import Target, wrap_error

__all__ = ["Readers"]

_RUN_COLUMNS = (
    "r.run_id, r.pipeline, r.inputs, r.parent_run_id, r.state, r.created_at, r.started_at, r.ended_at, "
    "coalesce((SELECT max(e.seq) FROM events e WHERE e.run_key = r.id), 0), r.terminal"
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
    """Rows as at most ``want`` events: a packed row (the SQLite store's layout, schema v3: its
    deltas' JSON joined by newlines, keyed by the last seq) split, events up to the cursor left out."""
    out: list[RawEvent] = []
    for last, etype, raw in rows:
        data = bytes(raw)
        kind = str(etype)
        if b"\n" not in data:
            out.append(RawEvent(int(last), kind, data))
        else:
            parts = data.split(b"\n")
            first = int(last) - len(parts) + 1
            skip = max(0, after_seq + 1 - first)
            out += [
                RawEvent(seq, kind, part) for seq, part in enumerate(parts[skip : skip + want - len(out)], first + skip)
            ]
        if len(out) >= want:
            return out[:want]
    return out


class Readers:
    """Queries on a connection borrowed from the pool for the query's duration."""

    def __init__(self, pool: Any, target: Target) -> None:
        self.pool = pool
        self.target = target
        self.closed = False

    def query(self, action: str, sql: str, params: Any = ()) -> list[tuple[Any, ...]]:
        if self.closed:
            raise StoreClosedError("the store was closed", self.target.shown)
        try:
            with self.pool.connection() as conn:
                cur = conn.execute(sql, params, binary=True)
                return cast(list[tuple[Any, ...]], cur.fetchall()) if cur.description else []
        except StoreClosedError:
            raise
        except Exception as exc:
            if self.closed:
                raise StoreClosedError("the store was closed", self.target.shown) from exc
            raise wrap_error(exc, self.target, action) from exc

    def get_run(self, run_id: str) -> RunRecord | None:
        rows = self.query("reading a run", f"SELECT {_RUN_COLUMNS} FROM runs r WHERE r.run_id = %s", (run_id,))
        return _record(rows[0]) if rows else None

    def owner_of(self, run_id: str) -> tuple[str | None, int | None, str | None, bool | None]:
        """(owner token, pid, host, lease still valid) of a run; Nones where unknown."""
        rows = self.query(
            "reading a run's owner",
            "SELECT r.owner, o.pid, o.host, o.lease_until > now() FROM runs r "
            "LEFT JOIN owners o ON o.token = r.owner WHERE r.run_id = %s",
            (run_id,),
        )
        return cast(tuple[str | None, int | None, str | None, bool | None], rows[0] if rows else (None,) * 4)

    def list_runs(self, state: str | None, parent_run_id: str | None, limit: int) -> list[RunRecord]:
        where, params = [], []
        if state is not None:
            where.append("r.state = %s")
            params.append(state)
        if parent_run_id is not None:
            where.append("r.parent_run_id = %s")
            params.append(parent_run_id)
        clause = f"WHERE {' AND '.join(where)} " if where else ""
        sql = f"SELECT {_RUN_COLUMNS} FROM runs r {clause}ORDER BY r.created_at DESC, r.id DESC LIMIT %s"
        return [_record(row) for row in self.query("listing runs", sql, (*params, limit))]

    def events(self, run_id: str, after_seq: int, limit: int | None) -> list[RawEvent]:
        """A packed row (up to 256 deltas, keyed by its last seq) is split; rows are read a few at
        a time until ``limit`` events are, so a page from a cursor inside packs reads no more."""
        sql = (
            "SELECT e.seq, e.type, e.data FROM runs r JOIN events e ON e.run_key = r.id AND e.seq > %s "
            "WHERE r.run_id = %s ORDER BY e.seq LIMIT %s"
        )
        cursor = max(after_seq, 0)
        if limit is None:
            return _split(self.query("reading events", sql, (cursor, run_id, None)), cursor, 2**62)
        out: list[RawEvent] = []
        rows_wanted = min(limit, 16)
        while len(out) < limit:
            rows = self.query("reading events", sql, (cursor, run_id, rows_wanted))
            out += _split(rows, cursor, limit - len(out))
            if len(rows) < rows_wanted:
                break
            cursor = int(rows[-1][0])
            rows_wanted = min(limit - len(out), rows_wanted * 4)
        return out
