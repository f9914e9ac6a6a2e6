"""Child process for the store tests (run as a script, never collected by pytest).

``<db>`` is a SQLite path or a postgresql:// URL.
``kill <db> <run_id> <durability>``: write one run forever; after each flush print
``ack <seq>`` (every event up to seq is acknowledged). The test SIGKILLs it mid-run.
``write <db> <prefix> <runs> <events>``: print ``ready``, wait for a line on stdin, write
whole runs, flush, print ``done``. Two of these share one file in the concurrency test.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta

from store_helpers import open_location

from runwire.protocol import RunCompleted, RunEvent, RunStarted, TextDelta

T0 = datetime(2024, 1, 1, tzinfo=UTC)


def make_event(run_id: str, seq: int) -> RunEvent:
    """Deterministic events (fixed timestamps) so the parent can rebuild their exact bytes."""
    ts = T0 + timedelta(milliseconds=seq)
    if seq == 1:
        return RunStarted(run_id=run_id, seq=1, ts=ts, pipeline="child", parent_run_id="loop-1", step=3)
    return TextDelta(run_id=run_id, seq=seq, ts=ts, parent_run_id="loop-1", step=3, field="out", text=f"t{seq} ")


def kill_mode(db: str, run_id: str, durability: str) -> None:
    store = open_location(db, durability=durability)
    store.create_run(run_id, "child", {"n": 1}, parent_run_id="loop-1")
    seq = 0
    while True:
        for _ in range(7):
            seq += 1
            store.append([make_event(run_id, seq)])
        store.flush(30)
        print(f"ack {seq}", flush=True)


def write_mode(db: str, prefix: str, runs: int, events: int) -> None:
    store = open_location(db)
    print("ready", flush=True)
    sys.stdin.readline()
    for r in range(runs):
        run_id = f"{prefix}-{r}"
        store.create_run(run_id, "child")
        for seq in range(1, events + 1):
            store.append([make_event(run_id, seq)])
        store.append([RunCompleted(run_id=run_id, seq=events + 1, ts=T0, result=r)])
    store.flush(60)
    store.close()
    print("done", flush=True)


if __name__ == "__main__":
    mode, *rest = sys.argv[1:]
    if mode == "kill":
        kill_mode(rest[0], rest[1], rest[2])
    else:
        write_mode(rest[0], rest[1], int(rest[2]), int(rest[3]))
