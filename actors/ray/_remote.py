"""The worker side of a run on Ray: the pipeline's ``ctx`` there, and the task that ships its emits.

Why calls, not events: the owning system must sequence, throttle and validate every emit exactly
as it does a local one, so the worker records each emit as ``(method, args, kwargs)`` and the
owner replays it on the run's own ``RunContext``. A call is a few small tuples: a batch of
thousands pickles in well under a millisecond, where built pydantic events would cost more on
both sides. The pipeline runs on a thread of the worker; the task's own thread (where Ray delivers
``ray.cancel``) yields whatever accumulated since its last yield: one batch per round trip.
"""

from __future__ import annotations

import asyncio
import contextlib
import pickle
import threading
from collections.abc import Callable, Iterator
from typing import Any

from pydantic import JsonValue

from runwire.actors import Cancelled

__all__ = ["REPLAYABLE", "Call", "End", "RayContext", "execute"]

Call = tuple[str, tuple[Any, ...], dict[str, Any] | None]
End = tuple[str, Any]  # ("ok", result) | ("error", (type name, message)) | ("cancelled", None)

# the RunContext methods a worker may replay on the owner: its emits, nothing else
REPLAYABLE = frozenset(
    {"progress", "milestone", "log", "delta", "artifact_partial", "artifact", "emit", "flush", "report_finish_reason"}
)
# how long the task's thread waits at most before it lets a pending ray.cancel in: Ray delivers
# a cancel as an interrupt between bytecodes, which a thread blocked in a wait does not see
_INTERRUPT_TICK = 0.01


class RayContext:
    """The ``ctx`` a pipeline gets on a Ray worker: RunContext's API, its emits shipped to the owner.

    Emits raise :class:`Cancelled` once the run is cancelled (``ray.cancel`` reached the task),
    a sync pipeline waits at an emit while ``window`` calls are unshipped (backpressure), and
    ``wait_cancelled`` / ``on_cancel`` work as locally.
    """

    def __init__(
        self,
        run_id: str,
        inputs: dict[str, JsonValue],
        parent_run_id: str | None,
        step: int | None,
        window: int,
        blocking: bool,
    ) -> None:
        self.run_id = run_id
        self.inputs = inputs
        self.parent_run_id = parent_run_id
        self.step = step
        self._window = window
        self._block = blocking
        self._cond = threading.Condition(threading.Lock())
        self._calls: list[Call] = []
        self._end: End | None = None
        self._cancel = threading.Event()
        self._callbacks: list[Callable[[], object]] = []

    # -- cancellation -------------------------------------------------------------------------
    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def check_cancelled(self) -> None:
        if self._cancel.is_set():
            raise Cancelled

    def wait_cancelled(self, timeout: float | None = None) -> bool:
        return self._cancel.wait(timeout)

    def on_cancel(self, callback: Callable[[], object]) -> Callable[[], None]:
        with self._cond:
            now = self._cancel.is_set()
            if not now:
                self._callbacks.append(callback)
        if now:
            with contextlib.suppress(Exception):
                callback()

        def remove() -> None:
            with self._cond, contextlib.suppress(ValueError):
                self._callbacks.remove(callback)

        return remove

    def cancel(self) -> None:
        """The task was cancelled: set the flag, run the callbacks, wake a waiting emit."""
        with self._cond:
            if self._cancel.is_set():
                return
            self._cancel.set()
            callbacks, self._callbacks = self._callbacks, []
            self._cond.notify_all()
        for callback in callbacks:
            with contextlib.suppress(Exception):
                callback()

    # -- emits: recorded, shipped, replayed on the owner -----------------------------------------
    def _call(self, name: str, args: tuple[Any, ...], kwargs: dict[str, Any] | None = None) -> None:
        if self._cancel.is_set():
            raise Cancelled
        with self._cond:
            calls = self._calls
            while self._block and len(calls) >= self._window:
                self._cond.wait()
                if self._cancel.is_set():
                    raise Cancelled
                calls = self._calls
            calls.append((name, args, kwargs))
            if len(calls) == 1:
                self._cond.notify_all()  # the shipper waits only while there is nothing to ship

    def progress(
        self,
        fraction: float | None = None,
        *,
        current: int | None = None,
        total: int | None = None,
        message: str | None = None,
    ) -> None:
        self._call("progress", (fraction,), {"current": current, "total": total, "message": message})

    def milestone(self, name: str, **data: JsonValue) -> None:
        self._call("milestone", (name,), data)

    def log(self, message: str, level: str = "info") -> None:
        self._call("log", (message, level))

    def delta(self, field: str, text: str, artifact_id: str | None = None) -> None:
        self._call("delta", (field, text, artifact_id))

    def artifact_partial(self, artifact_id: str, text: str) -> None:
        self._call("artifact_partial", (artifact_id, text))

    def artifact(self, artifact_id: str, **fields: Any) -> None:
        self._call("artifact", (artifact_id,), fields)

    def emit(self, event: Any) -> None:
        self._call("emit", (event,))

    def flush(self) -> None:
        if not self._cancel.is_set():
            self._call("flush", ())

    def report_finish_reason(self, reason: str) -> None:
        self._call("report_finish_reason", (reason,))

    # -- the shipping side -------------------------------------------------------------------
    def finish(self, end: End) -> None:
        with self._cond:
            self._end = end
            self._cond.notify_all()

    def take(self) -> tuple[list[Call], End | None]:
        """The task's thread: every unshipped call, and the outcome once the pipeline ended."""
        with self._cond:
            while not self._calls and self._end is None:
                self._cond.wait(_INTERRUPT_TICK)
            calls, self._calls = self._calls, []
            self._cond.notify_all()  # a sync pipeline waiting on a full window goes on
            return calls, self._end


def _outcome(run: Callable[[], Any]) -> End:
    try:
        result = run()
    except (Cancelled, asyncio.CancelledError):
        return ("cancelled", None)
    except BaseException as exc:  # SystemExit too: the owner fails the run, as it does locally
        return ("error", (type(exc).__name__, _describe(exc)))
    try:
        pickle.dumps(result)
    except Exception as exc:
        return ("error", ("TypeError", f"pipeline returned a value that cannot leave the Ray worker: {exc}"))
    return ("ok", result)


def _describe(exc: BaseException) -> str:
    try:
        return str(exc)
    except Exception as err:
        return f"<str() of {type(exc).__name__} raised {type(err).__name__}>"


def _run_async(pipeline: Callable[..., Any], ctx: RayContext) -> Any:
    async def main() -> Any:
        task = asyncio.current_task()
        loop = asyncio.get_running_loop()
        if task is not None:
            ctx.on_cancel(lambda: loop.call_soon_threadsafe(task.cancel))
        return await pipeline(ctx)

    return asyncio.run(main())


def execute(
    pipeline: Callable[..., Any],
    inputs: dict[str, JsonValue],
    ids: tuple[str, str | None, int | None],
    is_async: bool,
    window: int,
) -> Iterator[tuple[list[Call], End | None]]:
    """The Ray task (a streaming generator): run ``pipeline`` on a thread, yield its calls in
    batches, the last item carrying the outcome."""
    run_id, parent_run_id, step = ids
    ctx = RayContext(run_id, inputs, parent_run_id, step, window, blocking=not is_async)
    if is_async:
        body: Callable[[], Any] = lambda: _run_async(pipeline, ctx)  # noqa: E731
    else:
        body = lambda: pipeline(ctx)  # noqa: E731
    thread = threading.Thread(target=lambda: ctx.finish(_outcome(body)), name=f"runwire-{run_id}", daemon=True)
    thread.start()
    try:
        while True:
            calls, end = ctx.take()
            yield calls, end
            if end is not None:
                return
    finally:  # cancelled (ray.cancel interrupts this thread) or closed: stop the pipeline first
        ctx.cancel()
        thread.join()  # one that ignores its cancel keeps the task alive until force-cancelled
