"""RayExecutor: each run's pipeline is a Ray task; its control plane stays in this process.

Seq, precedence, the fence and subscriptions belong to the RunSystem that owns the run: the task
only executes the pipeline body (``_remote.execute``, a streaming generator) and ships its emits
back as batches of calls, which a driver thread here replays, in order, on the run's local
``RunContext`` (``Job.run_body``), so they enter the bus exactly like local emits. A cancel
publishes ``run.cancelled`` here at once as always; ``ray.cancel`` then stops the task (the
worker's context sees the flag); one that ignores it is force-cancelled (its worker process
killed) when the cancel deadline passes. A dead worker or node ends the run with ``run.failed``.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable
from typing import Any

from runwire.actors import Cancelled, RunContext, RunwireError
from runwire.actors.ext import ExecutorFactory, Job, LocalExecutor

from ._remote import REPLAYABLE, Call, End, execute

__all__ = ["RayExecutor", "RayWorkerError", "ray_executor"]

_log = logging.getLogger("runwire.ray")
_BACKPRESSURE = 8  # batches a task may have yielded and the owner not yet read before it waits


class RayWorkerError(RunwireError):
    """The Ray side of a run failed: its worker process or node died, or Ray refused the task."""


def _check(workers: int, address: str | None, num_cpus: float, window: int) -> None:
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers must be an int >= 1, got {workers!r}")
    if address is not None and (not isinstance(address, str) or not address.strip()):
        raise ValueError(f"ray address must be 'auto', 'HOST:PORT' or None, got {address!r}")
    if isinstance(num_cpus, bool) or not isinstance(num_cpus, int | float) or not num_cpus > 0:
        raise ValueError(f"num_cpus must be a number > 0, got {num_cpus!r}")
    if isinstance(window, bool) or not isinstance(window, int) or window < 1:
        raise ValueError(f"window must be an int >= 1, got {window!r}")


def ray_executor(address: str | None = None, *, num_cpus: float = 1.0, window: int = 4096) -> ExecutorFactory:
    """An ``ext.ExecutorFactory`` for ``RunSystem(executor=...)``: the Ray cluster at ``address``.

    ``address``: ``"auto"`` (the cluster ``ray start`` began on this machine), ``"HOST:PORT"``
    (its GCS), or None (``RAY_ADDRESS``, else Ray starts a local instance). ``num_cpus``: the
    CPUs each run's task reserves. ``window``: emits a sync pipeline may have unshipped on its
    worker before it waits (backpressure). The system's ``workers`` bounds its runs in flight.
    """
    _check(1, address, num_cpus, window)
    return lambda workers: RayExecutor(workers, address, num_cpus=num_cpus, window=window)


class RayExecutor:
    """Runs pipelines as Ray tasks on the cluster at ``address`` (see :func:`ray_executor`).

    This process connects to the cluster once (``ray.init``, unless it already is connected)
    and stays connected for its lifetime: several systems share the connection.
    """

    def __init__(self, workers: int, address: str | None = None, *, num_cpus: float = 1.0, window: int = 4096) -> None:
        _check(workers, address, num_cpus, window)
        try:
            import ray
        except ModuleNotFoundError:
            raise ImportError("the Ray executor needs Ray: pip install 'runwire[ray]'") from None
        self._ray: Any = ray
        if not self._ray.is_initialized():
            try:
                self._ray.init(address=address, log_to_driver=False, logging_level=logging.WARNING)
            except (ConnectionError, ValueError, RuntimeError) as exc:
                first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                raise RayWorkerError(f"cannot connect to the Ray cluster at {address or 'default'}: {first}") from None
        self._task = self._ray.remote(
            num_returns="streaming", max_retries=0, num_cpus=num_cpus, _generator_backpressure_num_objects=_BACKPRESSURE
        )(execute)
        self._window = window
        self._drivers = LocalExecutor(workers)  # one driver thread per run in flight: ``workers`` bound them
        self._tasks: dict[str, Any] = {}
        self._lock = threading.Lock()  # guards _tasks: drivers add and remove, the RunActor reads

    # -- the Executor seam ----------------------------------------------------------------------
    def start(self, job: Job) -> None:
        run_body = job.run_body
        if run_body is None or job.pipeline is None:
            raise TypeError("the Ray executor needs a Job with pipeline and run_body")
        drive = self._drive
        self._drivers.start(Job(job.run_id, False, lambda: run_body(lambda ctx: drive(job, ctx))))

    def cancel(self, run_id: str) -> None:
        with self._lock:
            task = self._tasks.get(run_id)
        if task is not None:
            try:
                self._ray.cancel(task)  # the worker's context sees its cancel flag; emits raise Cancelled
            except Exception as exc:  # the cluster is gone: its driver thread gets the failure
                _log.warning("ray.cancel of run %s failed: %s", run_id, exc)

    def abandon(self, run_id: str) -> bool:
        with self._lock:
            task = self._tasks.get(run_id)
        if task is None:
            return self._drivers.abandon(run_id)  # never reached the cluster
        _log.warning("run %s ignored its cancel on Ray: its task is force-cancelled (worker process killed)", run_id)
        with contextlib.suppress(Exception):
            self._ray.cancel(task, force=True)
        self._drivers.abandon(run_id)
        return True

    def close(self, timeout: float) -> None:
        with self._lock:
            left = list(self._tasks.values())
        for task in left:  # every run was cancelled before close: these ignore it
            with contextlib.suppress(Exception):
                self._ray.cancel(task, force=True)
        self._drivers.close(timeout)

    # -- one run ----------------------------------------------------------------------------
    def _drive(self, job: Job, ctx: RunContext) -> Any:
        """A driver thread: submit the task, replay its batches on ``ctx``, return its result."""
        ids = (ctx.run_id, ctx.parent_run_id, ctx.step)
        task = self._task.remote(job.pipeline, dict(ctx.inputs), ids, job.is_async, self._window)
        with self._lock:
            self._tasks[ctx.run_id] = task
        try:
            if ctx.cancelled:  # cancelled while it was submitted: cancel() found no task yet
                self._ray.cancel(task)
            replay = _replayer(ctx)
            try:
                for ref in task:
                    calls, end = self._ray.get(ref)
                    replay(calls)
                    if end is not None:
                        return _result(end)
            except Cancelled:
                self._drain(task)  # the run is cancelled here: wait for the task to stop (or be killed)
                raise
            except self._ray.exceptions.RayError as exc:
                raise self._failure(exc, ctx) from None
            raise RayWorkerError(f"the Ray task of run {ctx.run_id} ended without an outcome")
        finally:
            with self._lock:
                self._tasks.pop(ctx.run_id, None)

    def _drain(self, task: Any) -> None:
        self._ray.cancel(task)
        with contextlib.suppress(self._ray.exceptions.RayError):
            for _ref in task:
                pass  # what it emits after its cancel is late: dropped, as locally

    def _failure(self, exc: BaseException, ctx: RunContext) -> BaseException:
        errors = self._ray.exceptions
        if isinstance(exc, errors.TaskCancelledError):
            if ctx.cancelled:
                return Cancelled()
            return RayWorkerError(f"the Ray task of run {ctx.run_id} was cancelled outside runwire")
        if isinstance(exc, errors.WorkerCrashedError):
            return RayWorkerError(
                f"the Ray worker process running run {ctx.run_id} died mid-run (killed, out of memory or crashed)"
            )
        if isinstance(exc, errors.NodeDiedError):
            return RayWorkerError(
                f"the Ray node running run {ctx.run_id} died (its raylet or the cluster head is gone)"
            )
        text = str(exc).strip()
        first = text.splitlines()[-1] if text else type(exc).__name__
        return RayWorkerError(f"Ray failed run {ctx.run_id}: {type(exc).__name__}: {first}")


def _replayer(ctx: RunContext) -> Callable[[list[Call]], None]:
    """Replays shipped calls on the run's local context: the same methods a local pipeline calls."""
    methods = {name: getattr(ctx, name) for name in REPLAYABLE}

    def replay(calls: list[Call]) -> None:
        for name, args, kwargs in calls:
            method = methods.get(name)
            if method is None:
                raise RayWorkerError(f"the Ray worker sent an unknown call {name!r}")
            if kwargs:
                method(*args, **kwargs)
            else:
                method(*args)

    return replay


def _result(end: End) -> Any:
    kind, value = end
    if kind == "ok":
        return value
    if kind == "cancelled":
        raise Cancelled
    name, message = value
    raise _remote_error(str(name))(message)


_ERRORS: dict[str, type[Exception]] = {}


def _remote_error(name: str) -> type[Exception]:
    """An exception class named like the worker's (``run.failed`` carries its type name)."""
    cls = _ERRORS.get(name)
    if cls is None:
        cls = _ERRORS[name] = type(name, (Exception,), {"__module__": __name__})
    return cls
