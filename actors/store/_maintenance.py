"""Jobs the writer runs between drains: crash recovery and retention (gc)."""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path
from typing import Final

from runwire.protocol import RunFailed, dump_event

from ._owner import OwnerLock
from ._schema import event_id, last_of_row, run_span

__all__ = ["GC_CHUNK", "VACUUM_CHUNK", "GcJob", "RecoverJob"]

GC_CHUNK: Final = 500  # runs deleted per transaction: bounds how long the write lock is held
VACUUM_CHUNK: Final = 2048  # free pages handed back to the OS per step

_IN_FLIGHT = (
    "SELECT id, run_id, parent_run_id, owner FROM runs "
    "WHERE ended_at IS NULL AND terminal_seq IS NULL AND state IN ('pending', 'running') "
    "AND (owner IS NULL OR owner != ?) ORDER BY id"
)
_LAST_EVENT = "SELECT id & 4294967295, data FROM events WHERE id BETWEEN ? AND ? ORDER BY id DESC LIMIT 1"
_INSERT_EVENT = "INSERT INTO events (id, type, ts, data) VALUES (?, ?, ?, ?)"
_CLOSE_RUN = "UPDATE runs SET state = 'failed', ended_at = ?, terminal = ?, terminal_seq = ? WHERE id = ?"


def _step_of(data: bytes) -> int | None:
    """The loop step recorded on the run's events, so the recovery event carries it too."""
    step = json.loads(data).get("step")
    return step if isinstance(step, int) else None


class RecoverJob:
    """Append ``run.failed`` (ProcessExited) to every run whose owning process is gone.

    One transaction under the write lock: the in-flight set is read and closed atomically, so
    two processes recovering at once never add two terminals to one run.
    """

    def __init__(self, owners: Path, own_token: str) -> None:
        self.owners = owners
        self.own_token = own_token
        self.recovered: list[str] = []

    def _failed_event(self, conn: sqlite3.Connection, key: int, run_id: str, parent: str | None) -> RunFailed:
        last = conn.execute(_LAST_EVENT, run_span(key)).fetchone()
        last_seq = int(last[0]) if last else 0
        return RunFailed(
            run_id=run_id,
            seq=last_seq + 1,
            parent_run_id=parent,
            step=_step_of(last_of_row(bytes(last[1]))) if last else None,
            error_type="ProcessExited",
            message=(
                "the process running this run exited before the run ended "
                f"(last stored event: seq {last_seq}); closed when the run store was recovered"
            ),
        )

    def step(self, conn: sqlite3.Connection, keys: dict[str, int]) -> bool:
        claims: dict[str | None, OwnerLock | None] = {}
        conn.execute("BEGIN IMMEDIATE")
        try:
            for key, run_id, parent, owner in conn.execute(_IN_FLIGHT, (self.own_token,)).fetchall():
                if owner not in claims:
                    claims[owner] = OwnerLock.claim_if_dead(self.owners, owner)
                if claims[owner] is None:
                    continue  # its process is alive: the run is not ours to close
                event = self._failed_event(conn, key, run_id, parent)
                data, ts = dump_event(event), event.ts.timestamp()
                conn.execute(_INSERT_EVENT, (event_id(key, event.seq), event.type, ts, data))
                conn.execute(_CLOSE_RUN, (ts, data, event.seq, key))
                self.recovered.append(run_id)
            conn.execute("COMMIT")
        except BaseException:
            self.recovered.clear()
            for lock in claims.values():
                if lock is not None:
                    lock.release(remove=False)
            raise
        for lock in claims.values():
            if lock is not None:
                lock.release(remove=True)
        return True


_GC_SELECT = (
    "SELECT id, run_id FROM runs WHERE ended_at IS NOT NULL AND (?1 IS NULL OR ended_at < ?1) "
    "AND id NOT IN (SELECT id FROM runs WHERE ended_at IS NOT NULL ORDER BY ended_at DESC, id DESC LIMIT ?2) "
    "ORDER BY ended_at, id LIMIT ?3"
)


class GcJob:
    """Delete finished runs in chunks of ``GC_CHUNK`` per transaction, then return free pages.

    A finished run is one with ``ended_at`` set (terminal event, or a terminal ``set_state``).
    ``keep_last`` is re-evaluated per chunk: runs that finish meanwhile count as "last".
    """

    def __init__(self, cutoff: float | None, keep_last: int, chunk: int = GC_CHUNK) -> None:
        self.cutoff = cutoff
        self.keep_last = keep_last
        self.chunk = chunk
        self.deleted = 0
        self._vacuuming = False

    def step(self, conn: sqlite3.Connection, keys: dict[str, int]) -> bool:
        if self._vacuuming:
            return self._vacuum_step(conn)
        conn.execute("BEGIN IMMEDIATE")
        rows = conn.execute(_GC_SELECT, (self.cutoff, self.keep_last, self.chunk)).fetchall()
        conn.executemany("DELETE FROM events WHERE id BETWEEN ? AND ?", [run_span(key) for key, _ in rows])
        conn.executemany("DELETE FROM runs WHERE id = ?", [(key,) for key, _ in rows])
        conn.execute("COMMIT")
        for _, run_id in rows:
            keys.pop(run_id, None)
        self.deleted += len(rows)
        if len(rows) == self.chunk:
            return False
        self._vacuuming = True
        return self._vacuum_step(conn)

    @staticmethod
    def _vacuum_step(conn: sqlite3.Connection) -> bool:
        """Hand up to VACUUM_CHUNK free pages back to the OS (a no-op unless auto_vacuum is on)."""
        if int(conn.execute("PRAGMA auto_vacuum").fetchone()[0]) != 2:
            return True  # files made without auto_vacuum reuse their free pages instead
        free = int(conn.execute("PRAGMA freelist_count").fetchone()[0])
        if free == 0:
            return True
        # executescript steps the pragma to completion; execute() would free a single page
        conn.executescript(f"PRAGMA incremental_vacuum({VACUUM_CHUNK});")
        return free <= VACUUM_CHUNK


def cutoff_from(older_than_seconds: float | None) -> float | None:
    """``now - older_than`` as unix seconds, or None for no age limit."""
    return None if older_than_seconds is None else time.time() - older_than_seconds
