"""Where pipeline code runs: a bounded thread pool for sync pipelines, one event loop for async.

Pipeline code never runs inside an actor's ``on_receive``, so actors stay responsive to
Cancel. A sync pipeline that ignores cancellation past its deadline is *abandoned*: its thread
is retired from the pool (it ends when the pipeline ends) and a fresh thread takes its place,
so the pool's capacity never leaks.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import queue
import threading
import time
from collections.abc import Callable, Coroutine
from typing import Any

__all__ = ["AsyncLoop", "TaskRef", "WorkerPool"]

_Job = tuple[str, Callable[[], None]]
_log = logging.getLogger("runwire.workers")


class _Worker:
    __slots__ = ("current", "retired", "thread")

    def __init__(self) -> None:
        self.current: str | None = None
        self.retired = False
        self.thread: threading.Thread | None = None


class WorkerPool:
    """``size`` threads pulling jobs from one queue; jobs are keyed by run_id."""

    def __init__(self, size: int) -> None:
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._lock = threading.Lock()  # guards the worker index below, not run state
        self._by_key: dict[str, _Worker] = {}
        self._workers: list[_Worker] = []
        self._names = itertools.count()
        self._closed = False
        for _ in range(size):
            self._spawn()

    def submit(self, key: str, fn: Callable[[], None]) -> None:
        self._jobs.put((key, fn))

    def abandon(self, key: str) -> bool:
        """Retire the thread running ``key`` and start a replacement. False if not running."""
        with self._lock:
            worker = self._by_key.get(key)
            if worker is None or worker.retired:
                return False
            worker.retired = True
            self._workers.remove(worker)
        self._spawn()
        return True

    def shutdown(self, timeout: float = 5.0) -> None:
        with self._lock:
            self._closed = True
            workers = list(self._workers)
        for _ in workers:
            self._jobs.put(None)
        deadline = time.monotonic() + timeout  # one bound for all: a stuck thread is left behind
        for w in workers:
            if w.thread is not None:
                w.thread.join(timeout=max(0.0, deadline - time.monotonic()))

    def _spawn(self) -> None:
        worker = _Worker()
        thread = threading.Thread(
            target=self._run, args=(worker,), name=f"runwire-worker-{next(self._names)}", daemon=True
        )
        worker.thread = thread
        with self._lock:
            self._workers.append(worker)
        thread.start()

    def _run(self, worker: _Worker) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            key, fn = job
            with self._lock:
                worker.current = key
                self._by_key[key] = worker
            try:
                fn()
            except BaseException:  # never lose a pool thread to a job (jobs catch their own)
                _log.exception("worker job for run %s raised", key)
            finally:
                with self._lock:
                    worker.current = None
                    self._by_key.pop(key, None)
            if worker.retired:
                return


class TaskRef:
    """A handle to a task on the system's loop that any thread can cancel, without blocking."""

    __slots__ = ("_loop", "task")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self.task: asyncio.Task[None] | None = None

    def _start(self, coro: Coroutine[Any, Any, None]) -> None:
        self.task = self._loop.create_task(coro)

    def cancel(self) -> None:
        # queued behind the _start_spawned that starts it (FIFO), so the task exists when this runs
        self._loop.call_soon_threadsafe(self._cancel_on_loop)

    def _cancel_on_loop(self) -> None:
        if self.task is not None:
            self.task.cancel()

    def finished(self) -> bool:
        """True once the task is done (read from any thread: a plain state read)."""
        return self.task is not None and self.task.done()


class AsyncLoop:
    """An asyncio event loop in a daemon thread, owned by the RunSystem, for async pipelines."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._spawn_lock = threading.Lock()
        self._to_spawn: list[tuple[TaskRef, Coroutine[Any, Any, None]]] = []  # awaiting one wake of the loop
        ready = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(ready,), name="runwire-loop", daemon=True)
        self._thread.start()
        ready.wait()

    def _run(self, ready: threading.Event) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.call_soon(ready.set)
        while True:
            try:
                self.loop.run_forever()
            except BaseException:  # a task's KeyboardInterrupt/SystemExit escapes run_forever:
                _log.exception("a task stopped the runwire event loop; restarting it")
                continue  # the loop keeps serving every other run
            if any(not t.done() for t in asyncio.all_tasks(self.loop)):
                self.loop.call_soon(self._cancel_all_then_stop)  # spawned during the shutdown
                continue
            self.loop.close()  # stop() was called and every task ended
            return

    def spawn(self, coro: Coroutine[Any, Any, None]) -> TaskRef:
        """Schedule a coroutine as a task without blocking the caller (no Future per task:
        ``run_coroutine_threadsafe`` would add a ~1.7 KiB Condition to every in-flight run)."""
        ref = TaskRef(self.loop)
        with self._spawn_lock:  # many spawns, one wake-up: the loop starts all that came meanwhile
            if not self._to_spawn:
                self.loop.call_soon_threadsafe(self._start_spawned)
            self._to_spawn.append((ref, coro))
        return ref

    def _start_spawned(self) -> None:
        # runs before any callback scheduled after the spawns it takes (a TaskRef.cancel: FIFO)
        with self._spawn_lock:
            batch, self._to_spawn = self._to_spawn, []
        for ref, coro in batch:
            ref._start(coro)

    def stop(self, timeout: float = 5.0) -> None:
        """Cancel every task and stop the loop once they are done; wait at most ``timeout``.

        The shutdown is plain callbacks on the loop, no coroutine: a coroutine scheduled just
        before ``loop.stop`` may never start (``timeout=0``), and Python then prints "coroutine
        was never awaited" on the user's stderr.
        """
        if self.loop.is_closed():
            return
        with contextlib.suppress(RuntimeError):  # the loop already closed itself
            self.loop.call_soon_threadsafe(self._cancel_all_then_stop)
        # past the timeout the loop thread is left behind as a daemon, as a stuck pool thread is:
        # it still lets the cancelled tasks finish, then stops and closes the loop
        self._thread.join(timeout=timeout)

    def _cancel_all_then_stop(self) -> None:
        tasks = [t for t in asyncio.all_tasks(self.loop) if not t.done()]
        if not tasks:
            self.loop.stop()
            return
        left = len(tasks)

        def one_done(_: asyncio.Future[Any]) -> None:
            nonlocal left
            left -= 1
            if left == 0:
                self.loop.stop()

        for task in tasks:
            task.add_done_callback(one_done)
            task.cancel()
