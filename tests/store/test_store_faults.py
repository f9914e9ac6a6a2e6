"""Faults while running: a full disk or a read-only file fails the affected runs, the rest goes on."""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
from store_helpers import sample_events

from runwire.actors.store import SqliteRunStore, StoreError, StoreWriteError
from runwire.protocol import RunFailed, TextDelta


class Failures:
    """A write-error listener that records what it is told."""

    def __init__(self) -> None:
        self.calls: list[tuple[tuple[str, ...], StoreError]] = []

    def __call__(self, run_ids: Sequence[str], exc: StoreError) -> None:
        self.calls.append((tuple(run_ids), exc))

    def run_ids(self) -> set[str]:
        return {rid for ids, _ in self.calls for rid in ids}


def test_full_disk_fails_the_writes_and_the_store_keeps_serving(open_store: Callable[..., SqliteRunStore]) -> None:
    failures = Failures()
    store = open_store(max_db_bytes=256 * 1024, on_write_error=failures)
    for i in range(5):  # finished runs (~25 KB each) that gc can free later
        store.create_run(f"old{i}", "demo")
        store.append(sample_events(f"old{i}", 1, terminal=False))
        store.append([TextDelta(run_id=f"old{i}", seq=seq, field="f", text="o" * 6000) for seq in range(2, 6)])
        store.append([RunFailed(run_id=f"old{i}", seq=6, error_type="E", message="m")])
    store.flush(5)
    store.create_run("big", "demo")
    store.append(sample_events("big", 1, terminal=False))
    store.flush(5)  # acknowledged: survives what follows

    seq, blob = 1, "x" * 8000
    with pytest.raises(StoreWriteError) as info:
        for _ in range(100):  # 100 * 8 KB > the 256 KB cap: fills up
            store.append([TextDelta(run_id="big", seq=seq + k, field="f", text=blob) for k in range(1, 5)])
            store.flush(5)
            seq += 4
    assert info.value.run_ids == ("big",)
    assert "full" in str(info.value)
    assert str(store.path) in str(info.value)
    assert failures.run_ids() == {"big"}

    # committed data is intact and readable
    assert [r.seq for r in store.read_events_raw("big")] == list(range(1, seq + 1))
    assert len(store.list_runs(state="failed")) == 5

    # retention frees room; the runtime can then fail the run with run.failed
    pages_full = store.page_stats()[0]
    assert store.gc(keep_last=0) == 5
    assert store.page_stats()[0] < pages_full - 20
    store.append([RunFailed(run_id="big", seq=seq + 1, error_type="StoreWriteError", message=str(info.value))])
    store.create_run("next", "demo")
    store.append(sample_events("next", 4))
    store.flush(5)
    big = store.get_run("big")
    assert big is not None
    assert (big.state, big.last_seq) == ("failed", seq + 1)
    assert [r.seq for r in store.read_events_raw("next")] == [1, 2, 3, 4]


def test_a_run_created_in_a_drain_that_fails_is_still_recorded(open_store: Callable[..., SqliteRunStore]) -> None:
    """Create + a too-big append in one drain: the rollback must not erase the run itself.

    The writer is held inside a commit listener so both writes are queued before it drains them
    together (the group commit a busy system does); the run must then be listed and can be failed.
    """
    failures = Failures()
    store = open_store(max_db_bytes=256 * 1024, on_write_error=failures)
    held, release = threading.Event(), threading.Event()

    def hold_once(acks: object) -> None:
        if not held.is_set():
            held.set()
            release.wait(10)

    remove = store.add_commit_listener(hold_once)
    store.create_run("gate", "demo")
    store.append(sample_events("gate", 1, terminal=False))
    assert held.wait(10)  # the writer is inside the listener: the next writes queue up
    store.create_run("big", "demo")
    store.append([TextDelta(run_id="big", seq=1, field="f", text="x" * (2 * 2**20))])
    release.set()
    with pytest.raises(StoreWriteError) as info:
        store.flush(10)
    remove()
    assert info.value.run_ids == ("big",)
    assert failures.run_ids() == {"big"}
    big = store.get_run("big")
    assert big is not None and big.last_seq == 0  # recorded, without the event that did not fit
    store.set_state("big", "failed")
    store.flush(10)
    assert store.get_run("big").state == "failed"  # type: ignore[union-attr]


def _finished_file(open_store: Callable[..., SqliteRunStore]) -> SqliteRunStore:
    writer = open_store()
    writer.create_run("done", "demo")
    writer.append(sample_events("done", 4))
    writer.close()
    return writer


def test_read_only_file_serves_reads_and_fails_writes(open_store: Callable[..., SqliteRunStore]) -> None:
    path = _finished_file(open_store).path
    failures = Failures()
    store = open_store(path, read_only=True, on_write_error=failures)
    assert [r.seq for r in store.read_events_raw("done")] == [1, 2, 3, 4]

    store.create_run("new", "demo")
    store.append(sample_events("new", 2))
    with pytest.raises(StoreWriteError, match="read-only") as info:
        store.flush(5)
    assert info.value.run_ids == ("new",)
    assert str(path) in str(info.value)
    assert failures.run_ids() == {"new"}

    # still serving: reads answer, later writes fail the same clear way, flush does not hang
    run = store.get_run("done")
    assert run is not None
    assert run.state == "completed"
    store.set_state("done", "running")
    with pytest.raises(StoreWriteError, match="read-only"):
        store.flush(5)
    with pytest.raises(StoreError, match="writable"):
        store.recover()


def _permissions_bind(directory: Path) -> bool:
    """False where this process may write a 0o444 file anyway (root / CAP_DAC_OVERRIDE)."""
    probe = directory / "probe"
    probe.write_text("")
    probe.chmod(0o444)
    try:
        with open(probe, "a"):
            return False
    except PermissionError:
        return True
    finally:
        probe.chmod(0o644)
        probe.unlink()


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX permissions")
def test_chmod_read_only_file_fails_writes_clearly(open_store: Callable[..., SqliteRunStore], tmp_path: Path) -> None:
    if not _permissions_bind(tmp_path):
        pytest.skip("this process ignores file permissions (root or CAP_DAC_OVERRIDE)")
    path = _finished_file(open_store).path
    path.chmod(0o444)
    try:
        failures = Failures()
        store = open_store(path, on_write_error=failures)
        assert [r.seq for r in store.read_events_raw("done")] == [1, 2, 3, 4]
        store.create_run("new", "demo")
        with pytest.raises(StoreWriteError, match="read-only"):
            store.flush(5)
        assert failures.run_ids() == {"new"}
    finally:
        path.chmod(0o644)


def test_unwritable_location_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(StoreError, match="opening the run store failed") as info:
        SqliteRunStore(blocker / "sub" / "runs.sqlite3")
    assert str(blocker) in str(info.value)


def test_a_write_error_listener_can_fail_the_run_right_away(open_store: Callable[..., SqliteRunStore]) -> None:
    """The runtime's reaction, run on the writer thread: append run.failed for the failed run."""
    store: SqliteRunStore

    def fail_runs(run_ids: Sequence[str], exc: StoreError) -> None:
        for run_id in run_ids:
            last = store.get_run(run_id)
            seq = (last.last_seq if last else 0) + 1
            store.append([RunFailed(run_id=run_id, seq=seq, error_type=type(exc).__name__, message=str(exc))])

    store = open_store(on_write_error=fail_runs)
    store.create_run("r", "demo")
    store.append(sample_events("r", 3, terminal=False))
    store.flush(5)
    store.append(sample_events("r", 3, terminal=False)[2:])  # seq 3 again: refused by the store
    with pytest.raises(StoreWriteError, match="UNIQUE"):
        store.flush(5)
    store.flush(5)  # the listener's run.failed was enqueued before this flush
    run = store.get_run("r")
    assert run is not None
    assert (run.state, run.last_seq) == ("failed", 4)
    terminal = run.terminal
    assert isinstance(terminal, RunFailed)
    assert terminal.error_type == "StoreWriteError"
