"""RunActor: one shard of run executions. Starts workers, relays their outcome, stops them.

The pipeline runs off the actor, wherever the system's executor puts it (the local one: a pool
thread for sync code, an event loop for async code); the actor only receives the worker's
single ``WorkerDone`` and turns it into an outcome ``Signal`` for the CompletionActor. Emits go
straight from the worker to the bus through the run's outbox (see ``_outbox``): relaying each
one through this actor would cost a thread hop per event for nothing, since ordering is fixed
by the bus anyway.
"""

from __future__ import annotations

import asyncio
import logging
import traceback as tb
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import partial
from typing import Any

import pykka

from runwire.protocol._frozen import encodable

from ._checks import check_result
from ._context import RunContext
from ._errors import Cancelled
from ._executor import Executor, Job
from ._live_run import LiveRun
from ._messages import (
    Close,
    Deadline,
    RunEnded,
    Signal,
    Start,
    Started,
    WorkerDone,
)
from ._shard import Box, ShardActor, internal_failure, tell_quietly
from ._timer import Timer

__all__ = ["RunActor", "RunActorInfo", "failure_signal"]

_log = logging.getLogger("runwire.run")


@dataclass(frozen=True, slots=True)
class RunActorInfo:
    worker_active: bool
    worker_abandoned: bool


def failure_signal(run_id: str, exc: BaseException, include_traceback: bool) -> Signal:
    """A ``fail`` Signal naming the exception; a traceback summary only when configured."""
    summary = None
    if include_traceback:
        frames = tb.extract_tb(exc.__traceback__)[-3:]
        summary = "".join(tb.format_list(frames)).rstrip() or None
    return Signal(
        run_id, "fail", error_type=_loggable(type(exc).__name__), message=_describe(exc), traceback=_loggable(summary)
    )


def _describe(exc: BaseException) -> str:
    """``str(exc)`` as a terminal can carry it, whatever the exception does."""
    try:
        text = str(exc)
    except Exception as err:  # a __str__ that raises must not cost the run its terminal
        text = f"<str() of {type(exc).__name__} raised {type(err).__name__}>"
    return str(_loggable(text))


def _loggable(text: Any) -> Any:
    """Text with what UTF-8 cannot encode (a lone surrogate) written as its escape, e.g. ``\\ud800``."""
    if type(text) is not str or encodable(text):
        return text
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _outcome(run_id: str, result: Any, include_traceback: bool) -> Signal:
    try:
        value = check_result(result)
    except ValueError as exc:
        err = TypeError(f"pipeline returned a value that is not JSON ({type(result).__name__}): {exc}")
        return failure_signal(run_id, err, include_traceback)
    return Signal(run_id, "complete", result=value)


class RunActor(ShardActor):
    role = "run actor"

    def __init__(
        self,
        shard: int,
        completion: pykka.ActorRef[Any],
        boxes: tuple[Box, Box, Box],
        executor: Executor,
        timer: Timer,
        cancel_deadline: float,
        include_traceback: bool,
    ) -> None:
        super().__init__()
        self.shard = shard
        self.completion = completion
        _, self._completion_box, self._box = boxes  # the shard's; ``_box`` is this actor's own
        self._executor = executor
        self._timer = timer
        self._deadline = cancel_deadline
        self._include_tb = include_traceback
        self._active: dict[str, LiveRun] = {}
        self._run_async_bound = self._run_async
        self._run_sync_bound = self._run_sync
        self._abandoned: set[str] = set()

    def _fault(self, run_id: str, exc: Exception) -> None:
        self.completion.tell(internal_failure(run_id, self.role, exc))

    def _handle(self, message: Any) -> Any:
        match message:
            case Start(record):
                self._start(record)
            case WorkerDone(run_id, signal):
                self._active.pop(run_id, None)
                if signal is not None:
                    self._completion_box.put(signal)  # many runs' outcomes per tell when they end together
            case RunEnded(run_id, kind):
                if kind == "run.cancelled":
                    self._stop_worker(run_id)
            case Deadline(run_id):
                self._deadline_passed(run_id)
            case Close(run_id):
                self._abandoned.discard(run_id)
            case _:
                return self._shared(message)
        return None

    def _info(self, run_id: str) -> RunActorInfo:
        return RunActorInfo(run_id in self._active, run_id in self._abandoned)

    def _start(self, record: LiveRun) -> None:
        if record.cancel_requested.is_set():
            return  # cancelled before start: the CompletionActor ends it; no worker at all
        self._completion_box.put(Started(record.run_id))  # with the Admits it follows, many per tell
        self._active[record.run_id] = record
        # partials of methods bound once, not closures (a function and three cells each) per run:
        # fewer objects for the cyclic GC to walk while 100,000 runs are in flight
        me = self._box  # where the worker's WorkerDone goes: many per tell when runs end together
        run = self._run_async_bound if record.is_async else self._run_sync_bound
        body = partial(self._run_sync_bound, record, me)  # remote executors: run_body(body)
        self._executor.start(Job(record.run_id, record.is_async, partial(run, record, me), record.pipeline, body))

    def _run_sync(self, record: LiveRun, me: Box, body: Callable[[RunContext], Any] | None = None) -> None:
        """Runs on a pool thread, never on the actor; ``body`` (a remote executor's) replaces the pipeline."""
        if record.cancel_requested.is_set():  # cancelled while queued: it must never start
            me.put_quietly(WorkerDone(record.run_id, None))
            return
        ctx = RunContext(record, blocking=True)
        signal: Signal | None
        try:
            result = (record.pipeline if body is None else body)(ctx)
            ctx.flush()  # throttled text reaches the log before the outcome can
        except Cancelled:
            signal = None
        except BaseException as exc:  # SystemExit, KeyboardInterrupt too (module docstring)
            signal = failure_signal(record.run_id, exc, self._include_tb)
        else:
            signal = _outcome(record.run_id, result, self._include_tb)
        me.put_quietly(WorkerDone(record.run_id, signal))

    async def _run_async(self, record: LiveRun, me: Box) -> None:
        """Runs as a task on the system's event loop; task cancellation is the cancel scope."""
        ctx = RunContext(record, blocking=False)
        signal: Signal | None = None
        try:
            result = await record.pipeline(ctx)
            ctx.flush()
        except (Cancelled, asyncio.CancelledError):
            signal = None
        except BaseException as exc:  # caught here, it never reaches (and stops) the loop
            signal = failure_signal(record.run_id, exc, self._include_tb)
        else:
            signal = _outcome(record.run_id, result, self._include_tb)
        finally:
            me.put_quietly(WorkerDone(record.run_id, signal))

    def _stop_worker(self, run_id: str) -> None:
        record = self._active.get(run_id)
        if record is None:
            return
        self._executor.cancel(run_id)  # non-blocking: e.g. cancels an async task on its loop
        record.outbox.wake()
        me = self.actor_ref
        self._timer.call_later(self._deadline, lambda: tell_quietly(me, Deadline(run_id)))

    def _deadline_passed(self, run_id: str) -> None:
        if self._active.pop(run_id, None) is None:
            return  # the worker stopped in time
        if not self._executor.abandon(run_id):
            return  # it never ran (still queued, or cancelled before its first step): nothing to abandon
        self._abandoned.add(run_id)
        _log.warning(
            "run %s ignored cancellation for %.1f s; its worker is abandoned (the run stays cancelled)",
            run_id,
            self._deadline,
        )

    def _open_runs(self) -> Iterable[str]:
        return self._active

    def _crashed(self, failure: Signal) -> None:
        tell_quietly(self.completion, failure)
