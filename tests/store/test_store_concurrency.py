"""Two processes writing different runs to one file (WAL + busy_timeout), and recovery beside a live process."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from store_helpers import sample_events, spawn_child

from runwire.actors.store import SqliteRunStore


@pytest.fixture
def open_store(open_any_store: Callable[..., SqliteRunStore]) -> Callable[..., SqliteRunStore]:
    """Both tests on SQLite (one file) and PostgreSQL (one schema)."""
    return open_any_store


def test_two_processes_write_different_runs_to_one_file(
    store_location: str, open_store: Callable[..., SqliteRunStore]
) -> None:
    watcher = open_store()  # a third party: recovers nothing while both writers live
    children = [spawn_child("write", store_location, prefix, "15", "150") for prefix in ("a", "b")]
    for child in children:
        assert child.stdout is not None
        assert child.stdout.readline() == "ready\n"
    for child in children:  # start both at once so their transactions interleave
        assert child.stdin is not None
        child.stdin.write("go\n")
        child.stdin.flush()
    assert watcher.recover() == []
    for child in children:
        out, err = child.communicate(timeout=60)
        assert child.returncode == 0, err
        assert out == "done\n"

    runs = watcher.list_runs(limit=100)
    assert len(runs) == 30
    assert {r.state for r in runs} == {"completed"}
    for run in runs:
        assert [r.seq for r in watcher.read_events_raw(run.run_id)] == list(range(1, 152))
    assert watcher.recover() == []  # both exited cleanly after finishing their runs


def test_threads_and_a_second_store_in_one_process_share_the_file(open_store: Callable[..., SqliteRunStore]) -> None:
    first, second = open_store(), open_store()
    for store, prefix in ((first, "x"), (second, "y")):
        for i in range(20):
            store.create_run(f"{prefix}{i}", "demo")
            store.append(sample_events(f"{prefix}{i}", 25))
    first.flush(10)
    second.flush(10)
    assert len(first.list_runs(state="completed", limit=100)) == 40
    assert [r.seq for r in second.read_events_raw("x7")] == list(range(1, 26))
