"""Guarantee 6: failures stay contained. A raising pipeline gives run.failed (type + message, no
traceback unless configured); a subscriber that raises or stops reading affects nobody else;
an actor that crashes still leaves every run with a terminal."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import anyio.lowlevel
import pytest

from runwire.actors import RunContext, RunSystem
from runwire.actors._coalesce import GAP_REASON_DROPPED
from runwire.actors._messages import Fault

from .helpers import assert_well_formed, blocker, collect


class QuotaError(Exception):
    pass


def test_raising_pipeline_gives_run_failed_without_traceback(system: RunSystem) -> None:
    def pipeline(ctx: RunContext) -> None:
        ctx.log("about to fail")
        raise QuotaError("quota exceeded for /secret/path")

    terminal = system.start(pipeline).wait(10)
    assert terminal.type == "run.failed"
    assert terminal.error_type == "QuotaError"
    assert terminal.message == "quota exceeded for /secret/path"
    assert terminal.traceback is None


def test_traceback_summary_only_when_configured() -> None:
    with RunSystem(include_traceback=True) as system:

        def pipeline(ctx: RunContext) -> None:
            raise QuotaError("x")

        terminal = system.start(pipeline).wait(10)
        assert terminal.type == "run.failed"
        assert terminal.traceback is not None and "pipeline" in terminal.traceback
        assert terminal.traceback.count("File ") <= 3


def test_async_pipeline_failure(system: RunSystem) -> None:
    async def pipeline(ctx: RunContext) -> None:
        await anyio.lowlevel.checkpoint()
        raise KeyError("missing")

    terminal = system.start(pipeline).wait(10)
    assert terminal.type == "run.failed" and terminal.error_type == "KeyError"


def test_non_json_result_fails_the_run_clearly(system: RunSystem) -> None:
    terminal = system.start(lambda ctx: object()).wait(10)
    assert terminal.type == "run.failed"
    assert terminal.error_type == "TypeError" and "not JSON" in terminal.message


def test_subscriber_that_raises_does_not_affect_the_run_or_others(system: RunSystem) -> None:
    gate = threading.Event()

    def pipeline(ctx: RunContext) -> int:
        gate.wait(10)
        for i in range(100):
            ctx.log(str(i))
        return 1

    handle = system.start(pipeline)
    healthy = iter(handle.events(timeout=10))

    def bad_consumer() -> None:
        for event in handle.events(timeout=10):
            if event.seq == 3:
                raise RuntimeError("consumer bug")

    errors: list[BaseException] = []

    def run_bad() -> None:
        try:
            bad_consumer()
        except RuntimeError as exc:
            errors.append(exc)

    t = threading.Thread(target=run_bad)
    t.start()
    gate.set()
    t.join(10)
    events = list(healthy)
    assert errors and str(errors[0]) == "consumer bug"
    assert_well_formed(events)
    assert events[-1].type == "run.completed" and len(events) == 102


def test_subscriber_that_stops_reading_does_not_block_the_run(system: RunSystem) -> None:
    gate = threading.Event()

    def pipeline(ctx: RunContext) -> int:
        gate.wait(10)
        for i in range(2000):  # two fields in turn: nothing merges, the buffer must drop
            ctx.delta("ab"[i % 2], str(i))
        return 1

    handle = system.start(pipeline)
    stalled = iter(handle.events(buffer=64))
    next(stalled)  # reads run.started, then nothing until the run has ended
    gate.set()
    assert handle.wait(10).type == "run.completed"
    assert_well_formed(collect(handle))
    rest = list(stalled)
    assert len(rest) <= 64 + 1  # its buffer was reached and held to its limit (+ the terminal)
    assert any(e.type == "stream.gap" and e.reason == GAP_REASON_DROPPED for e in rest)


def test_async_subscriber_whose_loop_closed_is_dropped(system: RunSystem) -> None:
    """The consumer's loop is closed while it waits, its iterator never closed (no ``aclose``,
    no finalisation): the bus finds it dead at its next push and drops it."""
    emit, finish = threading.Event(), threading.Event()

    def pipeline(ctx: RunContext) -> str:
        emit.wait(10)
        ctx.log("after the loop closed")
        finish.wait(10)
        return "done"

    handle = system.start(pipeline)
    healthy = iter(handle.events(timeout=10))
    assert next(healthy).type == "run.started"
    loop = asyncio.new_event_loop()
    stream = handle.events().__aiter__()
    try:
        assert loop.run_until_complete(anext(stream)).type == "run.started"
        waiting = loop.create_task(anext(stream))  # type: ignore[arg-type]
        waiting._log_destroy_pending = False  # it is meant to die pending, with its closed loop
        loop.run_until_complete(asyncio.sleep(0))  # one turn: it parks on its sink, waiting
        assert not waiting.done()
        assert handle.info().subscribers == 2
    finally:
        loop.close()  # while it waits: no shutdown_asyncgens, its generator stays open
    emit.set()
    assert next(healthy).type == "run.log"  # the bus handled that push, to both subscribers
    assert handle.info().subscribers == 1  # the dead one is gone, before any terminal
    finish.set()
    assert handle.wait(10).type == "run.completed"
    del waiting, stream


@pytest.mark.parametrize("actor", ["bus", "completion", "run_actor"])
def test_actor_fault_while_handling_a_run_still_ends_it(system: RunSystem, actor: str) -> None:
    gate = threading.Event()
    handle = system.start(blocker(gate))
    shard = system._shards[handle._record.shard]
    getattr(shard, actor).tell(Fault(handle.run_id))
    terminal = handle.wait(10)
    gate.set()
    assert terminal.type == "run.failed" and terminal.error_type == "InternalError"
    assert_well_formed(collect(handle))


@pytest.mark.parametrize("actor", ["bus", "completion", "run_actor"])
def test_actor_crash_gives_every_open_run_a_terminal(actor: str) -> None:
    system = RunSystem(shards=1)
    try:
        gate = threading.Event()
        handles = [system.start(blocker(gate)) for _ in range(3)]
        for h in handles:
            next(iter(h.events()))  # run.started is in each log
        shard = system._shards[0]
        getattr(shard, actor).tell(Fault(handles[0].run_id, escape=True))  # kills the actor
        terminals: list[Any] = [h.wait(10) for h in handles]
        gate.set()
        assert all(t.type == "run.failed" and t.error_type == "InternalError" for t in terminals)
        if actor != "bus":
            for h in handles:
                assert_well_formed(collect(h))
    finally:
        gate.set()
        system.close(timeout=2)
