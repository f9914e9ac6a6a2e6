"""The executor seam: where a run's pipeline executes.

The RunActor decides *when* (start, cancel, abandon at the deadline); an executor decides
*where*. The local one runs sync pipelines on a bounded thread pool and async ones on one event
loop; the Ray one (``runwire.actors.ray``) ships it to a cluster. Whatever the executor, the
run's outcome reaches the system the same way: the job itself reports it when it returns, so an
executor only has to run it. A remote executor does not run ``call``: it runs ``run_body`` with a
body of its own that executes ``pipeline`` elsewhere and replays its emits onto the local context.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any, Protocol, TypeAlias, runtime_checkable

from ._context import RunContext
from ._workers import AsyncLoop, TaskRef, WorkerPool

__all__ = ["Executor", "ExecutorFactory", "Job", "LocalExecutor"]


@dataclass(frozen=True, slots=True)
class Job:
    """One run's pipeline, ready to execute.

    ``is_async`` False: ``call()`` runs the pipeline to its end on the calling thread.
    ``is_async`` True: ``call()`` returns a coroutine to run on an event loop; cancelling its
    task is how a cancel reaches it. Either way ``call`` reports the outcome itself and never raises.

    For an executor that runs the pipeline elsewhere: ``pipeline`` is the run's callable (to ship
    by reference or cloudpickled; ``ctx.inputs`` are its inputs), and ``run_body(body)`` runs the
    run on the calling thread with ``body(ctx)`` in place of the pipeline, ``ctx`` being the run's
    local (blocking) ``RunContext``: what the body emits on it enters the bus like a local emit,
    and what it returns or raises (``Cancelled`` included) is the run's outcome, as for a sync
    pipeline. ``run_body`` reports that outcome itself and never raises; it works for async
    pipelines too (the body decides how to run them).
    """

    run_id: str
    is_async: bool
    call: Callable[[], Any]
    pipeline: Callable[..., Any] | None = None
    run_body: Callable[[Callable[[RunContext], Any]], None] | None = None

    def coroutine(self) -> Coroutine[Any, Any, None]:
        """The async job's coroutine (``is_async`` only)."""
        coro: Coroutine[Any, Any, None] = self.call()
        return coro


@runtime_checkable
class Executor(Protocol):
    """Where pipelines run. Called from the RunActor's thread: no method may block on a run."""

    def start(self, job: Job) -> None:
        """Run ``job`` soon (now, or queued behind others while capacity is used)."""
        ...

    def cancel(self, run_id: str) -> None:
        """The run was cancelled: interrupt it where the executor can (cancel an async task).

        Sync pipeline code also sees its run's cancel flag at its next emit or check.
        """
        ...

    def abandon(self, run_id: str) -> bool:
        """The cancelled run ignored its deadline: stop counting it against capacity (the run
        is already ``run.cancelled``; its code may go on until it returns). False: it never ran
        (still queued, or cancelled before its first step), so there is nothing to abandon."""
        ...

    def close(self, timeout: float) -> None:
        """The system is closing: stop running jobs within ``timeout`` s and release resources."""
        ...


ExecutorFactory: TypeAlias = Callable[[int], Executor]
"""What a ``runwire.executors`` entry point names: ``factory(workers)`` -> an Executor."""


class LocalExecutor:
    """This process: ``workers`` threads for sync pipelines, one asyncio loop for async ones."""

    def __init__(self, workers: int) -> None:
        self._pool = WorkerPool(workers)
        self._loop = AsyncLoop()
        self._tasks: dict[str, TaskRef] = {}
        self._lock = threading.Lock()  # guards _tasks: start on the actor, done on the loop

    def start(self, job: Job) -> None:
        if not job.is_async:
            self._pool.submit(job.run_id, job.call)
            return
        # the task holds the job's call and run_id, not the Job (freed now, with the remote
        # executors' partial: fewer objects for the cyclic GC to walk while the run is in
        # flight). A wrapper, not a done callback: that costs every task's end a loop Handle
        # (release of 100,000 runs: ~1.3 s more CPU, docs/profiles.md session 9). The job's
        # coroutine is made inside it: a task cancelled before its first step leaves no
        # coroutine "never awaited" behind (tests/test_loop_stop.py)
        with self._lock:
            self._tasks[job.run_id] = self._loop.spawn(self._run(job.call, job.run_id))

    async def _run(self, call: Callable[[], Coroutine[Any, Any, None]], run_id: str) -> None:
        # a method, not a closure per run: the coroutine is the only object it costs
        try:
            await call()
        finally:
            with self._lock:
                self._tasks.pop(run_id, None)

    def cancel(self, run_id: str) -> None:
        with self._lock:
            task = self._tasks.get(run_id)
        if task is not None:
            task.cancel()  # non-blocking: cancels the task on its loop

    def abandon(self, run_id: str) -> bool:
        with self._lock:
            task = self._tasks.get(run_id)
        if task is not None:
            return not task.finished()
        return self._pool.abandon(run_id)

    def close(self, timeout: float) -> None:
        self._loop.stop(timeout)
        self._pool.shutdown(timeout)
