"""Several RunSystems (real processes) on one PostgreSQL database: follow and cancel a run another
process owns, and a killed (or frozen) owner's runs recovered by a live one within the lease bound.

Real children (tests/store/pg_child.py), a real server (.ci/postgres), real signals. Waits are on
notifications (``wait_for_change``) or on the children's lines, each with a timeout.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from pg_server import drop_schema, fresh_schema, postgres_url, schema_url

from runwire.actors import RunSystem
from runwire.protocol import RunFailed, is_terminal

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL/SIGSTOP are POSIX")

CHILD = Path(__file__).with_name("pg_child.py")
LEASE = 3.0  # seconds: the tests' owner lease (the default is 10); shorter ones lapse on a loaded CI machine
SLACK = 5.0  # seconds of scheduling slack on a loaded 2-CPU machine, on top of each bound


@pytest.fixture
def url() -> Iterator[str]:
    schema = fresh_schema()
    yield f"{schema_url(schema)}&lease={LEASE}"
    drop_schema(postgres_url(), schema)


def _spawn(mode: str, url: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(CHILD), mode, url],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        bufsize=1,
    )


def _line(child: subprocess.Popen[str], prefix: str) -> str:
    """The child's next line (bounded by the test timeout), which must start with ``prefix``."""
    assert child.stdout is not None
    line = child.stdout.readline()
    if not line.startswith(prefix):
        child.kill()
        _, err = child.communicate(timeout=10)
        pytest.fail(f"child said {line!r}, expected {prefix!r}; stderr: {err[-2000:]}")
    return line.split(maxsplit=1)[1].strip()


def _acked_until(child: subprocess.Popen[str], at_least: int) -> int:
    acked = 0
    while acked < at_least:
        acked = int(_line(child, "ack"))
    return acked


def _follow_to_terminal(store: object, run_id: str, timeout: float) -> list[object]:
    """Read the run's log live, as a follower in another process does: replay, wait, repeat."""
    deadline = time.monotonic() + timeout
    events: list[object] = []
    cursor = 0
    while True:
        page = store.read_events(run_id, cursor)  # type: ignore[attr-defined]
        events += page
        if page:
            cursor = page[-1].seq
            if is_terminal(page[-1]):
                return events
        left = deadline - time.monotonic()
        assert left > 0, f"no terminal for {run_id} within {timeout} s (last seq {cursor})"
        store.wait_for_change(run_id, cursor, left)  # type: ignore[attr-defined]


@pytest.mark.parametrize("how", ["SIGKILL", "SIGSTOP"])
def test_a_dead_owner_s_run_is_recovered_by_another_system_within_the_lease_bound(url: str, how: str) -> None:
    """SIGKILL: the server drops the dead session and its advisory lock; a live store's sweep
    (every lease/3) closes the run. SIGSTOP (a frozen machine: its session stays open): the
    lease lapses and the run is closed within lease + lease/3. Followers get that terminal; every
    event committed before the signal is stored."""
    child = _spawn("crash", url)
    try:
        run_id = _line(child, "run")
        with RunSystem(store=url) as watcher:
            store = watcher.store
            acked = _acked_until(child, 200)
            assert store.get_run(run_id).state == "running"
            os.kill(child.pid, getattr(signal, how))
            signalled = time.monotonic()
            events = _follow_to_terminal(store, run_id, 30)
            took = time.monotonic() - signalled
            assert child.stdout is not None
            if how == "SIGKILL":
                rest, _ = child.communicate(timeout=10)
                acked = max([acked, *(int(x.split()[1]) for x in rest.splitlines() if x.startswith("ack "))])
            terminal = events[-1]
            assert isinstance(terminal, RunFailed) and terminal.error_type == "ProcessExited"
            bound = LEASE / 3 if how == "SIGKILL" else LEASE + LEASE / 3
            assert took <= bound + SLACK, f"recovered after {took:.2f} s; bound {bound:.2f} s"
            if how == "SIGSTOP":
                assert took >= LEASE / 3, "recovered a frozen owner before its lease could lapse"
            seqs = [e.seq for e in events]  # type: ignore[attr-defined]
            assert seqs == list(range(1, len(seqs) + 1))
            assert len(seqs) - 1 >= acked, f"{acked} acknowledged, {len(seqs) - 1} stored"  # 0 lost
            assert [e for e in events if is_terminal(e)] == [terminal]  # type: ignore[arg-type]
            info = watcher.get(run_id)
            assert (info.state, info.from_store) == ("failed", True)
            print(f"{how}: recovered after {took * 1000:.0f} ms, {acked} acknowledged events all stored")
    finally:
        if child.poll() is None:
            os.kill(child.pid, signal.SIGKILL)
            child.communicate(timeout=10)


def test_a_run_owned_by_one_system_is_listed_followed_and_cancelled_from_another(url: str) -> None:
    child = _spawn("hold", url)
    try:
        run_id = _line(child, "run")
        with RunSystem(store=url) as other:
            store = other.store
            listed = {info.run_id: info.state for info in other.runs()}
            assert listed == {run_id: "running"}
            cursor = store.get_run(run_id).last_seq
            assert child.stdin is not None
            for i in range(3):  # live follow: each line wakes this process through NOTIFY
                sent = time.monotonic()
                child.stdin.write(f"line {i}\n")
                child.stdin.flush()
                assert store.wait_for_change(run_id, cursor, 15)
                page = store.read_events(run_id, cursor)
                assert [e.message for e in page] == [f"line {i}"]
                cursor = page[-1].seq
                print(f"cross-process delivery {1000 * (time.monotonic() - sent):.1f} ms")
            sent = time.monotonic()
            store.request_cancel(run_id, "stopped from another system", 15)
            took = time.monotonic() - sent
            rec = store.get_run(run_id)
            assert rec.state == "cancelled"  # committed before request_cancel returned
            assert rec.terminal.reason == "stopped from another system"
            assert _line(child, "ended") == "run.cancelled"
            store.request_cancel(run_id, "again", 1)  # an ended run: returns at once
            print(f"cross-process cancel {took * 1000:.1f} ms")
        _, err = child.communicate(timeout=30)  # the owner closes its system and exits on its own
        assert child.returncode == 0, err[-2000:]
    finally:
        if child.poll() is None:
            child.kill()
            child.communicate(timeout=10)


def test_a_cancel_nobody_confirms_names_the_owner(url: str) -> None:
    """A bare owner (no RunSystem) says at once that it serves no cancel; an owner that takes the
    request but never ends the run gets the requester a RunTimeoutError naming it. Either way
    the live owner's run is left alone."""
    import threading

    from runwire.actors import RunTimeoutError
    from runwire.actors.postgres import PostgresRunStore
    from runwire.actors.store import StoreError

    with PostgresRunStore(url) as owner, PostgresRunStore(url) as other:
        owner.create_run("r", "demo")
        owner.flush(10)
        with pytest.raises(StoreError, match=rf"cannot cancel run r: owner pid {os.getpid()} on .*serves no cancel"):
            other.request_cancel("r", "stop", 10)
        asked = threading.Event()
        stop = owner.serve_cancels(lambda run_id, reason: asked.set())  # takes it, never ends the run
        try:
            with pytest.raises(RunTimeoutError, match=f"pid {os.getpid()}") as info:
                other.request_cancel("r", "stop", 0.5)
            assert owner.owner_token in str(info.value)
            assert asked.wait(10)
        finally:
            stop()
        assert other.get_run("r").ended_at is None
        assert not other.wait_for_change("r", 0, 0.05)  # nothing committed: times out
        with pytest.raises(ValueError, match="after_seq"):
            other.wait_for_change("r", -1, 1)
        with pytest.raises(TypeError, match="timeout"):
            other.request_cancel("r", "stop", None)  # type: ignore[arg-type]


def test_a_dropped_listen_connection_is_not_a_death_and_followers_still_wake(url: str) -> None:
    """The server ends one session of a live owner (pg_terminate_backend): its writer's session
    still holds the owner lock, so nobody recovers its run; a follower whose LISTEN session was
    ended reconnects and is woken by the next commit."""
    import psycopg

    from runwire.actors.postgres import PostgresRunStore
    from runwire.protocol import TextDelta

    with PostgresRunStore(url) as owner, PostgresRunStore(url) as other, psycopg.connect(postgres_url()) as admin:
        owner.create_run("r", "demo")
        owner.append([TextDelta(run_id="r", seq=1, field="f", text="a")])
        owner.flush(10)
        for store in (owner, other):
            pid = store._listener.conn.info.backend_pid  # the LISTEN session (white-box: which one to end)
            admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        assert other.recover() == [] and owner.recover() == []
        assert other.get_run("r").ended_at is None
        import threading

        woke: list[bool] = []
        follower = threading.Thread(target=lambda: woke.append(other.wait_for_change("r", 1, 30)))
        follower.start()  # it waits (or, started late, finds seq 2 committed): either way it returns True
        owner.append([TextDelta(run_id="r", seq=2, field="f", text="b")])
        owner.flush(10)
        follower.join(40)
        assert woke == [True]
        assert [e.seq for e in other.read_events("r")] == [1, 2]
