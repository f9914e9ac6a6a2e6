"""A run the store marks ended always has its terminal stored (issue 13, item 5; "Also seen").

Real SQLite files in tmp_path; a full disk is the store's ``max_db_bytes`` cap. A restart is a
new RunSystem on the same file, with nothing of the first in memory.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from runwire.actors import RunContext, RunSystem
from runwire.actors.store import SqliteRunStore
from runwire.actors.store._replay import GAP_REASON_NOT_STORED
from runwire.protocol import TERMINAL_TYPES, RunEvent, dump_event


def _flood_then_hold(release: threading.Event) -> Any:
    def pipeline(ctx: RunContext) -> None:
        ctx.log("before the flood")
        ctx.delta("blob", "x" * (2 * 2**20))  # too big for the 256 KiB "disk"
        ctx.log("after the flood")
        release.wait(30)

    return pipeline


def assert_every_seq_delivered_or_declared(events: list[RunEvent]) -> None:
    """seq 1..last each delivered once or covered by a stream.gap; one terminal, last."""
    covered: list[int] = []
    for event in events:
        if event.type == "stream.gap":
            covered += range(event.from_seq, event.to_seq + 1)  # type: ignore[attr-defined]
        else:
            covered.append(event.seq)
    assert covered == list(range(1, events[-1].seq + 1))
    assert [e.type in TERMINAL_TYPES for e in events].count(True) == 1
    assert events[-1].type in TERMINAL_TYPES


def test_a_run_failed_by_a_store_write_error_has_its_terminal_stored_for_a_new_process(tmp_path: Path) -> None:
    db = tmp_path / "runs.sqlite3"
    store = SqliteRunStore(db, max_db_bytes=256 * 1024)
    release = threading.Event()
    try:
        with RunSystem(store=store) as first:
            big = first.start(_flood_then_hold(release), name="big")
            live = list(big.events(timeout=10))
            release.set()
            terminal = live[-1]
            assert (terminal.type, terminal.error_type) == ("run.failed", "StoreWriteError")  # type: ignore[union-attr]
    finally:
        store.close()

    with RunSystem(store=db) as second:  # a new process: nothing of the first is in memory
        info = second.get(big.run_id)
        assert info.from_store and info.state == "failed"
        assert info.terminal is not None and dump_event(info.terminal) == dump_event(terminal)
        assert info.last_seq == terminal.seq
        handle = second.handle(big.run_id)
        assert dump_event(handle.wait(1)) == dump_event(terminal)  # not "running in another process"
        replay = list(handle.events())
        assert dump_event(replay[-1]) == dump_event(terminal)  # ends on the terminal, not a log line
        assert_every_seq_delivered_or_declared(replay)
        gaps = [e for e in replay if e.type == "stream.gap"]
        assert gaps and all(g.reason == GAP_REASON_NOT_STORED for g in gaps)  # type: ignore[attr-defined]
        assert list(handle.events()) == replay  # every read of the stored log is the same
        assert [i.run_id for i in second.runs(state="failed")] == [big.run_id]


def test_an_old_cursor_on_a_run_with_a_failed_write_gets_each_event_once_or_a_gap(tmp_path: Path) -> None:
    """The bus keeps 2 events; an older cursor is filled from the store, whose log has a hole
    (the failed write) and then the terminal: no event twice, none skipped silently."""
    store = SqliteRunStore(tmp_path / "runs.sqlite3", max_db_bytes=256 * 1024)
    release = threading.Event()
    acked: set[int] = set()
    committed = threading.Condition()

    def on_commit(acks: Mapping[str, int]) -> None:
        if "holed" in acks:
            with committed:
                acked.add(acks["holed"])
                committed.notify_all()

    store.add_commit_listener(on_commit)
    try:
        with RunSystem(store=store, retain_events=2) as system:

            def pipeline(ctx: RunContext) -> None:
                for i in range(5):
                    ctx.log(f"line {i}")
                ctx.delta("blob", "x" * (2 * 2**20))
                for i in range(20):
                    ctx.log(f"late {i}")
                release.wait(30)

            handle = system.start(pipeline, run_id="holed")
            live = list(handle.events(timeout=10, policy="block"))
            release.set()
            assert live[-1].type == "run.failed"
            with committed:  # the terminal is stored again after the failed write: wait for it
                assert committed.wait_for(lambda: live[-1].seq in acked, 10)
            replay = list(handle.events(after_seq=0, timeout=10))
            assert_every_seq_delivered_or_declared(replay)
            assert dump_event(replay[-1]) == dump_event(live[-1])
            assert [e.reason for e in replay if e.type == "stream.gap"]  # type: ignore[attr-defined]
    finally:
        store.close()
