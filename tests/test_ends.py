"""Runs that always end, whatever a hostile pipeline or caller does (issue 13).

Real systems, threads and event loops; no mocks. Waits are on events and terminals, never sleeps.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from typing import Any

import pytest

from runwire.actors import RunContext, RunHandle, RunSystem, SystemClosedError
from runwire.protocol import TERMINAL_TYPES

from .helpers import LogWatcher, assert_well_formed, collect

CLOSE_SLACK = 1.5  # seconds close() may take past its timeout: the last steps' small constant
_BASE_EXITS: list[type[BaseException]] = [SystemExit, KeyboardInterrupt, GeneratorExit]


def _sync_raiser(exc_type: type[BaseException]) -> Any:
    def pipeline(ctx: RunContext) -> None:
        ctx.log("about to leave")
        raise exc_type("bye")

    return pipeline


def _async_raiser(exc_type: type[BaseException]) -> Any:
    async def pipeline(ctx: RunContext) -> None:
        ctx.log("about to leave")
        await asyncio.sleep(0)
        raise exc_type("bye")

    return pipeline


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_a_pipeline_raising_a_base_exception_fails_its_run_and_the_workers_survive(kind: str) -> None:
    """SystemExit, KeyboardInterrupt, GeneratorExit: each run ends run.failed naming it, once;
    more such runs than workers leave the pool (sync) and the loop (async) serving later runs."""
    make = _sync_raiser if kind == "sync" else _async_raiser
    with RunSystem(workers=2) as system:
        handles = [system.start(make(exc_type)) for _ in range(2) for exc_type in _BASE_EXITS]  # 6 > 2 workers
        for handle, exc_type in zip(handles, _BASE_EXITS * 2, strict=False):
            terminal = handle.wait(10)
            assert terminal.type == "run.failed"
            assert terminal.error_type == exc_type.__name__
            assert_well_formed(collect(handle))

        def ok(ctx: RunContext) -> str:
            return "still here"

        async def ok_async(ctx: RunContext) -> str:
            await asyncio.sleep(0)
            return "still here"

        later = system.start(ok if kind == "sync" else ok_async).wait(10)
        assert later.type == "run.completed" and later.result == "still here"
        both = threading.Barrier(2, timeout=10)  # passes only if both workers run at once

        def together(ctx: RunContext) -> int:
            return both.wait()

        pair = [system.start(together) for _ in range(2)]
        assert [h.wait(15).type for h in pair] == ["run.completed"] * 2


def test_a_task_that_stops_the_event_loop_leaves_it_serving_other_runs() -> None:
    """A KeyboardInterrupt in a task the pipeline spawned escapes the loop's run_forever; the
    loop comes back and later async runs still end."""
    with RunSystem() as system:

        async def spawner(ctx: RunContext) -> str:
            async def rogue() -> None:
                raise KeyboardInterrupt("from a child task")

            task = asyncio.get_running_loop().create_task(rogue())
            try:
                await task
            except KeyboardInterrupt:
                return "child raised"
            return "unreachable"

        first = system.start(spawner).wait(10)
        assert first.type in {"run.completed", "run.failed"}

        async def ok(ctx: RunContext) -> str:
            await asyncio.sleep(0)
            return "alive"

        assert system.start(ok).wait(10).type == "run.completed"


def test_a_run_cancelled_while_queued_never_starts_and_is_not_reported_abandoned() -> None:
    """One worker, held by a pipeline that ignores cancellation; a second run waits in the queue
    and is cancelled there. Its body must never execute, and no 'abandoned' report may name it."""
    abandoned = LogWatcher("ignored cancellation")
    logging.getLogger("runwire.run").addHandler(abandoned)
    seen: list[str] = []
    lines = _Lines(seen)
    logging.getLogger("runwire.run").addHandler(lines)
    release, holding = threading.Event(), threading.Event()
    ran = threading.Event()
    try:
        with RunSystem(workers=1, shards=1, cancel_deadline=0.2) as system:

            def stubborn(ctx: RunContext) -> None:
                holding.set()
                release.wait(30)  # ignores cancellation

            def side_effect(ctx: RunContext) -> str:
                ran.set()
                return "should never run"

            holder = system.start(stubborn)
            assert holding.wait(10)  # the only worker is taken
            queued = system.start(side_effect)
            assert next(iter(queued.events(timeout=10))).type == "run.started"
            assert queued.info().worker_active  # asked after its Start: its job is in the queue
            assert queued.cancel("not needed").type == "run.cancelled"
            holder.cancel()  # its deadline comes after the queued run's: both pass while queued
            assert abandoned.seen.wait(10)
            # the replacement thread takes the queued run, then this one (FIFO): once this ends,
            # the queued run was dequeued
            assert system.start(lambda ctx: "after").wait(10).type == "run.completed"
            assert not ran.is_set(), "a run cancelled in the queue executed its body"
            info = queued.info()
            assert info.state == "cancelled" and not info.worker_abandoned and not info.worker_active
            assert not [line for line in seen if queued.run_id in line and "ignored cancellation" in line]
            assert system.get(holder.run_id).worker_abandoned  # the true report is still made
    finally:
        release.set()
        logging.getLogger("runwire.run").removeHandler(abandoned)
        logging.getLogger("runwire.run").removeHandler(lines)


class _Lines(logging.Handler):
    def __init__(self, into: list[str]) -> None:
        super().__init__()
        self.into = into

    def emit(self, record: logging.LogRecord) -> None:
        self.into.append(record.getMessage())


class _SlowName:
    """A pipeline whose ``__name__`` lookup (made inside ``start()``) waits: a window for close()."""

    def __init__(self, inside: threading.Event, go: threading.Event) -> None:
        self._inside, self._go = inside, go

    @property
    def __name__(self) -> str:
        self._inside.set()
        self._go.wait(10)
        return "slow_name"

    def __call__(self, ctx: RunContext) -> str:
        return "ran"


def _start_outcome(system: RunSystem, pipeline: Any) -> Any:
    try:
        return system.start(pipeline)
    except SystemClosedError as exc:
        return exc
    except BaseException as exc:  # anything else is a broken promise: report it to the test
        return exc


def test_a_start_racing_close_either_refuses_or_returns_a_handle_that_ends() -> None:
    """Deterministic interleaving: close() runs to its end while a start() is between its
    closed-check and the messages it sends. The start must then refuse (SystemClosedError);
    it must never hand out a run that nobody will end."""
    inside, go = threading.Event(), threading.Event()
    system = RunSystem()
    outcome: list[Any] = []
    starter = threading.Thread(target=lambda: outcome.append(_start_outcome(system, _SlowName(inside, go))))
    starter.start()
    try:
        assert inside.wait(10)
        system.close(timeout=5)
    finally:
        go.set()
        starter.join(10)
    (result,) = outcome
    if isinstance(result, BaseException):
        assert isinstance(result, SystemClosedError), repr(result)
    else:
        assert result.wait(5).type in TERMINAL_TYPES


def test_every_handle_start_returns_while_close_runs_reaches_a_terminal() -> None:
    """Four threads start runs as fast as they can while another closes the system."""
    for _ in range(5):
        system = RunSystem(workers=2)
        handles: list[RunHandle] = []
        errors: list[BaseException] = []
        enough = threading.Event()

        def starter(
            system: RunSystem = system,
            handles: list[RunHandle] = handles,
            errors: list[BaseException] = errors,
            enough: threading.Event = enough,
        ) -> None:
            while True:
                try:
                    handles.append(system.start(lambda ctx: ctx.log("x")))
                except SystemClosedError:
                    return
                except BaseException as exc:
                    errors.append(exc)
                    return
                if len(handles) >= 200:
                    enough.set()

        threads = [threading.Thread(target=starter) for _ in range(4)]
        for t in threads:
            t.start()
        assert enough.wait(30)
        system.close(timeout=10)
        for t in threads:
            t.join(10)
        assert not errors, errors
        for handle in handles:
            assert handle.wait(5).type in TERMINAL_TYPES


def test_close_timeout_bounds_the_whole_close_even_with_workers_that_never_stop() -> None:
    """Eight sync pipelines (all the default workers) and one async one ignore cancellation for
    good: close(timeout=1) returns in about a second, and every run is cancelled."""
    release = threading.Event()
    started = threading.Semaphore(0)

    def stubborn(ctx: RunContext) -> None:
        started.release()
        release.wait(60)

    wake: list[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = []

    async def stubborn_async(ctx: RunContext) -> None:
        freed = asyncio.Event()  # waits on the release itself (set from the test thread), not a timer
        wake.append((asyncio.get_running_loop(), freed))
        started.release()
        while not freed.is_set():
            try:
                await freed.wait()
            except asyncio.CancelledError:
                continue  # swallows its cancel

    try:
        system = RunSystem(cancel_deadline=30)
        handles = [system.start(stubborn) for _ in range(8)] + [system.start(stubborn_async)]
        for _ in handles:
            assert started.acquire(timeout=10)
        began = time.monotonic()
        system.close(timeout=1)
        took = time.monotonic() - began
        assert took < 1 + CLOSE_SLACK, f"close(timeout=1) took {took:.1f} s"
        assert {h.wait(1).type for h in handles} == {"run.cancelled"}
    finally:
        release.set()
        for loop, freed in wake:
            with contextlib.suppress(RuntimeError):  # the system's loop may be closed by now
                loop.call_soon_threadsafe(freed.set)


def test_listing_runs_never_raises_for_a_run_that_expires_meanwhile() -> None:
    """retention=0: runs expire the moment they end, while runs() lists them from other threads."""
    with RunSystem(retention=0) as system:
        stop = threading.Event()

        def churn() -> None:
            while not stop.is_set():
                batch = [system.start(lambda ctx: ctx.log("brief")) for _ in range(50)]
                for handle in batch:
                    handle.wait(10)

        churners = [threading.Thread(target=churn) for _ in range(3)]
        for t in churners:
            t.start()
        try:
            for i in range(300):
                infos = system.runs(limit=None if i % 2 else 5)
                assert all(info.state in {"pending", "running", "completed", "failed", "cancelled"} for info in infos)
        finally:
            stop.set()
            for t in churners:
                t.join(10)


def test_listing_runs_costs_asks_per_shard_not_per_run() -> None:
    """runs(limit=5) among 1,000 live runs costs a few asks, not three per run: it takes a small
    multiple of one get() (each is a round of asks to the shard's actors), measured here."""
    with RunSystem(workers=1) as system:
        handles = [system.start(lambda ctx: ctx.wait_cancelled(30)) for _ in range(1000)]
        some = handles[-1].run_id
        system.get(some)  # warm
        one_get = min(_timed(lambda: system.get(some)) for _ in range(20))
        listing = min(_timed(lambda: system.runs(limit=5)) for _ in range(5))
        newest = system.runs(limit=5)
        assert [i.run_id for i in newest] == [h.run_id for h in handles[-5:]]
        assert listing < 200 * one_get, f"runs(limit=5) took {listing * 1e3:.1f} ms, one get {one_get * 1e3:.2f} ms"
        running = system.runs(state="running", limit=3)
        assert len(running) == 3 and all(i.state == "running" for i in running)


def _timed(fn: Any) -> float:
    began = time.perf_counter()
    fn()
    return time.perf_counter() - began
