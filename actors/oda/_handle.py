"""LoopHandle: a RunHandle for a loop run whose cancel stops the chain child-first.

A plain ``RunHandle.cancel`` would end the loop run at once and leave its running step to be
cancelled afterwards. The loop's handle instead asks its StepRunner: the running step is
cancelled first (its ``run.cancelled`` is in its log before the loop's), no step starts after
the call, and then the loop run itself ends ``run.cancelled``.
"""

from __future__ import annotations

import contextlib
import threading
from typing import TYPE_CHECKING, Any

import pykka

from runwire.actors import RunHandle, RunTimeoutError
from runwire.actors.ext import Policy
from runwire.protocol import RunEvent

from ._messages import CancelLoop

if TYPE_CHECKING:
    from runwire.actors import RunSystem

    from ._events import LoopEventStream

__all__ = ["LoopHandle"]


class LoopHandle(RunHandle):
    """What ``system.loop(...)`` returns: the loop run's handle, plus child-first cancellation."""

    __slots__ = ("_released", "_runner", "_stop")

    def __init__(
        self,
        system: RunSystem,
        handle: RunHandle,
        runner: pykka.ActorRef[Any],
        stop: threading.Event,
        released: threading.Event,
    ) -> None:
        super().__init__(system, handle._record)
        self._runner = runner
        self._stop = stop
        self._released = released

    def __repr__(self) -> str:
        return f"<LoopHandle {self.run_id} pipeline={self.pipeline!r}>"

    @property
    def runner(self) -> pykka.ActorRef[Any]:
        """The loop's StepRunnerActor (tests hold it with a Pause message to order races)."""
        return self._runner

    def request_cancel(self, reason: str = "cancelled") -> None:
        """Non-blocking half of :meth:`cancel`: once this returns, no new step starts."""
        if self._record.terminal.done():
            return
        self._stop.set()  # before the message: a decision or terminal already queued sees it
        try:
            self._runner.tell(CancelLoop(reason))
        except pykka.ActorDeadError:  # the runner is gone: cancel the loop run directly
            self._released.set()  # past the cancel hook, which would send it here again
            with contextlib.suppress(RunTimeoutError):
                super().cancel(reason, timeout=0)

    def cancel(self, reason: str = "cancelled", *, timeout: float | None = 10.0) -> RunEvent:
        """Cancel the running step, then the loop; return the loop's terminal (in its log by then).

        Idempotent: on a loop that already ended it changes nothing and returns that terminal.
        """
        self.request_cancel(reason)
        return self.wait(timeout)

    def events(
        self,
        after_seq: int = 0,
        *,
        timeout: float | None = None,
        buffer: int | None = 10_000,
        policy: Policy = "coalesce",
        include_children: bool = False,
    ) -> LoopEventStream:
        """The loop's events; with ``include_children`` each step's events follow its step.started."""
        from ._events import LoopEventStream

        return LoopEventStream(self._system, self.run_id, after_seq, timeout, include_children, buffer, policy)
