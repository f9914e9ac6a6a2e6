"""The runtime's exceptions: one base class, one subclass per thing a caller can get wrong."""

from __future__ import annotations

__all__ = [
    "Cancelled",
    "RunwireError",
    "RunExpiredError",
    "RunTimeoutError",
    "SubscriberTooSlowError",
    "SystemClosedError",
    "UnknownRunError",
]


class RunwireError(Exception):
    """Base class of every error the runtime raises on purpose."""


class UnknownRunError(RunwireError, KeyError):
    """No run with this run_id is known to the system."""

    def __init__(self, run_id: str) -> None:
        super().__init__(run_id)
        self.run_id = run_id

    def __str__(self) -> str:
        return f"unknown run: {self.run_id!r}"


class RunExpiredError(UnknownRunError):
    """The run existed but its retention (TTL) expired and its state was freed."""

    def __str__(self) -> str:
        return f"run {self.run_id!r} has expired: its events were freed after its retention period"


class SystemClosedError(RunwireError):
    """The RunSystem was closed; it accepts no new work."""


class RunTimeoutError(RunwireError, TimeoutError):
    """Waiting on a run took longer than the caller allowed."""


class SubscriberTooSlowError(RunwireError):
    """A ``disconnect``-policy subscriber fell further behind than its buffer; resume from ``last_seq``."""

    def __init__(self, limit: int, last_seq: int) -> None:
        super().__init__(
            f"subscriber fell behind by more than its buffer of {limit} events and was disconnected; "
            f"resume with events(after_seq={last_seq})"
        )
        self.limit = limit
        self.last_seq = last_seq


class Cancelled(RunwireError):
    """Raised inside a pipeline (at an emit or ``ctx.check_cancelled()``) once its run was cancelled.

    Pipelines should let it propagate; the run is already ``run.cancelled``.
    """
