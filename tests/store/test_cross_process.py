"""Follow and cancel a run another live process owns on the same store (issue 15, parts 1 and 2):
every test on a SQLite file and on a PostgreSQL schema (``store_backend``, tests/store/conftest.py).

Real child processes (tests/store/system_child.py), real sockets, SIGKILL; every wait bounded.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest
from store_helpers import open_location, sample_events

from runwire.actors import RunContext, RunSystem, RunTimeoutError
from runwire.actors.store import StoreError
from runwire.protocol import TERMINAL_TYPES, RunEvent

CHILD = Path(__file__).with_name("system_child.py")

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="Unix sockets and SIGKILL")


@pytest.fixture
def db(store_location: str) -> str:
    """The shared store: a SQLite file, or a PostgreSQL schema URL with a 3 s owner lease."""
    return f"{store_location}&lease=3" if store_location.startswith("postgresql://") else store_location


def _child(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(CHILD), *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.fixture
def crashing(db: str) -> Iterator[subprocess.Popen[str]]:
    """A system in a child process whose run logs forever, until the test SIGKILLs it."""
    child = _child("crash", db)
    try:
        yield child
    finally:
        if child.poll() is None:
            child.kill()
        child.wait(30)


def _first_ack(child: subprocess.Popen[str]) -> int:
    assert child.stdout is not None
    assert child.stdout.readline().split() == ["run", "crash-run"], child.stderr.read() if child.stderr else ""
    words = child.stdout.readline().split()
    assert words and words[0] == "ack", child.stderr.read() if child.stderr else ""
    return int(words[1])


def test_a_follower_sees_every_event_once_in_order_then_the_kill_9_terminal(
    db: str, crashing: subprocess.Popen[str]
) -> None:
    acked = _first_ack(crashing)
    with RunSystem(store=db) as follower:  # the owner is alive: opening recovers nothing of it
        handle = follower.handle("crash-run")
        assert handle.info().state == "running"
        waited: list[RunEvent] = []
        waiter = threading.Thread(target=lambda: waited.append(handle.wait(60)), daemon=True)
        waiter.start()
        seen: list[RunEvent] = []
        for event in handle.events(timeout=60):
            seen.append(event)
            if len(seen) == acked + 200:  # well into the live tail: now kill the owner
                os.kill(crashing.pid, signal.SIGKILL)
        waiter.join(60)
    assert [e.seq for e in seen] == list(range(1, len(seen) + 1))  # no duplicate, no hole
    terminal = seen[-1]
    assert terminal.type == "run.failed" and terminal.error_type == "ProcessExited"
    assert sum(e.type in TERMINAL_TYPES for e in seen) == 1
    assert waited == [terminal]  # the waiter got that terminal too, no hang
    with open_location(db) as store:  # and it is what the file holds
        assert store.get_run("crash-run").terminal == terminal  # type: ignore[union-attr]


def test_a_bare_store_waiting_on_a_killed_owner_recovers_its_run(db: str, crashing: subprocess.Popen[str]) -> None:
    acked = _first_ack(crashing)
    with open_location(db) as store:
        rec = store.get_run("crash-run")
        assert rec is not None and rec.ended_at is None
        last = store.read_events("crash-run", 0)[-1].seq
        assert store.wait_for_change("crash-run", last, 30)  # the next commit's notice
        os.kill(crashing.pid, signal.SIGKILL)
        cursor = acked
        while (rec := store.get_run("crash-run")) is not None and rec.ended_at is None:
            assert store.wait_for_change("crash-run", rec.last_seq, 30), "no notice and no recovery"
            cursor = rec.last_seq
        assert rec is not None and rec.state == "failed" and cursor >= acked
        store.request_cancel("crash-run", "too late", 5)  # ended: returns at once


def _race(db: str, n: int) -> Iterator[tuple[subprocess.Popen[str], str]]:
    child = _child("race", db, str(n))
    assert child.stdout is not None and child.stdin is not None
    try:
        for _ in range(n):
            words = child.stdout.readline().split()
            assert words and words[0] == "run", child.stderr.read() if child.stderr else ""
            yield child, words[1]
        child.stdin.close()
        child.wait(60)
        assert child.returncode == 0, child.stderr.read() if child.stderr else ""
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(30)


def test_a_cancel_from_another_process_racing_completion_gives_exactly_one_terminal(db: str) -> None:
    outcomes = set()
    with RunSystem(store=db) as other:
        for child, run_id in _race(db, 12):
            assert child.stdin is not None and child.stdout is not None
            handle = other.handle(run_id)
            child.stdin.write("go\n")  # the owner completes it...
            child.stdin.flush()
            terminal = handle.cancel("raced", timeout=30)  # ...while this process cancels it
            owner_says = child.stdout.readline().split()
            assert owner_says == ["end", terminal.type]  # both processes agree on the one terminal
            assert other.store is not None
            log = other.store.read_events(run_id)
            assert [e.type in TERMINAL_TYPES for e in log].count(True) == 1 and log[-1] == terminal
            outcomes.add(terminal.type)
    assert outcomes <= {"run.cancelled", "run.completed"}


def test_cancel_from_another_process_commits_run_cancelled_before_it_returns(db: str) -> None:
    with RunSystem(store=db) as other:
        for child, run_id in _race(db, 1):
            assert child.stdin is not None and child.stdout is not None
            assert other.store is not None
            other.store.request_cancel(run_id, "stop", 30)
            rec = other.store.get_run(run_id)
            assert rec is not None and rec.state == "cancelled" and rec.terminal.reason == "stop"  # type: ignore[union-attr]
            child.stdin.write("go\n")
            child.stdin.flush()
            assert child.stdout.readline().split() == ["end", "run.cancelled"]


def test_cancel_of_a_run_no_system_serves_says_so_in_one_line(db: str) -> None:
    with open_location(db) as owner, open_location(db) as other:  # bare stores: no RunSystem
        owner.create_run("bare", "p")
        owner.flush(10)
        with pytest.raises(StoreError, match=r"cannot cancel run bare: owner pid \d+ on .*serves no cancel"):
            other.request_cancel("bare", "stop", 10)
        assert not other.wait_for_change("bare", 0, 0.05)  # nothing committed: times out
        with pytest.raises(ValueError, match="after_seq"):
            other.wait_for_change("bare", -1, 1)
        with pytest.raises(TypeError, match="timeout"):
            other.request_cancel("bare", "stop", None)  # type: ignore[arg-type]


def test_a_cancel_refused_by_an_owner_whose_run_just_ended_there_returns_that_end(db: str) -> None:
    """An owner that served cancels and no longer does (its system closing) commits what it has
    queued before it refuses, and the requester re-reads the run: a run whose terminal was queued
    there, not yet committed, is an answer, not a StoreError. Deterministic: the owner's writer is
    held (a commit listener) with the terminal queued until the owner settles before refusing; an
    owner that refused without settling would refuse while the terminal is still queued."""
    events = sample_events("ending", 5)
    with open_location(db) as owner, open_location(db) as other:
        owner.serve_cancels(lambda run_id, reason: None)()  # served once, no longer
        owner.create_run("ending", "p")
        owner.append(events[:1])
        owner.flush(10)
        gate, held = threading.Event(), threading.Event()

        def hold(acks: dict[str, int]) -> None:  # on the owner's writer thread, after a commit
            if "ending" in acks and not gate.is_set():
                held.set()
                gate.wait(30)

        owner.add_commit_listener(hold)
        owner.append(events[1:2])
        assert held.wait(10)  # the writer is held: what is appended now stays queued
        owner.append(events[2:])  # ... the terminal among it
        refusing = owner._listener if db.startswith("postgresql://") else owner._notices
        settle = refusing.settle

        def observed_settle() -> object:  # the owner settles before it refuses: only now the writer goes on
            gate.set()
            return settle()

        refusing.settle = observed_settle
        outcome: list[object] = []
        try:
            other.request_cancel("ending", "stop", 30)
            outcome.append("returned")
        except Exception as exc:  # the refusal came while the terminal was still queued
            outcome.append(exc)
        finally:
            gate.set()
        assert outcome == ["returned"]
        rec = other.get_run("ending")
        assert rec is not None and rec.state == "completed"


def test_a_cancel_the_owner_does_not_confirm_in_time_names_the_owner(db: str) -> None:
    with open_location(db) as owner, open_location(db) as other:
        owner.create_run("stuck", "p")
        owner.flush(10)
        asked = threading.Event()
        stop = owner.serve_cancels(lambda run_id, reason: asked.set())  # takes the request, never ends the run
        try:
            with pytest.raises(RunTimeoutError, match=rf"run stuck: its owner pid {os.getpid()} on .* within 0.3 s"):
                other.request_cancel("stuck", "stop", 0.3)
            assert asked.wait(10)
        finally:
            stop()


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_async_follow_wait_and_on_terminal_of_another_owners_run(db: str, backend: str) -> None:
    release = threading.Event()

    def held(ctx: RunContext) -> str:
        ctx.milestone("holding")
        release.wait(30)
        ctx.log("released")
        return "done"

    with RunSystem(store=db) as owner, RunSystem(store=db) as other:  # two owners of one file
        run = owner.start(held)
        next(e for e in run.events(timeout=10) if e.type == "run.milestone")
        assert owner.store is not None
        owner.store.flush(10)
        remote = other.handle(run.run_id)
        noticed: list[RunEvent] = []
        ended = threading.Event()
        remote.on_terminal(lambda terminal: (noticed.append(terminal), ended.set()))

        async def follow() -> tuple[list[RunEvent], RunEvent]:
            seen = []
            with anyio.fail_after(30):
                async for event in remote.events(1, timeout=30):
                    seen.append(event)
                    if event.type == "run.milestone":
                        release.set()  # from here on, the tail is live
                return seen, await remote.wait_async()

        seen, waited = anyio.run(follow, backend=backend)
        assert [e.type for e in seen] == ["run.milestone", "run.log", "run.completed"]
        assert [e.seq for e in seen] == [2, 3, 4]
        assert ended.wait(30) and noticed == [waited] == [seen[-1]] == [run.wait(10)]


def test_concurrent_waiters_on_one_run_all_wake_to_its_end(db: str) -> None:
    """Several threads of one follower wait on the same run as it ends: none misses the end
    (one that sees the end first must not unwatch the run under the others)."""
    from runwire.protocol import RunCompleted, RunLog, RunStarted

    with open_location(db) as owner, open_location(db) as follower:
        for n in range(20):
            run_id = f"r{n}"
            owner.create_run(run_id, "p")
            owner.append([RunStarted(run_id=run_id, seq=1, pipeline="p")])
            owner.flush(10)
            finished: list[int] = []
            started = threading.Barrier(5)

            def follow(
                run_id: str = run_id, finished: list[int] = finished, started: threading.Barrier = started
            ) -> None:
                started.wait(10)
                cursor = 0
                while (rec := follower.get_run(run_id)) is not None and rec.ended_at is None:
                    assert follower.wait_for_change(run_id, max(cursor, rec.last_seq), 30), "missed the end"
                    cursor = rec.last_seq
                finished.append(1)

            threads = [threading.Thread(target=follow) for _ in range(4)]
            for thread in threads:
                thread.start()
            started.wait(10)
            owner.append([RunLog(run_id=run_id, seq=2, message="x")])
            owner.append([RunCompleted(run_id=run_id, seq=3)])
            for thread in threads:
                thread.join(60)
            assert len(finished) == 4
