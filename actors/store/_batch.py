"""Write messages and how one drain of them becomes SQL inside a single transaction.

Hot path: the drain's events go in multi-row INSERTs (up to 1,024 rows a statement), integer run keys
from a cache of in-flight runs (event rowid = key << 32 | seq), the terminal fence checked in
Python (a SQL trigger measured ~30% slower). Why multi-row: sqlite3 releases the GIL around each
statement step, so ``executemany`` hands the GIL over once per event; with one busy thread beside
it that measured 347 rows/s against 7,091 for 128-row statements (and 143k vs 203k alone).

Appended events travel to the writer as plain columns (:class:`Append`), not as model objects:
up to 16,384 queued events (a durable sink's window) are otherwise as many pydantic models and
their dicts for every cyclic GC pass to walk (measured ~1 µs an event of collections with the
store on, 0.5 with it off). A drain's run of one run's ordinary events (no ``run.started``, no
terminal, its key cached) becomes rows without a Python step per event.
"""

from __future__ import annotations

import functools
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import chain
from operator import attrgetter
from typing import Final, NamedTuple

from runwire.protocol import TERMINAL_STATE_OF, TERMINAL_TYPES, RunEvent, dump_event

from ._api import TERMINAL_STATES, RunState
from ._schema import PACK_SEP, SEQ_BITS

__all__ = [
    "MAX_PACK",
    "Append",
    "BatchResult",
    "CreateRun",
    "Dump",
    "SetState",
    "WriteOp",
    "apply_writes",
    "columns",
    "op_run_ids",
]


class CreateRun(NamedTuple):
    run_id: str
    pipeline: str
    inputs_json: str
    parent_run_id: str | None
    created_at: float


class Append(NamedTuple):
    """Sequenced events as columns, one entry per event; ``data`` is each one's ``dump_event`` bytes."""

    run_ids: Sequence[str]
    seqs: Sequence[int]
    types: Sequence[str]
    ts: Sequence[datetime]  # datetimes are not GC-tracked; the writer takes their timestamps
    data: Sequence[bytes]


class Dump(NamedTuple):
    """Events appended without their JSON: the writer dumps them (one that cannot fails its run)."""

    events: Sequence[RunEvent]


_FIELDS: Final = attrgetter("run_id", "seq", "type", "ts")
_timestamp: Final = datetime.timestamp


def columns(events: Sequence[RunEvent], data: Sequence[bytes]) -> Append:
    """``events`` (non-empty) with their JSON as an :class:`Append`: one C-level pass, no per-event object kept."""
    run_ids, seqs, types, ts = zip(*map(_FIELDS, events), strict=True)
    return Append(run_ids, seqs, types, ts, data)


class SetState(NamedTuple):
    run_id: str
    state: RunState
    at: float


WriteOp = CreateRun | Append | Dump | SetState

_DELTA: Final = "text.delta"
MAX_PACK: Final = 256  # deltas per packed row: what a read from a cursor inside one skips at most
_join: Final = PACK_SEP.join
_EPOCH: Final = datetime.fromtimestamp(0, UTC)
_SPECIAL: Final = frozenset(TERMINAL_TYPES | {"run.started"})  # event types that also update the run's row

_INSERT_RUN = (
    "INSERT OR IGNORE INTO runs (run_id, pipeline, inputs, parent_run_id, state, created_at, owner) "
    "VALUES (?, ?, ?, ?, 'pending', ?, ?)"
)
_EVENT_COLUMNS = 4
# Parameters per statement: SQLite allows 32,766 since 3.32, 999 before.
_ROWS_PER_INSERT = 1024 if sqlite3.sqlite_version_info >= (3, 32, 0) else 128


@functools.cache
def _insert_events_sql(rows: int) -> str:
    return "INSERT INTO events (id, type, ts, data) VALUES " + ", ".join(["(?, ?, ?, ?)"] * rows)


def _insert_events(cur: sqlite3.Cursor, values: list[object]) -> None:
    """Insert rows given flat (``_EVENT_COLUMNS`` values each), in chunks of 1024 (or 128), ... 2, 1 rows."""
    rows, start, i = len(values) // _EVENT_COLUMNS, 0, 0
    while i < rows:
        k = _ROWS_PER_INSERT
        while k > rows - i:
            k //= 2
        end = start + k * _EVENT_COLUMNS
        cur.execute(_insert_events_sql(k), values[start:end])
        start, i = end, i + k


_MARK_STARTED = (
    "UPDATE runs SET started_at = coalesce(started_at, ?), "
    "state = CASE state WHEN 'pending' THEN 'running' ELSE state END WHERE id = ?"
)
_MARK_TERMINAL = (
    "UPDATE runs SET state = ?, ended_at = ?, terminal = ?, terminal_seq = ? WHERE id = ? AND terminal_seq IS NULL"
)
_SET_STATE = (
    "UPDATE runs SET state = ?, started_at = coalesce(started_at, ?), ended_at = coalesce(ended_at, ?) "
    "WHERE run_id = ? AND ended_at IS NULL"
)


def op_run_ids(op: WriteOp) -> list[str]:
    """The runs a write concerns (an append may carry events of several runs)."""
    if isinstance(op, Append):
        return list(dict.fromkeys(op.run_ids))
    if isinstance(op, Dump):
        return list(dict.fromkeys(ev.run_id for ev in op.events))
    return [op.run_id]


@dataclass(slots=True)
class BatchResult:
    """What a drain did: highest seq written per run, and runs whose writes were refused (why)."""

    acks: dict[str, int] = field(default_factory=dict)
    rejected: dict[str, list[str]] = field(default_factory=dict)


class _Applier:
    """Applies one drain's writes on the writer connection (inside the caller's transaction)."""

    def __init__(self, conn: sqlite3.Connection, keys: dict[str, int], owner: str) -> None:
        self.cur = conn.cursor()
        self.keys = keys  # run_id -> runs.id, for runs without a terminal event (the writer's cache)
        self.owner = owner
        self.result = BatchResult()
        self.ended: dict[str, int] = {}  # runs whose terminal event is in this drain -> its seq
        self.rows: list[object] = []  # flat: id, type, ts, data for each event
        self.started: list[tuple[float, int]] = []
        self.terminals: list[tuple[str, float, bytes, int, int]] = []
        self.pack: list[bytes] = []  # the open packed row: its deltas' JSON, the last one's id and ts
        self.pack_id = -2
        self.pack_ts = _EPOCH

    def reject(self, run_id: str, reason: str) -> None:
        reasons = self.result.rejected.setdefault(run_id, [])
        if reason not in reasons:
            reasons.append(reason)

    def lookup(self, run_id: str) -> int | None:
        """The run's key for a cache miss; None (and a rejection) if the run cannot take events."""
        if run_id in self.ended:
            self.reject(run_id, f"event refused: the run already ended (terminal event at seq {self.ended[run_id]})")
            return None
        row = self.cur.execute("SELECT id, terminal_seq FROM runs WHERE run_id = ?", (run_id,)).fetchone()
        if row is None:
            self.reject(run_id, "event for an unknown run refused: create_run() was not called, or gc deleted it")
            return None
        key, terminal_seq = int(row[0]), row[1]
        if terminal_seq is not None:
            self.ended[run_id] = int(terminal_seq)
            self.reject(run_id, f"event refused: the run already ended (terminal event at seq {terminal_seq})")
            return None
        self.keys[run_id] = key
        return key

    def terminal_stored(self, run_id: str, seq: int) -> bool:
        """True if the run already ended with its terminal at ``seq`` (cache misses only)."""
        if run_id in self.ended:
            return self.ended[run_id] == seq
        row = self.cur.execute("SELECT terminal_seq FROM runs WHERE run_id = ?", (run_id,)).fetchone()
        return row is not None and row[0] == seq

    def create(self, op: CreateRun) -> None:
        self.cur.execute(
            _INSERT_RUN, (op.run_id, op.pipeline, op.inputs_json, op.parent_run_id, op.created_at, self.owner)
        )
        if self.cur.rowcount == 0:
            self.reject(op.run_id, "create_run() refused: a run with this run_id already exists")
        elif self.cur.lastrowid is not None:
            self.keys[op.run_id] = self.cur.lastrowid

    def append(self, op: Append) -> None:
        run_ids, seqs, types = op.run_ids, op.seqs, op.types
        run_id = run_ids[0]
        key = self.keys.get(run_id)
        if (
            key is not None
            and run_ids.count(run_id) == len(run_ids)
            and not _SPECIAL.intersection(types)
            and not (self.result.rejected and run_id in self.result.rejected)
        ):  # the hot case: one run's ordinary events; rows built in C
            base = key << SEQ_BITS
            n = len(seqs)
            if types.count(_DELTA) == n and seqs[-1] - seqs[0] == n - 1:  # deltas only: packed
                self._deltas(base, seqs, op.ts, op.data, 0, n)
            elif _DELTA in types:
                self._pack_runs(base, seqs, types, op.ts, op.data)
            else:
                ids = [base | s for s in seqs]
                self.rows += chain.from_iterable(zip(ids, types, map(_timestamp, op.ts), op.data, strict=True))
            self.result.acks[run_id] = seqs[-1]
            return
        self._append_each(op)

    def _deltas(
        self, base: int, seqs: Sequence[int], ts: Sequence[datetime], data: Sequence[bytes], i: int, j: int
    ) -> None:
        """Contiguous deltas ``i..j-1`` of one run into packed rows of at most ``MAX_PACK`` (see
        ``_schema._V3``): the open pack goes on across this drain's batches while seqs follow on."""
        parts = self.pack
        if parts and self.pack_id + 1 == base | seqs[i]:  # the next seq of the same run
            take = min(MAX_PACK - len(parts), j - i)
            parts += data[i : i + take]
            i += take
            self.pack_id, self.pack_ts = base | seqs[i - 1], ts[i - 1]
        while i < j:
            self._close_pack()
            end = min(j, i + MAX_PACK)
            self.pack = list(data[i:end])
            self.pack_id, self.pack_ts = base | seqs[end - 1], ts[end - 1]
            i = end
        if len(self.pack) >= MAX_PACK:
            self._close_pack()

    def _close_pack(self) -> None:
        parts = self.pack
        if parts:
            self.rows += (self.pack_id, _DELTA, self.pack_ts.timestamp(), parts[0] if len(parts) == 1 else _join(parts))
            self.pack = []

    def _pack_runs(
        self, base: int, seqs: Sequence[int], types: Sequence[str], ts: Sequence[datetime], data: Sequence[bytes]
    ) -> None:
        """One run's ordinary events: each stretch of contiguous deltas packed, the others a row each."""
        rows, n, i = self.rows, len(seqs), 0
        while i < n:
            j = i + 1
            if types[i] == _DELTA:
                while j < n and types[j] == _DELTA and seqs[j] == seqs[j - 1] + 1:
                    j += 1
                self._deltas(base, seqs, ts, data, i, j)
            else:
                rows += (base | seqs[i], types[i], ts[i].timestamp(), data[i])
            i = j

    def _append_each(self, op: Append) -> None:
        keys, rows, acks, rejected = self.keys, self.rows, self.result.acks, self.result.rejected
        for run_id, seq, etype, at, data in zip(op.run_ids, op.seqs, op.types, op.ts, op.data, strict=True):
            if rejected and run_id in rejected:
                continue  # storing later events of a refused one would leave a hole in the log
            key = keys.get(run_id)
            if key is None:
                if etype in TERMINAL_TYPES and self.terminal_stored(run_id, seq):
                    continue  # the same terminal again (stored again after a failed write): a no-op
                key = self.lookup(run_id)
                if key is None:
                    continue
            acks[run_id] = seq
            if etype == _DELTA:
                self._deltas(key << SEQ_BITS, (seq,), (at,), (data,), 0, 1)
                continue
            ts = at.timestamp()
            rows += ((key << SEQ_BITS) | seq, etype, ts, data)
            if etype in TERMINAL_TYPES:
                self.terminals.append((TERMINAL_STATE_OF[etype], ts, data, seq, key))
                del keys[run_id]
                self.ended[run_id] = seq
            elif etype == "run.started":
                self.started.append((ts, key))

    def dump(self, op: Dump) -> None:
        """Dump events given without their JSON, then append them; one that cannot be dumped
        fails its run (not the drain)."""
        kept: list[RunEvent] = []
        data: list[bytes] = []
        for ev in op.events:
            try:
                encoded = dump_event(ev)
            except Exception as exc:
                self.reject(ev.run_id, f"event seq {ev.seq} cannot be serialized: {exc}")
                continue
            kept.append(ev)
            data.append(encoded)
        if kept:
            self.append(columns(kept, data))

    def set_state(self, op: SetState) -> None:
        terminal = op.state in TERMINAL_STATES
        self.cur.execute(
            _SET_STATE,
            (op.state, op.at if op.state == "running" else None, op.at if terminal else None, op.run_id),
        )
        if terminal:
            self.keys.pop(op.run_id, None)
        if (
            self.cur.rowcount == 0
            and self.cur.execute("SELECT 1 FROM runs WHERE run_id = ?", (op.run_id,)).fetchone() is None
        ):
            self.reject(op.run_id, "set_state() for an unknown run refused")

    def finish(self) -> BatchResult:
        self._close_pack()
        if self.rows:
            _insert_events(self.cur, self.rows)
        if self.started:
            self.cur.executemany(_MARK_STARTED, self.started)
        if self.terminals:
            self.cur.executemany(_MARK_TERMINAL, self.terminals)
        return self.result


def apply_writes(conn: sqlite3.Connection, ops: Sequence[WriteOp], keys: dict[str, int], owner: str) -> BatchResult:
    """Execute ``ops`` in order (the caller owns the transaction). sqlite3 errors propagate."""
    applier = _Applier(conn, keys, owner)
    for op in ops:
        if isinstance(op, Append):
            applier.append(op)
        elif isinstance(op, Dump):
            applier.dump(op)
        elif isinstance(op, CreateRun):
            applier.create(op)
        else:
            applier.set_state(op)
    return applier.finish()
