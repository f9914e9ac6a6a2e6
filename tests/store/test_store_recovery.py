"""Crash recovery: a SIGKILLed writer loses no acknowledged event; live owners are left alone.

Every test runs on SQLite and PostgreSQL (``store_backend``)."""

from __future__ import annotations

import os
import runpy
import signal
import sys
from collections.abc import Callable

import pytest
from store_helpers import CHILD, sample_events, spawn_child

from runwire.actors.store import SqliteRunStore, StoreWriteError
from runwire.protocol import RunFailed, dump_event, is_terminal

make_event = runpy.run_path(str(CHILD))["make_event"]


@pytest.fixture
def open_store(open_any_store: Callable[..., SqliteRunStore]) -> Callable[..., SqliteRunStore]:
    return open_any_store


def recovered_now_or_by_the_sweep(store: SqliteRunStore, run_id: str) -> None:
    """``recover()`` closes the dead owner's run; on PostgreSQL the server may not have ended the
    killed client's session yet at that instant, and then the lease sweep closes it (lease/3)."""
    got = store.recover()
    if got != [run_id]:
        assert got == []
        assert store.wait_for_change(run_id, 2**40, 30)  # type: ignore[attr-defined]


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")
@pytest.mark.parametrize("durability", ["off", "normal", "full"])
def test_sigkill_mid_run_loses_no_acknowledged_event(
    store_location: str, open_store: Callable[..., SqliteRunStore], durability: str
) -> None:
    child = spawn_child("kill", store_location, "victim", durability)
    assert child.stdout is not None
    acked = 0
    try:
        while acked < 70:  # ten flushes in, while it keeps appending
            line = child.stdout.readline()
            assert line.startswith("ack "), (
                f"child said {line!r}; stderr: {child.stderr.read() if child.stderr else ''}"
            )
            acked = int(line.split()[1])
    finally:
        os.kill(child.pid, signal.SIGKILL)
        rest, _ = child.communicate(timeout=10)
    assert child.returncode == -signal.SIGKILL
    acked = max([acked, *(int(line.split()[1]) for line in rest.splitlines() if line.startswith("ack "))])

    store = open_store()
    recovered_now_or_by_the_sweep(store, "victim")
    raw = store.read_events_raw("victim")
    seqs = [r.seq for r in raw]
    assert seqs == list(range(1, len(seqs) + 1))  # contiguous
    assert len(seqs) - 1 >= acked  # every acknowledged event survived
    for r in raw[:-1]:
        assert r.data == dump_event(make_event("victim", r.seq))  # byte-identical
    events = store.read_events("victim")
    assert [e for e in events if is_terminal(e)] == [events[-1]]  # exactly one terminal, last
    last = events[-1]
    assert isinstance(last, RunFailed)
    assert last.error_type == "ProcessExited"
    assert "exited before the run ended" in last.message
    assert (last.parent_run_id, last.step) == ("loop-1", 3)
    run = store.get_run("victim")
    assert run is not None
    assert (run.state, run.last_seq, run.terminal) == ("failed", last.seq, last)
    assert store.recover() == []  # idempotent


def test_recover_leaves_runs_of_a_live_store_alone(open_store: Callable[..., SqliteRunStore]) -> None:
    owner = open_store()
    owner.create_run("mine", "demo")
    owner.append(sample_events("mine", 3, terminal=False))
    owner.flush(5)

    other = open_store()
    assert other.recover() == []
    assert owner.recover() == []  # a store never recovers its own runs
    run = other.get_run("mine")
    assert run is not None
    assert run.state == "running"

    owner.append(sample_events("mine", 4)[-1:])  # the owner finishes it normally
    owner.flush(5)
    run = other.get_run("mine")
    assert run is not None
    assert run.state == "completed"


def test_runs_left_in_flight_by_a_closed_store_are_recovered(open_store: Callable[..., SqliteRunStore]) -> None:
    first = open_store()
    first.create_run("pending", "demo")
    first.create_run("running", "demo", parent_run_id="loop")
    first.append(sample_events("running", 2, terminal=False))
    first.create_run("done", "demo")
    first.append(sample_events("done", 2))
    first.close()

    second = open_store()
    assert sorted(second.recover()) == ["pending", "running"]
    pending = second.read_events("pending")
    assert [(e.seq, e.type) for e in pending] == [(1, "run.failed")]
    running = second.read_events("running")
    assert [e.seq for e in running] == [1, 2, 3]
    assert running[-1].parent_run_id == "loop"
    assert {r.run_id: r.state for r in second.list_runs()} == {
        "pending": "failed",
        "running": "failed",
        "done": "completed",
    }
    if isinstance(second, SqliteRunStore):
        owners = second.path.with_name(second.path.name + "-owners")
        owner_files = sorted(p.suffix for p in owners.iterdir() if p.name != "open.lock")
        assert owner_files == [".lock", ".sock"]  # the live store's; the dead owner's files were removed


def test_recovery_refuses_late_events_of_the_closed_run(open_store: Callable[..., SqliteRunStore]) -> None:
    first = open_store()
    first.create_run("r", "demo")
    first.append(sample_events("r", 2, terminal=False))
    first.close()
    second = open_store()
    assert second.recover() == ["r"]
    second.append(sample_events("r", 5)[3:4])  # seq 3 is the recovery terminal
    with pytest.raises(StoreWriteError, match="the run already ended"):
        second.flush(5)
    assert [e.type for e in second.read_events("r")][-1] == "run.failed"
