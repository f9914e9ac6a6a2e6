"""Every way an append reaches the SQLite writer stores the same rows.

The writer builds a drain's rows two ways: one run's ordinary events with a cached key in C
(``_Applier.append``'s fast path), anything else (several runs in one append, ``run.started``,
a terminal, a key not cached) one event at a time; events appended without their JSON are dumped
on the writer first. A property test holds all of them to the same stored log: each event's
``dump_event`` bytes, in seq order, and the run's row (state, last seq, terminal).
"""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from runwire.actors.store import SqliteRunStore, StoreWriteError
from runwire.protocol import RunCompleted, RunEvent, RunLog, RunStarted, TextDelta, dump_event

T0 = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
_text = st.text(st.characters(exclude_categories=("Cs",)), max_size=12)


@st.composite
def _run_log(draw: st.DrawFn, run_id: str) -> list[RunEvent]:
    """A run's log: run.started, deltas (and an odd log line), then maybe a terminal."""
    events: list[RunEvent] = [RunStarted(run_id=run_id, seq=1, ts=T0, pipeline="p")]
    for _ in range(draw(st.integers(0, 40))):
        seq = len(events) + 1
        ts = T0 + timedelta(microseconds=draw(st.integers(0, 10**9)))
        if draw(st.integers(0, 9)) == 0:
            events.append(RunLog(run_id=run_id, seq=seq, ts=ts, message=draw(_text)))
        else:
            artifact = draw(st.none() | _text.filter(bool))
            field, text = draw(_text), draw(_text)
            events.append(TextDelta(run_id=run_id, seq=seq, ts=ts, field=field, text=text, artifact_id=artifact))
    if draw(st.booleans()):
        events.append(RunCompleted(run_id=run_id, seq=len(events) + 1, ts=T0, result=draw(_text)))
    return events


@st.composite
def _appends(draw: st.DrawFn) -> tuple[dict[str, list[RunEvent]], list[tuple[list[RunEvent], bool]]]:
    """Two runs' logs, interleaved (each in its own order), cut into appends with or without JSON."""
    logs = {run_id: draw(_run_log(run_id)) for run_id in ("a", "b")}
    cursors = dict.fromkeys(logs, 0)
    merged: list[RunEvent] = []
    while any(cursors[r] < len(log) for r, log in logs.items()):
        open_runs = [r for r, log in logs.items() if cursors[r] < len(log)]
        run_id = draw(st.sampled_from(open_runs))
        take = draw(st.integers(1, 12))
        merged += logs[run_id][cursors[run_id] : cursors[run_id] + take]
        cursors[run_id] += take
    appends: list[tuple[list[RunEvent], bool]] = []
    i = 0
    while i < len(merged):
        size = draw(st.integers(1, 30))
        appends.append((merged[i : i + size], draw(st.booleans())))
        i += size
    return logs, appends


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_appends())
def test_every_append_path_stores_each_event_byte_for_byte(
    case: tuple[dict[str, list[RunEvent]], list[tuple[list[RunEvent], bool]]],
) -> None:
    logs, appends = case
    with tempfile.TemporaryDirectory(prefix="runwire-test-") as tmp:
        store = SqliteRunStore(Path(tmp) / "runs.sqlite3")
        try:
            for run_id in logs:
                store.create_run(run_id, "p")
            for events, with_json in appends:
                store.append(events, [dump_event(e) for e in events] if with_json else None)
            store.flush(30)
            for run_id, log in logs.items():
                raw = store.read_events_raw(run_id)
                assert [(r.seq, r.type, r.data) for r in raw] == [(e.seq, e.type, dump_event(e)) for e in log]
                run = store.get_run(run_id)
                assert run is not None
                ended = log[-1].type == "run.completed"
                assert (run.state, run.last_seq) == ("completed" if ended else "running", len(log))
                assert run.terminal == (log[-1] if ended else None)
        finally:
            store.close()


def test_a_duplicate_seq_among_columns_fails_only_its_run(tmp_path: Path) -> None:
    """A drain of appends given with their JSON (columns) and a constraint broken by one run:
    the writer splits the columns per run and commits the other run's events."""
    failed: list[tuple[str, ...]] = []
    store = SqliteRunStore(tmp_path / "runs.sqlite3", on_write_error=lambda run_ids, exc: failed.append(tuple(run_ids)))
    try:
        deltas = {r: [TextDelta(run_id=r, seq=s, ts=T0, field="f", text=f"{r}{s}") for s in (1, 2, 3)] for r in "ab"}
        for run_id in deltas:
            store.create_run(run_id, "p")
        store.append(deltas["a"][:2], [dump_event(e) for e in deltas["a"][:2]])
        store.flush(5)
        mixed = [*deltas["b"], deltas["a"][1]]  # run a's seq 2 again, in one append with run b's
        store.append(mixed, [dump_event(e) for e in mixed])
        with pytest.raises(StoreWriteError, match=r"(?i)unique") as info:  # the flush owes run a's failure
            store.flush(5)
        assert info.value.run_ids == ("a",)
        assert failed == [("a",)]
        assert [r.data for r in store.read_events_raw("b")] == [dump_event(e) for e in deltas["b"]]
        assert [r.seq for r in store.read_events_raw("a")] == [1, 2]
    finally:
        store.close()
