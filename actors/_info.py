"""RunInfo: a snapshot of one run, assembled from what each actor knows about it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from runwire.protocol import RunEvent, RunState

__all__ = ["RunInfo"]


@dataclass(frozen=True, slots=True)
class RunInfo:
    run_id: str
    pipeline: str
    state: RunState
    created_at: datetime
    parent_run_id: str | None
    step: int | None
    terminal: RunEvent | None
    last_seq: int
    retained_from: int
    """The oldest seq still in memory (older ones: a ``stream.gap``, or the store)."""
    subscribers: int
    late_events_dropped: int
    """Events a worker emitted after the run's terminal: dropped by the fence, never delivered."""
    discarded_signals: int
    """Outcome signals that lost on precedence or came after the terminal (e.g. a result after cancel)."""
    finish_reason: str | None
    worker_active: bool
    worker_abandoned: bool
    """The worker ignored cancellation past its deadline and was left behind."""
    from_store: bool = False
    """Not in this process's memory: a snapshot of the run as the run store has it (a finished run
    replayed after its retention or a restart, or a run in flight in another process)."""
    retained_bytes: int = 0
    """What the in-memory log of this run holds, as the JSON bytes of its retained events (text
    deltas are kept compact and counted by their string lengths: exact for ASCII text)."""
