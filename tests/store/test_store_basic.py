"""Round trips, states, reads, listeners and argument checks of a RunStore: each test runs on
SQLite and on PostgreSQL (``store_backend``): the behaviour is the interface's, not a back-end's."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path

import pytest
from store_helpers import T0, sample_events, where

from runwire.actors.store import (
    DB_FILENAME,
    ENV_DATA_DIR,
    RunStore,
    SqliteRunStore,
    StoreClosedError,
    StoreError,
    StoreWriteError,
    resolve_db_path,
)
from runwire.protocol import RunCancelled, RunEvent, RunFailed, TextDelta, dump_event


@pytest.fixture
def open_store(open_any_store: Callable[..., SqliteRunStore]) -> Callable[..., SqliteRunStore]:
    """Every test here on each back-end (annotated with the SQLite class, the protocol's twin)."""
    return open_any_store


@pytest.fixture
def store(open_store: Callable[..., SqliteRunStore]) -> SqliteRunStore:
    return open_store()


def test_replay_is_byte_identical(store: SqliteRunStore) -> None:
    events = sample_events("r1", 12)
    store.create_run("r1", "demo", {"repo": "x"})
    store.append(events)
    store.flush(5)
    raw = store.read_events_raw("r1")
    assert [r.data for r in raw] == [dump_event(e) for e in events]
    assert [(r.seq, r.type) for r in raw] == [(e.seq, e.type) for e in events]
    assert store.read_events("r1") == events


def test_run_record_follows_the_events(store: SqliteRunStore) -> None:
    api: RunStore = store  # mypy checks SqliteRunStore against the protocol here
    assert isinstance(api, RunStore)
    events = sample_events("r1", 5)
    store.create_run("r1", "demo", {"repo": "x", "n": [1, 2]}, parent_run_id="loop", created_at=T0)
    store.flush(5)
    run = store.get_run("r1")
    assert run is not None
    assert (run.state, run.pipeline, run.inputs, run.parent_run_id) == (
        "pending",
        "demo",
        {"repo": "x", "n": [1, 2]},
        "loop",
    )
    assert (run.created_at, run.started_at, run.ended_at, run.last_seq, run.terminal) == (T0, None, None, 0, None)

    store.append(events[:2])
    store.flush(5)
    run = store.get_run("r1")
    assert run is not None
    assert (run.state, run.started_at, run.last_seq) == ("running", events[0].ts, 2)

    store.append(events[2:])
    store.flush(5)
    run = store.get_run("r1")
    assert run is not None
    assert (run.state, run.ended_at, run.last_seq) == ("completed", events[-1].ts, 5)
    assert run.terminal == events[-1]
    assert run.terminal_json == dump_event(events[-1])
    assert store.get_run("nope") is None


@pytest.mark.parametrize(
    ("terminal", "state"),
    [
        (RunFailed(run_id="r", seq=2, error_type="ValueError", message="boom"), "failed"),
        (RunCancelled(run_id="r", seq=2, reason="user"), "cancelled"),
    ],
)
def test_terminal_kind_sets_state_and_later_set_state_is_ignored(
    store: SqliteRunStore, terminal: RunEvent, state: str
) -> None:
    store.create_run("r", "demo")
    store.set_state("r", "running")
    store.append([sample_events("r", 1, terminal=False)[0], terminal])
    store.set_state("r", "running")  # a terminal state is final
    store.flush(5)
    run = store.get_run("r")
    assert run is not None
    assert run.state == state
    assert run.terminal == terminal


def test_set_state_moves_a_live_run(store: SqliteRunStore) -> None:
    at = datetime(2025, 5, 5, tzinfo=UTC)
    store.create_run("r", "demo")
    store.set_state("r", "running", at=at)
    store.flush(5)
    run = store.get_run("r")
    assert run is not None
    assert (run.state, run.started_at) == ("running", at)
    store.set_state("r", "cancelled", at=at)
    store.flush(5)
    run = store.get_run("r")
    assert run is not None
    assert (run.state, run.ended_at, run.terminal) == ("cancelled", at, None)


def test_read_events_after_seq_and_limit(store: SqliteRunStore) -> None:
    events = sample_events("r", 10)
    store.create_run("r", "demo")
    store.append(events)
    store.flush(5)
    assert [e.seq for e in store.read_events("r", after_seq=3, limit=4)] == [4, 5, 6, 7]
    assert [r.seq for r in store.read_events_raw("r", after_seq=8)] == [9, 10]
    assert store.read_events("r", after_seq=10) == []
    assert store.read_events("unknown") == []


def test_one_append_may_mix_runs_and_encoded_bytes_are_kept_verbatim(store: SqliteRunStore) -> None:
    a, b = sample_events("a", 4), sample_events("b", 4)
    mixed = [ev for pair in zip(a, b, strict=True) for ev in pair]
    # bytes the caller already holds are stored as given (here: with a trailing space)
    encoded = [dump_event(ev) + b" " for ev in mixed]
    store.create_run("a", "demo")
    store.create_run("b", "demo")
    store.append(mixed, encoded=encoded)
    store.flush(5)
    assert [r.data for r in store.read_events_raw("a")] == encoded[0::2]
    assert [r.data for r in store.read_events_raw("b")] == encoded[1::2]
    assert {r.state for r in store.list_runs()} == {"completed"}


def test_list_runs_filters_newest_first(store: SqliteRunStore) -> None:
    for i in range(6):
        store.create_run(
            f"r{i}", "demo", parent_run_id="loop" if i % 2 else None, created_at=datetime.fromtimestamp(1000 + i, UTC)
        )
    store.append(sample_events("r0", 2))
    store.append(sample_events("r1", 3, terminal=False))
    store.flush(5)
    assert [r.run_id for r in store.list_runs()] == ["r5", "r4", "r3", "r2", "r1", "r0"]
    assert [r.run_id for r in store.list_runs(limit=2)] == ["r5", "r4"]
    assert [r.run_id for r in store.list_runs(state="completed")] == ["r0"]
    assert [r.run_id for r in store.list_runs(state="pending", parent_run_id="loop")] == ["r5", "r3"]
    assert [r.run_id for r in store.list_runs(parent_run_id="loop")] == ["r5", "r3", "r1"]


def test_commit_listener_sees_highest_committed_seq(open_store: Callable[..., SqliteRunStore]) -> None:
    committed: dict[str, int] = {}
    reached = threading.Event()

    def on_commit(acks: Mapping[str, int]) -> None:
        committed.update(acks)
        if committed.get("r") == 30:
            reached.set()

    store = open_store(on_commit=on_commit)
    store.create_run("r", "demo")
    for ev in sample_events("r", 30):
        store.append([ev])
    assert reached.wait(5)
    # what a listener was told is committed is visible to every reader
    assert [r.seq for r in store.read_events_raw("r")] == list(range(1, 31))
    remove = store.add_commit_listener(on_commit)
    remove()


def test_flush_covers_every_thread_s_writes(store: SqliteRunStore) -> None:
    def produce(run_id: str) -> None:
        store.create_run(run_id, "demo")
        for ev in sample_events(run_id, 200):
            store.append([ev])

    threads = [threading.Thread(target=produce, args=(f"t{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    store.flush(10)
    for i in range(4):
        assert [r.seq for r in store.read_events_raw(f"t{i}")] == list(range(1, 201))


def test_readers_see_a_growing_prefix_while_the_writer_runs(store: SqliteRunStore) -> None:
    """WAL readers run beside the writer and never see a hole or a half-written drain."""
    events = sample_events("r", 3000)
    store.create_run("r", "demo")
    store.flush(5)
    done = threading.Event()
    seen: list[list[int]] = []

    def read() -> None:
        while not done.is_set():
            seen.append([r.seq for r in store.read_events_raw("r")])

    reader = threading.Thread(target=read)
    reader.start()
    for i in range(0, len(events), 10):
        store.append(events[i : i + 10])
    store.flush(10)
    done.set()
    reader.join()
    seen.append([r.seq for r in store.read_events_raw("r")])
    assert all(seqs == list(range(1, len(seqs) + 1)) for seqs in seen)
    assert len(seen[-1]) == 3000


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="counts open files through /proc")
def test_short_lived_reader_threads_do_not_pile_up_connections(store: SqliteRunStore) -> None:
    """The reads' pool is bounded (8 idle SQLite connections of 3 files each; 4 PostgreSQL sockets)."""
    store.create_run("r", "demo")
    store.flush(5)
    store.get_run("r")
    before = len(os.listdir("/proc/self/fd"))
    for _ in range(5):
        threads = [threading.Thread(target=store.get_run, args=("r",)) for _ in range(20)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert len(os.listdir("/proc/self/fd")) <= before + 8 * 3  # at most the idle pool (db + wal + shm each)


def test_bad_arguments_fail_at_the_call(store: SqliteRunStore) -> None:
    with pytest.raises(ValueError, match="seq 0"):
        store.append([TextDelta(run_id="r", field="f", text="x")])
    with pytest.raises(TypeError, match="not JSON-serializable"):
        store.create_run("r", "demo", {"x": object()})
    with pytest.raises(ValueError, match="unknown run state"):
        store.set_state("r", "done")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="naive"):
        store.create_run("r", "demo", created_at=datetime(2024, 1, 1))
    with pytest.raises(ValueError, match="encoded"):
        store.append(sample_events("r", 2), encoded=[b"{}"])
    with pytest.raises(ValueError, match="durability"):
        type(store)(getattr(store, "url", store.path), durability="sometimes")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="older_than and/or keep_last"):
        store.gc()


def test_refused_writes_fail_only_their_run(open_store: Callable[..., SqliteRunStore]) -> None:
    failed: dict[str, list[str]] = {}

    def on_write_error(run_ids: Sequence[str], exc: StoreError) -> None:
        for run_id in run_ids:
            failed.setdefault(run_id, []).append(str(exc))

    store = open_store(on_write_error=on_write_error)
    store.create_run("ok", "demo")
    store.create_run("done", "demo")
    store.append(sample_events("done", 3))
    store.flush(5)
    store.create_run("done", "demo")  # duplicate run_id
    with pytest.raises(StoreWriteError, match="already exists"):
        store.flush(5)
    store.append([TextDelta(run_id="done", seq=4, field="f", text="late")])  # after its terminal
    store.append([TextDelta(run_id="ghost", seq=1, field="f", text="x")])  # no create_run
    store.append(sample_events("ok", 3, terminal=False))
    with pytest.raises(StoreWriteError) as info:
        store.flush(5)
    assert set(info.value.run_ids) == {"done", "ghost"}
    assert any("the run already ended" in msg for msg in failed["done"])
    assert "unknown run" in failed["ghost"][0]
    assert where(store) in failed["ghost"][0]
    assert [r.seq for r in store.read_events_raw("ok")] == [1, 2, 3]
    assert store.get_run("done") is not None
    assert store.read_events("done")[-1].seq == 3
    store.flush(5)  # failures are reported once


def test_duplicate_seq_fails_only_that_run(open_store: Callable[..., SqliteRunStore]) -> None:
    failed: list[tuple[str, ...]] = []
    store = open_store(on_write_error=lambda run_ids, exc: failed.append(tuple(run_ids)))
    for run_id in ("a", "b"):
        store.create_run(run_id, "demo")
    store.append(sample_events("a", 2, terminal=False))
    store.flush(5)
    # one drain holding a constraint violation of run a and good events of run b
    store.append([*sample_events("b", 3, terminal=False), sample_events("a", 2, terminal=False)[1]])
    with pytest.raises(StoreWriteError, match=r"(?i)unique") as info:
        store.flush(5)
    assert info.value.run_ids == ("a",)
    assert failed == [("a",)]
    assert [r.seq for r in store.read_events_raw("b")] == [1, 2, 3]


def test_listener_errors_do_not_stop_the_writer(open_store: Callable[..., SqliteRunStore]) -> None:
    calls: list[int] = []

    def bad(acks: Mapping[str, int]) -> None:
        calls.append(1)
        raise RuntimeError("listener bug")

    store = open_store(on_commit=bad)
    store.create_run("r", "demo")
    store.append(sample_events("r", 2))
    store.flush(5)
    store.append([TextDelta(run_id="r", seq=9, field="f", text="x")])
    with pytest.raises(StoreWriteError):
        store.flush(5)
    assert calls


def test_flush_from_a_listener_is_refused(open_store: Callable[..., SqliteRunStore]) -> None:
    errors: list[BaseException] = []
    store: SqliteRunStore

    def on_commit(acks: Mapping[str, int]) -> None:
        try:
            store.flush(1)
        except RuntimeError as exc:
            errors.append(exc)

    store = open_store(on_commit=on_commit)
    store.create_run("r", "demo")
    store.append(sample_events("r", 2))
    store.flush(5)
    assert errors
    assert "listener" in str(errors[0])


def test_closed_store_refuses_work_and_close_is_idempotent(
    store: SqliteRunStore, open_store: Callable[..., SqliteRunStore]
) -> None:
    store.create_run("r", "demo")
    store.append(sample_events("r", 3))
    store.close()
    store.close()
    with pytest.raises(StoreClosedError):
        store.append(sample_events("r", 3))
    with pytest.raises(StoreClosedError):
        store.flush(1)
    with pytest.raises(StoreClosedError):
        store.get_run("r")
    again = open_store()  # close() committed what was queued
    assert [r.seq for r in again.read_events_raw("r")] == [1, 2, 3]


@pytest.mark.parametrize("durability", ["off", "normal", "full"])
def test_every_durability_level_persists(open_store: Callable[..., SqliteRunStore], durability: str) -> None:
    store = open_store(durability=durability)
    store.create_run("r", "demo")
    store.append(sample_events("r", 4))
    store.close()
    again = open_store()
    assert [r.seq for r in again.read_events_raw("r")] == [1, 2, 3, 4]


def test_data_dir_resolution(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    explicit = tmp_path / "explicit.db"
    monkeypatch.setenv(ENV_DATA_DIR, str(tmp_path / "env"))
    assert resolve_db_path(explicit) == explicit
    assert resolve_db_path(data_dir=tmp_path / "arg") == tmp_path / "arg" / DB_FILENAME
    assert resolve_db_path() == tmp_path / "env" / DB_FILENAME
    monkeypatch.delenv(ENV_DATA_DIR)
    assert resolve_db_path().name == DB_FILENAME
    assert "runwire" in str(resolve_db_path())
    with SqliteRunStore(data_dir=tmp_path / "deep" / "dir") as store:
        assert store.path == tmp_path / "deep" / "dir" / DB_FILENAME
        assert store.path.exists()
