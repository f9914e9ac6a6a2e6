"""Child process for the RunSystem + store tests (run as a script, never collected by pytest).

``crash <db>``: a RunSystem persisting to ``<db>`` runs one pipeline that logs forever. After
each store commit it prints ``ack <seq>`` (every event of the run up to seq is committed); the
first line is ``run <run_id>``. The test SIGKILLs it mid-run.
``hold <db>``: start one run that waits for a line on stdin, print ``run <run_id>`` once its
first events are committed, then finish the run when stdin says so (a live run of "another
process" for the CLI tests).
``race <db> <n>``: ``n`` times: start a run that waits for a line on stdin, print ``run <run_id>``
once it is committed, release it on the next line, print ``end <terminal type>`` (the parent
cancels it from its own process at the same moment: a cancel racing completion).
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Mapping

from runwire.actors import RunContext, RunSystem


def crash_mode(db: str) -> None:
    def chatter(ctx: RunContext) -> None:
        i = 0
        while True:
            i += 1
            ctx.log(f"line {i}")

    system = RunSystem(store=db)
    assert system.store is not None
    run_id = "crash-run"
    lock = threading.Lock()

    def acked(acks: Mapping[str, int]) -> None:  # on the store's writer thread
        seq = acks.get(run_id)
        if seq is not None:
            with lock:
                print(f"ack {seq}", flush=True)

    system.store.add_commit_listener(acked)
    print(f"run {run_id}", flush=True)
    system.start(chatter, {"kind": "crash"}, run_id=run_id, name="chatter").wait()


def hold_mode(db: str) -> None:
    release = threading.Event()

    def held(ctx: RunContext) -> str:
        ctx.milestone("holding")
        release.wait(60)
        return "released"

    with RunSystem(store=db) as system:
        handle = system.start(held, name="held")
        for event in handle.events():
            if event.type == "run.milestone":
                break
        assert system.store is not None
        system.store.flush(30)  # run.started and the milestone are committed: readable elsewhere
        print(f"run {handle.run_id}", flush=True)
        sys.stdin.readline()
        release.set()
        handle.wait(30)
    print("done", flush=True)


def race_mode(db: str, n: int) -> None:
    with RunSystem(store=db) as system:
        assert system.store is not None
        for _ in range(n):
            release = threading.Event()

            def held(ctx: RunContext, release: threading.Event = release) -> str:
                release.wait(60)
                return "completed"

            handle = system.start(held, name="race")
            system.store.flush(30)
            print(f"run {handle.run_id}", flush=True)
            sys.stdin.readline()
            release.set()
            print(f"end {handle.wait(30).type}", flush=True)


if __name__ == "__main__":
    mode, db = sys.argv[1:3]
    if mode == "race":
        race_mode(db, int(sys.argv[3]))
    else:
        crash_mode(db) if mode == "crash" else hold_mode(db)
