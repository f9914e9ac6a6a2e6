"""RunHandle: what ``RunSystem.start`` returns — watch, wait for, and cancel one run."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import TimeoutError as FutureTimeout
from typing import TYPE_CHECKING, Any, TypeAlias

import anyio
from pydantic import JsonValue

from runwire.protocol import RunEvent

from ._checks import check_result, check_text, check_timeout
from ._completion import decide_cancel, stop_worker
from ._errors import RunTimeoutError, RunwireError
from ._live_run import LiveRun
from ._messages import Signal
from ._subscription import EventStream, Policy, loop_waker

if TYPE_CHECKING:
    from ._info import RunInfo
    from ._system import RunSystem

__all__ = ["CancelHook", "RemoteRunHandle", "RunHandle"]

_HOOK_SET = threading.Lock()  # only makes set_cancel_hook's check-and-set atomic (rare, never waits)

CancelHook: TypeAlias = Callable[[str], bool]
"""``hook(reason)``, called by every ``cancel()`` of a run before it cancels the run itself.

True: the hook took over (e.g. a loop cancels its running step first and then its own run);
``cancel`` then only waits for the terminal. False: cancel the run directly now. It may be
called any number of times, from any thread, concurrently: it must be idempotent and non-blocking.
"""


class RunHandle:
    """A live reference to one run. Cheap to copy; every method is thread-safe."""

    __slots__ = ("_record", "_system", "run_id")

    def __init__(self, system: RunSystem, record: LiveRun) -> None:
        self._system = system
        self._record = record
        self.run_id = record.run_id

    def __repr__(self) -> str:
        return f"<RunHandle {self.run_id} pipeline={self._record.pipeline_name!r}>"

    @property
    def pipeline(self) -> str:
        return self._record.pipeline_name

    def events(
        self,
        after_seq: int = 0,
        *,
        timeout: float | None = None,
        buffer: int | None = 10_000,
        policy: Policy = "coalesce",
    ) -> EventStream:
        """The run's events with ``seq > after_seq``: replay, then the live tail, to the terminal.

        Iterate with ``for`` or ``async for``. ``timeout`` bounds the wait for each next event.
        ``buffer`` bounds what waits for this subscriber (None: unbounded); past it ``policy``
        applies: ``"coalesce"`` (merge text deltas, then drop the oldest ones behind one
        ``stream.gap``), ``"block"`` (lossless: the producer waits), or ``"disconnect"``
        (:class:`SubscriberTooSlowError`). Lifecycle, milestone, artifact and step events are
        never dropped or merged.
        """
        return EventStream(self._system, self.run_id, after_seq, timeout, buffer, policy)

    def cancel(self, reason: str = "cancelled", *, timeout: float | None = 10.0) -> RunEvent:
        """Cancel the run; returns its terminal event, which is in the log when this returns.

        Idempotent: on a run that already ended it changes nothing and returns that terminal.
        """
        check_text(reason, "reason")
        check_timeout(timeout)
        rec = self._record
        hook = rec.cancel_hook  # set once, never cleared: one read, nothing to race with
        if hook is not None and not rec.terminal.done() and hook(reason):
            return self.wait(timeout)  # e.g. a loop: its running step is cancelled first
        if rec.terminal.done():
            return self.wait(timeout)
        # First the flag: a Start or a Settle that sees it leaves the run to this cancel. Its
        # waiters and on_cancel callbacks, and the RunActor that stops the worker, are woken
        # only once run.cancelled is logged (or the wait ends): each is a thread wanting the
        # GIL while the bus and the subscriber need it (docs/profiles.md, Cancel).
        first = rec.cancel_requested.set_quietly()
        shard = self._system._shards[rec.shard]
        rec.terminal.prepare_wait()  # before the bus is woken: after it, this thread only blocks
        decided = decide_cancel(rec, shard, reason)
        # a worker waiting on backpressure re-checks cancellation now; woken after the bus, so
        # that the bus tends to be first in line for the GIL
        rec.outbox.wake()
        if not decided:  # another terminal was decided first: the CompletionActor counts this one as late
            rec.to_completion(Signal(self.run_id, "cancel", reason=reason))
        try:
            return self.wait(timeout)
        finally:
            if first:
                rec.cancel_requested.wake()
            if decided:
                stop_worker(rec, shard)

    def set_cancel_hook(self, hook: CancelHook) -> None:
        """Route every later ``cancel()`` of this run, through any handle, via ``hook`` first.

        For a run that owns others (a loop and its steps): see :data:`runwire.actors.ext.CancelHook`.
        Set once per run; a second hook raises ValueError.
        """
        if not callable(hook):
            raise TypeError(f"hook must be callable, got {type(hook).__name__}")
        rec = self._record
        with _HOOK_SET:
            if rec.cancel_hook is not None:
                raise ValueError(f"run {self.run_id} already has a cancel hook")
            rec.cancel_hook = hook

    def wait(self, timeout: float | None = None) -> RunEvent:
        """Block until the run's terminal event is in its log; return it."""
        check_timeout(timeout)
        try:
            return self._record.terminal.result(timeout)
        except FutureTimeout:
            raise RunTimeoutError(f"run {self.run_id} did not end within {timeout} s") from None

    async def wait_async(self) -> RunEvent:
        """``await`` the terminal event from any anyio event loop (asyncio or trio)."""
        fut = self._record.terminal
        if not fut.done():
            done = anyio.Event()
            wake = loop_waker()
            fut.add_done_callback(lambda _f: wake(done.set))
            await done.wait()
        return fut.result()

    def on_terminal(self, callback: Callable[[RunEvent], object]) -> None:
        """Call ``callback(terminal_event)`` once, right after the terminal is in the run's log.

        It runs on the bus's thread (or at once, here, if the run already ended), so it must not
        block: tell an actor, set an event. This is how a StepRunner learns a step ended — by a
        message, never by polling.
        """
        self._record.terminal.add_done_callback(lambda fut: callback(fut.result()))

    def info(self) -> RunInfo:
        return self._system.get(self.run_id)

    # -- explicit outcome signals (integrations, tests) ---------------------------------------
    def complete(self, result: JsonValue = None) -> None:
        """Ask for ``run.completed``; loses to a concurrent fail or cancel (precedence)."""
        result = check_result(result)
        self._record.to_completion(Signal(self.run_id, "complete", result=result))

    def fail(self, error_type: str, message: str) -> None:
        """Ask for ``run.failed``; loses to a concurrent cancel, wins over a concurrent complete."""
        check_text(error_type, "error_type")
        check_text(message, "message")
        self._record.to_completion(Signal(self.run_id, "fail", error_type=error_type, message=message))

    def report_finish_reason(self, reason: str) -> None:
        """Record a provider finish_reason; it is put on the terminal and never ends the run."""
        check_text(reason, "reason")
        self._record.finish_reason = reason or None  # read by whichever terminal is decided next
        self._record.to_completion(Signal(self.run_id, "provider_finish", reason=reason))

    def __eq__(self, other: Any) -> bool:
        return isinstance(other, RunHandle) and other.run_id == self.run_id

    def __hash__(self) -> int:
        return hash(self.run_id)


class RemoteRunHandle(RunHandle):
    """Base of a handle to a run this system does not hold in memory (``runwire.actors.ext``).

    A store's ``SystemStore.handle`` returns one for a stored run: finished, or in flight in
    another process sharing the store. ``events()`` and ``info()`` work as on any handle (the
    system reads them from its store); a subclass implements ``wait`` and ``cancel`` (and may
    override ``wait_async`` and ``on_terminal``, whose defaults call ``wait`` on a thread).
    Outcome signals other than cancel (``complete``/``fail``/``report_finish_reason``) belong
    to the process running the run: here they raise ``RunwireError`` unless overridden.
    """

    __slots__ = ("_pipeline",)

    def __init__(self, system: RunSystem, run_id: str, pipeline: str) -> None:
        self._system = system
        self.run_id: str = check_text(run_id, "run_id")
        self._pipeline: str = check_text(pipeline, "pipeline")

    def __repr__(self) -> str:
        return f"<RunHandle {self.run_id} pipeline={self._pipeline!r} (not in this system's memory)>"

    @property
    def pipeline(self) -> str:
        return self._pipeline

    def wait(self, timeout: float | None = None) -> RunEvent:
        """Block until the run's terminal is stored; return it (``RunTimeoutError`` past ``timeout``)."""
        raise NotImplementedError(f"{type(self).__name__} must implement wait()")

    def cancel(self, reason: str = "cancelled", *, timeout: float | None = 10.0) -> RunEvent:
        """Have the run's owner cancel it; return its terminal (whichever won by precedence)."""
        raise NotImplementedError(f"{type(self).__name__} must implement cancel()")

    async def wait_async(self) -> RunEvent:
        """``wait()`` on a worker thread, awaited from any anyio loop."""
        return await anyio.to_thread.run_sync(self.wait, abandon_on_cancel=True)

    def on_terminal(self, callback: Callable[[RunEvent], object]) -> None:
        """Call ``callback(terminal)`` once the run ended: from a daemon thread blocked in ``wait()``."""
        threading.Thread(
            target=lambda: callback(self.wait()), name=f"runwire-terminal-{self.run_id}", daemon=True
        ).start()

    def set_cancel_hook(self, hook: CancelHook) -> None:
        raise RunwireError(f"run {self.run_id} is not held by this system: set its cancel hook where it runs")

    def _elsewhere(self, action: str) -> RunwireError:
        return RunwireError(f"cannot {action} run {self.run_id}: only the system running it can")

    def complete(self, result: JsonValue = None) -> None:
        raise self._elsewhere("complete")

    def fail(self, error_type: str, message: str) -> None:
        raise self._elsewhere("fail")

    def report_finish_reason(self, reason: str) -> None:
        raise self._elsewhere("report a finish reason on")
