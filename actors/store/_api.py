"""The ``RunStore`` interface and the records it returns, independent of any backend."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Literal, NamedTuple, Protocol, TypeAlias, runtime_checkable

from runwire.protocol import RUN_STATES, TERMINAL_STATES, RunEvent, RunState, parse_event

from ._errors import StoreError

__all__ = [
    "ACTIVE_STATES",
    "RUN_STATES",
    "TERMINAL_STATES",
    "CommitListener",
    "Durability",
    "RawEvent",
    "RunRecord",
    "RunState",
    "RunStore",
    "WriteErrorListener",
]

ACTIVE_STATES: frozenset[str] = frozenset({"pending", "running"})

Durability: TypeAlias = Literal["off", "normal", "full"]
"""How hard a commit tries to survive a crash: SQLite ``synchronous`` OFF / NORMAL / FULL (see docs/store.md)."""

CommitListener: TypeAlias = Callable[[Mapping[str, int]], None]
"""Called on the writer thread after each commit with {run_id: highest seq now committed}."""

WriteErrorListener: TypeAlias = Callable[[Sequence[str], StoreError], None]
"""Called on the writer thread with the run_ids whose writes were not committed, and why."""


class RawEvent(NamedTuple):
    """One stored event: its seq and type (for cheap routing) and the exact bytes ``dump_event`` gave."""

    seq: int
    type: str
    data: bytes


@dataclass(frozen=True, slots=True)
class RunRecord:
    """A run as stored. Times are UTC; ``last_seq`` is the highest stored seq (0 = no event yet)."""

    run_id: str
    pipeline: str
    inputs_json: str
    parent_run_id: str | None
    state: RunState
    created_at: datetime
    started_at: datetime | None
    ended_at: datetime | None
    last_seq: int
    terminal_json: bytes | None

    @property
    def inputs(self) -> dict[str, Any]:
        """The run's inputs, parsed from their stored JSON."""
        value: dict[str, Any] = json.loads(self.inputs_json)
        return value

    @property
    def terminal(self) -> RunEvent | None:
        """The run's terminal event (parsed), or None while it is in flight."""
        return parse_event(self.terminal_json) if self.terminal_json is not None else None


@runtime_checkable
class RunStore(Protocol):
    """Durable runs and event logs.

    Writes (``create_run``, ``append``, ``set_state``) only enqueue: they never wait for the
    disk. A write is *acknowledged* once it is committed, which a caller observes through
    ``flush()`` returning or through a commit listener. Reads see committed data only.
    """

    @property
    def path(self) -> Path:
        """The database file."""
        ...

    def create_run(
        self,
        run_id: str,
        pipeline: str,
        inputs: Mapping[str, Any] | None = None,
        parent_run_id: str | None = None,
        created_at: datetime | None = None,
    ) -> None:
        """Record a new run in state ``pending``."""
        ...

    def append(self, events: Sequence[RunEvent], encoded: Sequence[bytes] | None = None) -> None:
        """Persist sequenced events (seq order per run); a terminal event ends its run."""
        ...

    def set_state(self, run_id: str, state: RunState, at: datetime | None = None) -> None:
        """Move a run's state; a run that ended keeps its final state."""
        ...

    def flush(self, timeout: float | None = None) -> None:
        """Return once every write enqueued before this call is committed (or raise)."""
        ...

    def get_run(self, run_id: str) -> RunRecord | None:
        """The run, or None if unknown."""
        ...

    def list_runs(
        self, state: RunState | None = None, parent_run_id: str | None = None, limit: int = 100
    ) -> list[RunRecord]:
        """Runs, newest first, optionally filtered by state and/or parent."""
        ...

    def read_events(self, run_id: str, after_seq: int = 0, limit: int | None = None) -> list[RunEvent]:
        """The run's events with ``seq > after_seq``, parsed, in seq order."""
        ...

    def read_events_raw(self, run_id: str, after_seq: int = 0, limit: int | None = None) -> list[RawEvent]:
        """The same events as stored bytes (byte-identical replay, no parsing)."""
        ...

    def recover(self) -> list[str]:
        """Close runs left in flight by a process that died; return their run_ids."""
        ...

    def gc(self, older_than: timedelta | None = None, keep_last: int | None = None) -> int:
        """Delete finished runs (and their events); return how many runs were deleted."""
        ...

    def add_commit_listener(self, listener: CommitListener) -> Callable[[], None]:
        """Call ``listener`` after each commit; returns a function that removes it."""
        ...

    def add_write_error_listener(self, listener: WriteErrorListener) -> Callable[[], None]:
        """Call ``listener`` when writes fail; returns a function that removes it."""
        ...

    def close(self, timeout: float | None = None) -> None:
        """Commit what is queued (waiting at most ``timeout`` s for the writer), stop it, let go."""
        ...

    # -- across processes (docs/scale-out.md): the writing process notifies, nobody polls ------

    def wait_for_change(self, run_id: str, after_seq: int, timeout: float | None) -> bool:
        """Block until run ``run_id`` has a *committed* event with seq > ``after_seq``, or has ended,
        or its owner is found dead (``recover()`` then closes it with ``run.failed``), or
        ``timeout`` passes; True unless it timed out (an unknown run: True at once).

        Wakes on a notification from the writing process (SQLite: the owner's local socket;
        PostgreSQL: LISTEN/NOTIFY sent in the commit's transaction), never a sleep-and-query
        loop. Any thread may call it; it must not hold a connection the writer needs.
        """
        ...

    def request_cancel(self, run_id: str, reason: str, timeout: float) -> None:
        """Ask the live owner of ``run_id`` (another process/system on this store) to cancel it and
        return once the run's terminal is committed (``run.cancelled``, or whichever terminal won
        by the usual precedence). The owner dead: recover its runs (``run.failed``) and return.
        Not confirmed within ``timeout``: raise ``runwire.actors.RunTimeoutError`` naming the
        owner (pid/host or owner token). A run that already ended: return at once.
        """
        ...

    def serve_cancels(self, cancel: Callable[[str, str], None]) -> Callable[[], None]:
        """Owner side: from now on, when another process requests a cancel of one of this store's
        runs, call ``cancel(run_id, reason)`` on a store-owned thread (a RunSystem's binding calls
        ``handle(run_id).cancel(reason)``; it raises ``KeyError`` for a run it does not hold, and
        the next server is asked). Returns a function that stops serving.
        """
        ...
