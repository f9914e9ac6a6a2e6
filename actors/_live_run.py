"""What every actor may know about a run without asking: its identity and its channels.

A ``LiveRun`` is a run in this process's memory (a stored run is the store's ``RunRecord``). It
is immutable after creation except for thread-safe primitives (the outbox, the cancel flag and
the terminal slot) and ``finish_reason`` (one reference, set by reporters). Mutable run *state*
lives inside the actors.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import JsonValue

from runwire.protocol import RunEvent

from ._once import CancelFlag, TerminalSlot
from ._outbox import Outbox
from ._throttle import DeltaThrottle

__all__ = ["LiveRun"]


@dataclass(eq=False, slots=True)
class LiveRun:
    run_id: str
    pipeline_name: str
    pipeline: Callable[..., Any]
    inputs: dict[str, JsonValue]
    is_async: bool
    shard: int
    outbox: Outbox
    created_at: datetime
    to_completion: Callable[[Any], None]
    parent_run_id: str | None = None
    step: int | None = None
    throttle: DeltaThrottle | None = None
    # Set once (RunHandle.set_cancel_hook), never cleared: every cancel() calls it first, so a
    # run that owns others - a loop - cancels them first (child-first), whoever holds the handle.
    cancel_hook: Callable[[str], bool] | None = None
    # The provider's latest finish_reason, written by whoever reports it before its signal is
    # queued (one attribute store: atomic), so a terminal decided off the CompletionActor's
    # thread - a cancel() caller's - carries it too.
    finish_reason: str | None = None
    cancel_requested: CancelFlag = field(init=False)
    terminal: TerminalSlot[RunEvent] = field(init=False)

    def __post_init__(self) -> None:
        lock = threading.Lock()  # this run's own: shared by its flag and its slot, nobody else's
        self.cancel_requested = CancelFlag(lock)
        self.terminal = TerminalSlot(lock)
