"""Packed rows (schema v3): a run's consecutive deltas share one row, every read splits it back.

What must hold whatever the layout: a read from any cursor gives exactly the events after it,
byte for byte what ``dump_event`` gave (the bus's JSON), with their own seq; ``last_seq``, the
``event_log`` view, recovery and gc see the same log; a v2 file (a row per event) still opens.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from store_helpers import T0, sample_events

from runwire.actors import RunSystem
from runwire.actors.store import SCHEMA_VERSION, SqliteRunStore
from runwire.actors.store._batch import MAX_PACK
from runwire.actors.store._schema import MIGRATIONS
from runwire.protocol import RunCompleted, RunEvent, RunProgress, RunStarted, TextDelta, dump_event
from tests.strategies import aware_datetimes  # by the root package: a tests/ path entry would shadow DSPy

_text = st.text(max_size=12)  # newlines, quotes, lone-free unicode: all escaped in the JSON
_delta = st.builds(
    lambda field, text, artifact, ts: ("delta", field, text, artifact, ts),
    st.sampled_from(["answer", "summary", "a\nb"]),
    _text,
    st.none() | st.just("sec-1"),
    st.none() | aware_datetimes,
)
_other = st.builds(lambda n: ("progress", n), st.integers(0, 10))
_kinds = st.lists(st.one_of(_delta, _delta, _delta, _other), max_size=40)


def _log(run_id: str, kinds: list[tuple[object, ...]], step: int | None) -> list[RunEvent]:
    events: list[RunEvent] = [RunStarted(run_id=run_id, seq=1, ts=T0, pipeline="demo", inputs={}, step=step)]
    for kind in kinds:
        seq = len(events) + 1
        if kind[0] == "delta":
            _, field, text, artifact, ts = kind
            at = ts if isinstance(ts, datetime) else T0 + timedelta(microseconds=seq * 7)
            events.append(
                TextDelta(run_id=run_id, seq=seq, ts=at, field=field, text=text, artifact_id=artifact, step=step)
            )
        else:
            events.append(RunProgress(run_id=run_id, seq=seq, ts=T0, current=int(str(kind[1])), step=step))
    events.append(RunCompleted(run_id=run_id, seq=len(events) + 1, ts=T0, result={"n": len(events)}))
    return events


def _rows(path: Path, run_id: str) -> int:
    conn = sqlite3.connect(path)
    try:
        (key,) = conn.execute("SELECT id FROM runs WHERE run_id = ?", (run_id,)).fetchone()
        return int(conn.execute("SELECT count(*) FROM events WHERE id >> 32 = ?", (key,)).fetchone()[0])
    finally:
        conn.close()


def _check_every_cursor(store: SqliteRunStore, run_id: str, wanted: list[bytes]) -> None:
    n = len(wanted)
    assert store.get_run(run_id) is not None
    assert store.get_run(run_id).last_seq == n  # type: ignore[union-attr]
    for cursor in range(n + 1):
        raw = store.read_events_raw(run_id, cursor)
        assert [r.data for r in raw] == wanted[cursor:]
        assert [r.seq for r in raw] == list(range(cursor + 1, n + 1))
        for limit in (1, 2, 5):
            assert [r.data for r in store.read_events_raw(run_id, cursor, limit)] == wanted[cursor : cursor + limit]
    parsed = store.read_events(run_id, 0)
    assert [dump_event(ev) for ev in parsed] == wanted


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(kinds=_kinds, cuts=st.lists(st.integers(1, 45), max_size=8), step=st.none() | st.integers(0, 3))
def test_every_cursor_reads_the_log_as_dumped(
    open_store: Callable[..., SqliteRunStore],
    tmp_path: Path,
    kinds: list[tuple[object, ...]],
    cuts: list[int],
    step: int | None,
) -> None:
    """Batches cut anywhere (as the bus hands them over, JSON given), deltas mixed with other
    events: the rows read back from every cursor are the log's own bytes, and deltas were packed."""
    store = open_store(tmp_path / f"p{len(list(tmp_path.iterdir()))}.sqlite3")
    events = _log("r", kinds, step)
    wanted = [dump_event(ev) for ev in events]
    store.create_run("r", "demo")
    start = 0
    for cut in [*sorted(set(cuts)), len(events)]:
        if cut > start:
            store.append(events[start:cut], wanted[start:cut])
            start = cut
    store.flush(30)
    _check_every_cursor(store, "r", wanted)
    deltas = sum(1 for ev in events if ev.type == "text.delta")
    if deltas >= 2 * len(events) // 3 + 2 and len(cuts) <= 1:
        assert _rows(store.path, "r") < len(events)  # packed: fewer rows than events


def test_the_view_splits_packed_rows(store: SqliteRunStore) -> None:
    events = _log("v", [("delta", "answer", f"t{i}\n", None, None) for i in range(600)], 2)
    wanted = [dump_event(ev) for ev in events]
    store.create_run("v", "demo")
    store.append(events, wanted)
    store.flush(30)
    assert _rows(store.path, "v") < 10  # run.started, three packs of at most MAX_PACK, the terminal
    assert MAX_PACK < 600
    conn = sqlite3.connect(store.path)
    try:
        rows = conn.execute("SELECT seq, type, ts, data FROM event_log WHERE run_id = 'v' ORDER BY seq").fetchall()
    finally:
        conn.close()
    assert [(seq, etype, bytes(data)) for seq, etype, _, data in rows] == [
        (ev.seq, ev.type, raw) for ev, raw in zip(events, wanted, strict=True)
    ]
    for (_, _, ts, _), ev in zip(rows, events, strict=True):
        assert abs(ts - ev.ts.timestamp()) < 1e-3


def test_through_a_system_the_store_holds_the_in_memory_log(tmp_path: Path) -> None:
    """A flood through the bus (deltas and progress): the stored log from every cursor is the
    in-memory replay, byte for byte."""

    def flood(ctx: object) -> None:
        for i in range(1500):
            ctx.delta("answer", f"tok{i} ")  # type: ignore[attr-defined]
            if i % 97 == 0:
                ctx.progress(message=f"at {i}")  # type: ignore[attr-defined]

    with RunSystem(store=tmp_path / "s.sqlite3", retention=3600) as system:
        handle = system.start(flood)
        handle.wait(60)
        memory = [dump_event(ev) for ev in handle.events(after_seq=0)]
        store = system.store
        assert isinstance(store, SqliteRunStore)
        store.flush(60)
        assert _rows(store.path, handle.run_id) < len(memory) // 4
        for cursor in [*range(0, 300), *range(len(memory) - 300, len(memory) + 1)]:
            assert [r.data for r in store.read_events_raw(handle.run_id, cursor)] == memory[cursor:]


def test_a_v2_file_opens_and_reads_as_before(db_path: Path, open_store: Callable[..., SqliteRunStore]) -> None:
    """A file schema v2 left (a row per event) migrates to v3 in place; its runs read the same."""
    db_path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(db_path, isolation_level=None)
    for steps in MIGRATIONS[:2]:
        for sql in steps:
            conn.execute(sql)
    conn.execute("UPDATE schema_version SET version = 2")
    conn.execute("PRAGMA application_id = 1381453394")
    events = sample_events("v2", 40)
    conn.execute(
        "INSERT INTO runs (run_id, pipeline, inputs, state, created_at, ended_at, terminal, terminal_seq) "
        "VALUES ('v2', 'demo', '{}', 'completed', 1.0, 2.0, ?, 40)",
        (dump_event(events[-1]),),
    )
    for ev in events:
        conn.execute(
            "INSERT INTO events (id, type, ts, data) VALUES ((1 << 32) + ?, ?, ?, ?)",
            (ev.seq, ev.type, ev.ts.timestamp(), dump_event(ev)),
        )
    conn.close()
    store = open_store(db_path)
    assert SCHEMA_VERSION == 3
    conn = sqlite3.connect(db_path)
    try:
        assert conn.execute("SELECT version FROM schema_version").fetchone()[0] == SCHEMA_VERSION
        view = conn.execute("SELECT seq, data FROM event_log WHERE run_id = 'v2' ORDER BY seq").fetchall()
    finally:
        conn.close()
    wanted = [dump_event(ev) for ev in events]
    assert [bytes(data) for _, data in view] == wanted
    _check_every_cursor(store, "v2", wanted)
    # and it takes packed rows beside the old ones
    store.create_run("v3", "demo")
    more = _log("v3", [("delta", "a", "x", None, None)] * 30, None)
    store.append(more, [dump_event(ev) for ev in more])
    store.flush(30)
    _check_every_cursor(store, "v3", [dump_event(ev) for ev in more])
    assert store.gc(older_than=timedelta(0)) == 2
    assert store.read_events_raw("v3") == []


def test_utc_and_offset_timestamps_survive_packing(store: SqliteRunStore) -> None:
    at = datetime(2030, 5, 6, 7, 8, 9, 123456, tzinfo=UTC)
    offset = at.astimezone(__import__("datetime").timezone(timedelta(hours=5, minutes=30)))
    events = _log("tz", [("delta", "a", "x", None, at), ("delta", "a", "y", None, offset)], None)
    wanted = [dump_event(ev) for ev in events]
    store.create_run("tz", "demo")
    store.append(events, wanted)
    store.flush(30)
    _check_every_cursor(store, "tz", wanted)


def test_recovery_continues_after_a_packed_last_row(open_store: Callable[..., SqliteRunStore]) -> None:
    """Recovery reads the run's last event out of a packed row: the next seq, and its step."""
    first = open_store()
    first.create_run("left", "demo", parent_run_id="loop")
    events = _log("left", [("delta", "a", f"t{i}", None, None) for i in range(300)], 5)[:-1]
    first.append(events, [dump_event(ev) for ev in events])
    first.close()
    assert _rows(first.path, "left") < 5

    second = open_store()
    assert second.recover() == ["left"]
    log = second.read_events("left")
    assert [ev.seq for ev in log] == list(range(1, len(events) + 2))
    assert (log[-1].type, log[-1].step) == ("run.failed", 5)
    assert [dump_event(ev) for ev in log[:-1]] == [dump_event(ev) for ev in events]


def test_both_back_ends_read_packed_logs_from_every_cursor(open_any_store: Callable[..., Any]) -> None:
    """SQLite and PostgreSQL: deltas packed across batches (contiguous runs broken by progress
    events and a batch boundary), a cursor anywhere, pages of any size, and recovery after them."""
    store = open_any_store()
    kinds: list[tuple[object, ...]] = []
    for i in range(700):
        kinds.append(("progress", i) if i % 301 == 300 else ("delta", "a", f't{i}\n"é', None, None))
    events = _log("both", kinds, 4)
    wanted = [dump_event(ev) for ev in events]
    store.create_run("both", "demo")
    for start in range(0, len(events), 90):
        store.append(events[start : start + 90], wanted[start : start + 90])
    store.flush(30)
    assert store.get_run("both").last_seq == len(events)
    for cursor in [*range(0, 20), *range(250, 270), *range(690, len(events) + 1)]:
        assert [r.data for r in store.read_events_raw("both", cursor)] == wanted[cursor:]
        for limit in (1, 3, 100, 1000):
            page = store.read_events_raw("both", cursor, limit)
            assert [(r.seq, r.data) for r in page] == list(enumerate(wanted, 1))[cursor : cursor + limit]
    store.create_run("open", "demo")
    partial = _log("open", [("delta", "a", "x", None, None)] * 20, 4)[:-1]
    store.append(partial, [dump_event(ev) for ev in partial])
    store.close()
    again = open_any_store()
    assert "open" in again.recover()
    log = again.read_events("open")
    assert [(ev.seq, ev.type, ev.step) for ev in log[-2:]] == [(21, "text.delta", 4), (22, "run.failed", 4)]
