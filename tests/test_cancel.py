"""Guarantee 4: cancellation. run.cancelled is in the log before cancel() returns; before start,
after terminal, twice, from many threads; async via cancel scope; sync at the next emit;
abandoned after a deadline; during backpressure."""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import Any

import anyio
import anyio.lowlevel
import pytest

from runwire.actors import Cancelled, RunContext, RunSystem, RunTimeoutError
from runwire.actors._messages import InfoRequest

from .helpers import LogWatcher, assert_well_formed, blocker, collect, completions_paused, paused


@pytest.fixture
def system(backend_system: RunSystem) -> RunSystem:
    """Every back-end pair (tests/backends.py) keeps these guarantees."""
    return backend_system


@pytest.mark.in_process
def test_cancelled_is_in_the_log_before_cancel_returns(system: RunSystem) -> None:
    started = threading.Event()

    def pipeline(ctx: RunContext) -> None:
        started.set()
        while True:
            ctx.log("tick")

    handle = system.start(pipeline)
    started.wait(10)
    terminal = handle.cancel("enough")
    info = handle.info()
    assert terminal.type == "run.cancelled" and terminal.reason == "enough"
    assert info.last_seq == terminal.seq  # in the log already, and nothing after it
    events = collect(handle)
    assert_well_formed(events)
    assert events[-1] == terminal


def test_cancel_after_terminal_is_an_idempotent_no_op(system: RunSystem) -> None:
    handle = system.start(lambda ctx: "ok")
    done = handle.wait(10)
    assert handle.cancel() is done
    assert handle.cancel("again") is done
    assert_well_formed(collect(handle))


@pytest.mark.in_process  # its pipeline waits on the test's gate; on Ray the cancel also ends it
def test_cancel_twice_and_from_many_threads_gives_one_terminal(system: RunSystem) -> None:
    gate = threading.Event()
    handle = system.start(blocker(gate))  # ignores the cancel: no late result of its own meanwhile
    next(iter(handle.events()))  # run.started is logged: the CompletionActor has the run RUNNING
    results: list[Any] = []
    go, queued = threading.Barrier(16), threading.Barrier(17)

    def cancel() -> None:
        go.wait(10)
        with pytest.raises(RunTimeoutError):
            handle.cancel("many", timeout=0)  # decided (by one of the 16), but not in the log yet
        queued.wait(10)
        results.append(handle.wait(10))

    threads = [threading.Thread(target=cancel) for _ in range(16)]
    try:
        # all 16 race to decide on their own threads while the held bus logs nothing: the
        # first claim of the terminal slot wins, the other 15 are told it came too late
        with paused(system._shards[handle._record.shard].bus):
            for t in threads:
                t.start()
            queued.wait(10)
        for t in threads:
            t.join(10)
        assert len(results) == 16
        assert all(r is results[0] for r in results)
        assert results[0].type == "run.cancelled" and results[0].reason == "many"
        assert_well_formed(collect(handle))
        # the first Cancel decided; the 15 that came with it were discarded, and counted
        assert handle.info().discarded_signals == 15
    finally:
        gate.set()


@pytest.mark.in_process
def test_cancel_decided_while_run_started_waits_makes_the_terminal_the_first_event(system: RunSystem) -> None:
    """cancel() decides on its own thread, so it can overtake a run.started still queued in the
    CompletionActor: the terminal is then event 1 (as for a cancel before start), the run.started
    that comes later is never logged, and an emit after the cancel is dropped as late."""
    started = threading.Event()

    def pipeline(ctx: RunContext) -> None:
        started.set()
        ctx.wait_cancelled(10)
        ctx.log("after the cancel")  # too late: the run is sealed

    with completions_paused(system):
        handle = system.start(pipeline)
        assert started.wait(10)  # the RunActor sent Started, then ran the worker
        terminal = handle.cancel("overtakes run.started", timeout=10)
        assert terminal.type == "run.cancelled" and terminal.seq == 1
    events = collect(handle)
    assert [e.type for e in events] == ["run.cancelled"]
    assert_well_formed(events)
    info = handle.info()  # asked after the released CompletionActor handled Started
    assert info.state == "cancelled" and info.terminal == terminal and info.last_seq == 1


@pytest.mark.in_process
def test_events_emitted_before_a_cancel_that_overtook_run_started_are_kept_behind_it(system: RunSystem) -> None:
    """The same race after the pipeline emitted: those emits returned, so their events are in the
    log, behind the run.started the CompletionActor would have sent (made by the bus, once), and
    the late one never comes. (An ODA loop lost its step.started this way under load.)"""
    emitted = threading.Event()

    def pipeline(ctx: RunContext) -> None:
        ctx.log("before the cancel")
        ctx.milestone("half", step=1)
        emitted.set()
        ctx.wait_cancelled(10)

    with completions_paused(system):
        handle = system.start(pipeline, {"n": 1}, name="emits-then-waits")
        assert emitted.wait(10)  # both emits returned; the bus holds them until run.started
        terminal = handle.cancel("overtakes run.started", timeout=10)
        assert terminal.type == "run.cancelled" and terminal.seq == 4
    events = collect(handle)
    assert [e.type for e in events] == ["run.started", "run.log", "run.milestone", "run.cancelled"]
    assert_well_formed(events)
    started = events[0]
    assert started.pipeline == "emits-then-waits" and dict(started.inputs) == {"n": 1}
    assert events[1].message == "before the cancel" and events[2].name == "half"
    info = handle.info()  # asked after the released CompletionActor handled Started: no second one
    assert info.state == "cancelled" and info.terminal == terminal and info.last_seq == 4


@pytest.mark.in_process
def test_a_complete_decided_but_not_logged_wins_over_a_later_cancel(system: RunSystem) -> None:
    """The CompletionActor decided run.completed; the held bus has not logged it. A cancel()
    now loses the claim: it returns the completed terminal once logged, and is counted late."""
    gate = threading.Event()
    handle = system.start(blocker(gate))
    next(iter(handle.events()))  # run.started is logged: RUNNING
    shard = system._shards[handle._record.shard]
    try:
        with paused(shard.bus) as release:
            handle.complete("first")
            # the first ask is handled after the complete (which queues a Settle behind it),
            # the second after that Settle: the CompletionActor has decided by then
            shard.completion.ask(InfoRequest(handle.run_id), timeout=10)
            shard.completion.ask(InfoRequest(handle.run_id), timeout=10)
            decided = handle._record.terminal.decided()
            assert decided is not None and decided.type == "run.completed"
            with pytest.raises(RunTimeoutError):
                handle.cancel("too late", timeout=0)  # lost the claim; the terminal is not logged
            release.set()
            terminal = handle.cancel("too late", timeout=10)
        assert terminal is decided and terminal.type == "run.completed"
        assert_well_formed(collect(handle))
        assert handle.info().discarded_signals == 2  # both cancels came too late
    finally:
        gate.set()


@pytest.mark.in_process
def test_a_cancel_carries_the_finish_reason_reported_before_it(system: RunSystem) -> None:
    """A finish_reason reported before cancel() is on run.cancelled even while the provider's
    signal still waits in the held CompletionActor (cancel() decides without it)."""
    gate = threading.Event()
    handle = system.start(blocker(gate))
    next(iter(handle.events()))
    try:
        with paused(system._shards[handle._record.shard].completion):
            handle.report_finish_reason("length")
            terminal = handle.cancel("stop", timeout=10)
        assert terminal.type == "run.cancelled" and terminal.finish_reason == "length"
        assert handle.info().finish_reason == "length"
    finally:
        gate.set()


@pytest.mark.in_process
def test_sync_pipeline_stops_at_its_next_emit(system: RunSystem) -> None:
    started, stopped = threading.Event(), threading.Event()
    seen: list[type[BaseException]] = []

    def pipeline(ctx: RunContext) -> None:
        started.set()
        try:
            while True:
                ctx.delta("answer", "x")
        except BaseException as exc:
            seen.append(type(exc))
            stopped.set()
            raise

    handle = system.start(pipeline)
    started.wait(10)
    handle.cancel()
    assert stopped.wait(10)
    assert seen == [Cancelled]


@pytest.mark.in_process
def test_sync_pipeline_stops_at_check_cancelled(system: RunSystem) -> None:
    started, stopped = threading.Event(), threading.Event()

    def pipeline(ctx: RunContext) -> None:
        started.set()
        try:
            while True:
                ctx.check_cancelled()
        except Cancelled:
            stopped.set()
            raise

    handle = system.start(pipeline)
    started.wait(10)
    handle.cancel()
    assert stopped.wait(10)


@pytest.mark.in_process
def test_on_cancel_hooks_run_once_on_the_cancelling_thread(system: RunSystem) -> None:
    """ctx.on_cancel aborts blocking calls that cannot check the flag; removed hooks never run."""
    registered, finished = threading.Event(), threading.Event()
    calls: list[str] = []
    late: list[str] = []

    def pipeline(ctx: RunContext) -> None:
        ctx.on_cancel(lambda: calls.append(threading.current_thread().name))
        remove = ctx.on_cancel(lambda: calls.append("removed"))
        remove()
        ctx.on_cancel(lambda: 1 / 0)  # a hook that raises is logged; the others still run
        registered.set()
        ctx.wait_cancelled()
        ctx.on_cancel(lambda: late.append(threading.current_thread().name))  # already cancelled: runs now
        finished.set()

    watcher = LogWatcher("a cancel callback raised")
    logging.getLogger("runwire.once").addHandler(watcher)
    try:
        handle = system.start(pipeline)
        assert registered.wait(10)
        handle.cancel()
        handle.cancel()  # a second cancel runs nothing again
    finally:
        logging.getLogger("runwire.once").removeHandler(watcher)
    assert calls == [threading.current_thread().name]
    assert watcher.seen.is_set()
    assert finished.wait(10)
    assert len(late) == 1
    assert late != calls  # the late hook ran at once, on the worker's thread
    assert handle.wait(10).type == "run.cancelled"


@pytest.mark.in_process
def test_async_pipeline_stops_through_its_cancel_scope(system: RunSystem) -> None:
    started, stopped = threading.Event(), threading.Event()

    seen: list[type[BaseException]] = []

    async def pipeline(ctx: RunContext) -> None:
        started.set()
        try:
            await anyio.Event().wait()  # waits forever: only the cancel scope can stop it
        except BaseException as exc:
            seen.append(type(exc))
            raise
        finally:
            stopped.set()

    handle = system.start(pipeline)
    started.wait(10)
    assert handle.cancel().type == "run.cancelled"
    assert stopped.wait(10)
    assert seen == [asyncio.CancelledError]  # the task was cancelled where it awaited


def test_pipeline_ignoring_cancellation_is_abandoned_and_reported() -> None:
    watcher = LogWatcher("ignored cancellation")
    logging.getLogger("runwire.run").addHandler(watcher)
    stuck = threading.Event()
    try:
        with RunSystem(workers=1, cancel_deadline=0.2) as system:

            def stubborn(ctx: RunContext) -> None:
                ctx.log("I will not stop")
                stuck.wait(30)  # never checks ctx: ignores cancellation

            handle = system.start(stubborn)
            next(iter(handle.events(after_seq=1)))  # its log line is out: it is running
            assert handle.cancel().type == "run.cancelled"
            assert watcher.seen.wait(10)
            info = handle.info()
            assert info.worker_abandoned and info.state == "cancelled"
            # the pool got its capacity back: with workers=1 a new run still runs
            assert system.start(lambda ctx: 1).wait(10).type == "run.completed"
    finally:
        stuck.set()
        logging.getLogger("runwire.run").removeHandler(watcher)


def test_cancel_during_backpressure_reaches_the_blocked_worker_at_once() -> None:
    with RunSystem(outbox_window=8, shards=1) as system:
        blocked, saw_cancel = threading.Event(), threading.Event()
        emitted = [0]

        def producer(ctx: RunContext) -> None:
            try:
                while True:
                    if emitted[0] >= 8:
                        blocked.set()  # the next emit will wait on the full window
                    ctx.delta("answer", "x")
                    emitted[0] += 1
            except Cancelled:
                saw_cancel.set()
                raise

        bus = system._shards[0].bus
        with paused(bus):  # the bus drains nothing: the worker fills its window and waits
            handle = system.start(producer)
            assert blocked.wait(10)
            canceller = threading.Thread(target=handle.cancel)
            canceller.start()
            # the worker sees the cancel while the bus is still held: it did not wait for a drain
            assert saw_cancel.wait(10)
        canceller.join(10)
        assert handle.wait(10).type == "run.cancelled"
        assert emitted[0] == 8
        assert_well_formed(collect(handle))


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_async_consumer_sees_cancel_as_the_last_event(system: RunSystem, backend: str) -> None:
    async def pipeline(ctx: RunContext) -> None:
        while True:
            ctx.log("tick")
            await anyio.lowlevel.checkpoint()

    handle = system.start(pipeline)

    async def consume() -> list[Any]:
        seen = []
        async for event in handle.events():
            seen.append(event)
            if len(seen) == 5:
                await anyio.to_thread.run_sync(handle.cancel)
        return seen

    events = anyio.run(consume, backend=backend)
    assert_well_formed(events)
    assert events[-1].type == "run.cancelled"


@pytest.mark.timeout(30)  # a shared lock deadlocks here: fail fast instead of at the 120 s default
def test_runs_never_share_the_lock_of_their_cancel_flag_and_terminal() -> None:
    """Each run's flag and terminal slot have a lock of their own: while one run's is held, a run
    of another system (or the same one) still cancels and resolves its terminal."""
    gate = threading.Event()
    with RunSystem() as first, RunSystem() as second:
        held = first.start(blocker(gate))
        try:
            with held._record.terminal._lock:
                for system in (second, first):
                    other = system.start(lambda ctx: ctx.wait_cancelled(30))
                    assert other.cancel("free", timeout=10).type == "run.cancelled"
        finally:
            gate.set()
        assert held.wait(10).type == "run.completed"


@pytest.mark.parametrize(
    ("parent", "step", "reason", "finish_reason"),
    [
        (None, None, "cancelled", None),
        ("loop-1", 0, "", "stop"),
        ("loop-1", 7, "usuário pediu ✋", "length"),
        (None, None, "bad \ud800", None),  # not UTF-8: the validated path (it fails the terminal)
        (None, True, "x", None),  # a bool is no step: the validated path
    ],
)
def test_the_cancelled_event_fast_path_equals_the_validated_one(
    parent: str | None, step: Any, reason: str, finish_reason: str | None
) -> None:
    """decide_cancel builds run.cancelled without pydantic's validation where it can only be
    valid; it must be the event terminal_event validates, and parse the same from its JSON."""
    from types import SimpleNamespace

    from runwire.actors._completion import cancelled_event, terminal_event
    from runwire.actors._messages import Signal
    from runwire.protocol import parse_event

    record: Any = SimpleNamespace(run_id="run-1", parent_run_id=parent, step=step)
    fast = cancelled_event(record, reason, finish_reason)
    slow = terminal_event(record, Signal("run-1", "cancel", reason=reason), finish_reason)
    assert type(fast) is type(slow)
    assert fast.model_fields_set == slow.model_fields_set
    assert fast.model_dump(exclude={"ts", "message"}) == slow.model_dump(exclude={"ts", "message"})
    if fast.type == "run.cancelled":
        assert fast == slow.model_copy(update={"ts": fast.ts})
        assert list(fast.__dict__) == list(slow.__dict__)
        assert parse_event(fast.model_dump_json()) == parse_event(slow.model_dump_json()).model_copy(
            update={"ts": fast.ts}
        )
        assert fast.ts.tzinfo is slow.ts.tzinfo
