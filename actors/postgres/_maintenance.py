"""Jobs the writer runs between drains: recovering dead owners' runs, and retention (gc).

An owner is dead when its lease lapsed (not renewed for ``lease`` seconds: a machine or
network gone) or when none of its sessions holds its advisory lock any more (its writer and
LISTEN connections hold it shared; its process died, kill -9 included: the server drops a dead
client's sessions, and their locks with them).
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any, Final

from runwire.protocol import RunFailed, dump_event

from ._connect import application_name, owner_key

__all__ = ["GC_CHUNK", "RECOVER_LOCK", "GcJob", "RecoverJob", "cutoff_from"]

log = logging.getLogger("runwire.store.postgres")

GC_CHUNK: Final = 500  # runs deleted per transaction
RECOVER_LOCK: Final = 0x52574E52_00000002  # one recoverer at a time per database

_IN_FLIGHT_OWNERS = (
    "SELECT DISTINCT r.owner, o.lease_until > now(), o.pid, o.host FROM runs r LEFT JOIN owners o ON o.token = r.owner "
    "WHERE r.ended_at IS NULL AND r.terminal_seq IS NULL AND r.owner IS DISTINCT FROM %s"
)
_IN_FLIGHT = (
    "SELECT id, run_id, parent_run_id, owner FROM runs WHERE ended_at IS NULL AND terminal_seq IS NULL "
    "AND (owner = ANY(%s) OR (owner IS NULL AND %s)) ORDER BY id FOR UPDATE SKIP LOCKED"
)
# A lapsed owner may be frozen mid-transaction, holding its runs' rows: end its sessions (their
# transactions roll back, the locks go) so the next sweep can close its runs.
_END_SESSIONS = "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = ANY(%s)"
_LAST_EVENT = "SELECT seq, data FROM events WHERE run_key = %s ORDER BY seq DESC LIMIT 1"
_INSERT_EVENT = "INSERT INTO events (run_key, seq, type, ts, data) VALUES (%s, %s, %s, %s, %s)"
_CLOSE_RUN = "UPDATE runs SET state = 'failed', ended_at = %s, terminal = %s, terminal_seq = %s WHERE id = %s"


def _step_of(data: bytes) -> int | None:
    step = json.loads(data).get("step")
    return step if isinstance(step, int) else None


class RecoverJob:
    """Append ``run.failed`` (ProcessExited) to every in-flight run whose owner is dead.

    One transaction: the dead owners' runs are locked (FOR UPDATE SKIP LOCKED: a run whose row a
    frozen owner still holds is left for the next sweep, after that owner's sessions were ended,
    so a sweep never blocks the writer), closed, and their owner rows deleted; the NOTIFY wakes
    followers. ``wait=False`` (the periodic sweep) skips the round if
    another store is recovering right now; ``recover()`` waits for it.
    """

    def __init__(self, own_token: str, channel: str, *, wait: bool = True) -> None:
        self.own_token = own_token
        self.channel = channel
        self.wait = wait
        self.recovered: list[str] = []

    def _dead_owners(self, cur: Any) -> dict[str | None, str]:
        """Owner token -> why it counts as dead, for owners of runs in flight."""
        cur.execute(_IN_FLIGHT_OWNERS, (self.own_token,))
        dead: dict[str | None, str] = {}
        for owner, leased, pid, host in cur.fetchall():
            if owner is None:
                dead[None] = "no owner recorded"
            elif leased is None:
                dead[owner] = "its store closed"
            elif not leased:
                dead[owner] = f"owner pid {pid} on {host}: its lease lapsed"
            else:
                cur.execute("SELECT pg_try_advisory_xact_lock(%s)", (owner_key(owner),))
                row = cur.fetchone()
                if row is not None and row[0]:
                    dead[owner] = f"owner pid {pid} on {host}: its database sessions are gone"
        return dead

    def step(self, conn: Any, keys: dict[str, int]) -> bool:
        self.recovered = []
        with conn.transaction(), conn.cursor() as cur:
            if self.wait:
                cur.execute("SELECT pg_advisory_xact_lock(%s)", (RECOVER_LOCK,))
            else:
                cur.execute("SELECT pg_try_advisory_xact_lock(%s)", (RECOVER_LOCK,))
                row = cur.fetchone()
                if row is None or not row[0]:
                    return True
            dead = self._dead_owners(cur)
            if not dead:
                return True
            tokens = [t for t in dead if t is not None]
            lapsed = [application_name(t) for t in tokens if "lease lapsed" in dead[t]]
            if lapsed:
                try:
                    with conn.transaction():  # a savepoint: no right to end them must not stop recovery
                        cur.execute(_END_SESSIONS, (lapsed,))
                except Exception as exc:
                    log.warning("could not end the sessions of owners whose lease lapsed: %s", exc)
            cur.execute(_IN_FLIGHT, (tokens, None in dead))
            for key, run_id, parent, owner in cur.fetchall():
                cur.execute(_LAST_EVENT, (key,))
                last = cur.fetchone()
                last_seq = int(last[0]) if last else 0
                event = RunFailed(
                    run_id=run_id,
                    seq=last_seq + 1,
                    parent_run_id=parent,
                    step=_step_of(bytes(last[1]).rpartition(b"\n")[2]) if last else None,
                    error_type="ProcessExited",
                    message=(
                        "the process running this run exited before the run ended "
                        f"(last stored event: seq {last_seq}); closed when the run store was recovered "
                        f"({dead[owner]})"
                    ),
                )
                data, ts = dump_event(event), event.ts.timestamp()
                cur.execute(_INSERT_EVENT, (key, event.seq, event.type, ts, data))
                cur.execute(_CLOSE_RUN, (ts, data, event.seq, key))
                self.recovered.append(run_id)
            # a skipped run's owner stays dead next round: a missing owner row counts as closed
            cur.execute("DELETE FROM owners WHERE token = ANY(%s)", (tokens,))
            if self.recovered:
                cur.execute("SELECT pg_notify(%s, x) FROM unnest(%s::text[]) AS x", (self.channel, self.recovered))
        return True


_GC_SELECT = (
    "SELECT id, run_id FROM runs WHERE ended_at IS NOT NULL AND (%(cut)s::float8 IS NULL OR ended_at < %(cut)s) "
    "AND id NOT IN (SELECT id FROM runs WHERE ended_at IS NOT NULL ORDER BY ended_at DESC, id DESC LIMIT %(keep)s) "
    "ORDER BY ended_at, id LIMIT %(chunk)s"
)


class GcJob:
    """Delete finished runs in chunks of ``GC_CHUNK`` per transaction (``keep_last`` re-evaluated
    per chunk). PostgreSQL's autovacuum makes the freed space reusable: nothing to hand back here."""

    def __init__(self, cutoff: float | None, keep_last: int, chunk: int = GC_CHUNK) -> None:
        self.cutoff = cutoff
        self.keep_last = keep_last
        self.chunk = chunk
        self.deleted = 0

    def step(self, conn: Any, keys: dict[str, int]) -> bool:
        with conn.transaction(), conn.cursor() as cur:
            cur.execute(_GC_SELECT, {"cut": self.cutoff, "keep": self.keep_last, "chunk": self.chunk})
            rows = cur.fetchall()
            ids = [key for key, _ in rows]
            if ids:
                cur.execute("DELETE FROM events WHERE run_key = ANY(%s)", (ids,))
                cur.execute("DELETE FROM runs WHERE id = ANY(%s)", (ids,))
        for _, run_id in rows:
            keys.pop(run_id, None)
        self.deleted += len(rows)
        return len(rows) < self.chunk


def cutoff_from(older_than_seconds: float | None) -> float | None:
    """``now - older_than`` as unix seconds, or None for no age limit."""
    return None if older_than_seconds is None else time.time() - older_than_seconds
