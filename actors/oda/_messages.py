"""Typed messages the StepRunnerActor receives (frozen classes, never dicts)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

from pydantic import JsonValue

from runwire.actors import RunContext
from runwire.protocol import RunEvent

__all__ = ["CancelLoop", "DeadlineReached", "Decided", "LoopEnded", "LoopOutcome", "StartLoop", "Terminal"]


@dataclass(frozen=True, slots=True)
class LoopOutcome:
    """How the loop's own pipeline ends: return ``result`` (with ``finish_reason``), or raise ``error``."""

    result: JsonValue = None
    finish_reason: str | None = None
    error: BaseException | None = None


@dataclass(frozen=True, slots=True)
class StartLoop:
    """The loop run is running: here is its context, and how to hand it the loop's outcome."""

    ctx: RunContext
    resolve: Callable[[LoopOutcome], None]
    event_loop: asyncio.AbstractEventLoop


@dataclass(frozen=True, slots=True)
class Decided:
    """observe + decide returned (``decision``) or raised (``error``) for round ``round``."""

    round: int
    decision: object = None
    error: BaseException | None = None


@dataclass(frozen=True, slots=True)
class Terminal:
    """A step's terminal event is in its log (sent from ``RunHandle.on_terminal``)."""

    child_run_id: str
    event: RunEvent


@dataclass(frozen=True, slots=True)
class CancelLoop:
    """Cancel the running step, start no other, then cancel the loop run itself.

    The sender sets the loop's stop flag before sending, so a decision or a step terminal already
    on its way is never acted on, whatever order the messages arrive in.
    """

    reason: str


@dataclass(frozen=True, slots=True)
class LoopEnded:
    """The loop run's own terminal is in its log (whoever decided it): clean up and stop."""

    event: RunEvent


@dataclass(frozen=True, slots=True)
class DeadlineReached:
    """``Budget.deadline`` passed (scheduled on the system's event loop, not polled)."""
