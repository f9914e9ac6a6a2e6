"""Guarantee 3: the terminal fence. Nothing is delivered after the terminal; late publishes are
dropped and counted on the run's info."""

from __future__ import annotations

import sys
import threading
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runwire.actors import RunContext, RunSystem
from runwire.actors._once import CancelFlag
from runwire.actors._outbox import Outbox
from runwire.protocol import RunLog

from .helpers import assert_well_formed, collect


@pytest.fixture
def system(backend_system: RunSystem) -> RunSystem:
    """Every back-end pair (tests/backends.py) keeps these guarantees."""
    return backend_system


@pytest.mark.in_process
def test_emits_after_the_terminal_are_dropped_and_counted(system: RunSystem) -> None:
    kept: list[RunContext] = []

    def pipeline(ctx: RunContext) -> str:
        kept.append(ctx)
        ctx.log("inside")
        return "done"

    handle = system.start(pipeline)
    live = iter(handle.events(timeout=10))
    terminal = handle.wait(10)
    for i in range(7):
        kept[0].log(f"late {i}")  # a stray thread holding ctx after the run ended
    events = list(live)
    assert_well_formed(events)
    assert events[-1] == terminal
    assert handle.info().late_events_dropped == 7
    assert handle.info().last_seq == terminal.seq
    assert collect(handle) == events


def test_background_thread_racing_the_end_never_passes_the_fence(system: RunSystem) -> None:
    for _ in range(50):
        go = threading.Event()
        stop = threading.Event()
        counts = {"emitted": 0}

        def pipeline(
            ctx: RunContext, go: threading.Event = go, stop: threading.Event = stop, counts: dict[str, int] = counts
        ) -> str:
            def spam() -> None:
                go.set()
                while not stop.is_set():
                    ctx.log("bg")
                    counts["emitted"] += 1

            threading.Thread(target=spam, daemon=True).start()
            go.wait(10)
            return "done"

        handle = system.start(pipeline)
        events: list[Any] = collect(handle)
        stop.set()
        assert_well_formed(events)
        info = handle.info()
        logged = sum(1 for e in events if e.type == "run.log")
        assert logged + info.late_events_dropped <= counts["emitted"] + 1


def test_late_drop_count_is_exact_while_many_threads_race_the_seal() -> None:
    """Every event emitted is either taken for the log or counted in ``late_dropped``, exactly:
    the count is only changed under the outbox's lock, by each thread emitting after the seal (no
    lost updates)."""
    event = RunLog(run_id="r", message="x")
    flag = CancelFlag()
    threads, per_thread = 8, 400
    previous = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # hand the GIL over as often as CPython allows: lost updates show
    try:
        for _ in range(100):
            outbox = Outbox(window=threads * per_thread, tell=lambda _drain: None)
            go = threading.Barrier(threads + 1)

            def emit(outbox: Outbox = outbox, go: threading.Barrier = go) -> None:
                go.wait(10)
                for _ in range(per_thread):
                    outbox.put(event, flag, block=False)

            workers = [threading.Thread(target=emit) for _ in range(threads)]
            for t in workers:
                t.start()
            go.wait(10)
            taken = len(outbox.seal())  # as the bus does at the terminal
            for t in workers:
                t.join(10)
            assert taken + outbox.late_dropped == threads * per_thread
    finally:
        sys.setswitchinterval(previous)


def test_an_event_put_after_waiting_on_a_full_window_never_rides_in_a_plain_batch() -> None:
    """A worker that waits on a full window appends after the bus's ``take`` reset the batch's
    ``plain`` flag: the flag is cleared with the append, not before the wait (CI stop 22: a log
    line rode in a batch taken as plain deltas and the bus failed the run with a KeyError)."""
    flag = CancelFlag()
    log = RunLog(run_id="r", message="x")
    waiting = threading.Event()
    outbox = Outbox(window=1, tell=lambda _drain: None)
    outbox.on_wait = waiting.set  # called under the lock just before the wait releases it
    outbox.put(log, flag, block=True)
    worker = threading.Thread(target=outbox.put, args=(log, flag, True))
    worker.start()
    assert waiting.wait(10)
    assert outbox.take() == ([log], False)  # takes the lock only once the worker waits
    worker.join(10)
    assert not worker.is_alive()
    assert outbox.take() == ([log], False)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.booleans(), st.none()), max_size=40))
def test_a_batch_is_plain_exactly_when_every_event_in_it_was_put_plain(steps: list[bool | None]) -> None:
    """``take`` says plain for a batch iff each of its events came through ``put(plain=True)``
    (``None``: the bus takes; a boolean: one put with that flag)."""
    flag = CancelFlag()
    outbox = Outbox(window=100, tell=lambda _drain: None)
    pending: list[bool] = []
    for step in [*steps, None]:
        if step is None:
            items, plain = outbox.take()
            assert len(items) == len(pending)
            if items:
                assert plain == all(pending)
            pending = []
        else:
            outbox.put(RunLog(run_id="r", message=str(step)), flag, block=False, plain=step)
            pending.append(step)
