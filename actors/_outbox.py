"""The producer side of a run: a bounded, batched hand-off from the worker to the BusActor.

Why not one ``tell`` per event: pykka's inbox is unbounded, so a flooding worker would queue
thousands of events ahead of a cancel, and every tell costs a lock round trip. Instead the
worker appends to this outbox and sends one ``Drain`` message only when none is pending; the
bus takes everything at once. ``window`` bounds the events in flight: a sync worker that gets
that far ahead waits here (never an actor, never an event loop) until the bus drains, or
until the run is cancelled.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from runwire.protocol import RunEvent

from ._errors import Cancelled
from ._once import CancelFlag

__all__ = ["Outbox"]

# a sealed outbox's items: one empty list for all of them, never appended to (a put on a sealed
# outbox drops its event), so a finished run keeps no list of its own here for the GC to walk
_SEALED: list[RunEvent] = []


class Outbox:
    """Events emitted by one run's worker, waiting for the bus."""

    __slots__ = (
        "_cond",
        "_drain",
        "_items",
        "_later",
        "_lock",
        "_plain",
        "_room",
        "_scheduled",
        "_sealed",
        "_tell",
        "_waiters",
        "late_dropped",
        "on_wait",
        "window",
    )

    def __init__(
        self,
        window: int,
        tell: Callable[[Any], object],
        drain: object = None,
        first: Callable[[Any], object] | None = None,
    ) -> None:
        self.window = window
        # ``tell(drain)`` sends the bus one Drain: a shared bound method and one message made
        # once per run (``bind``), not a closure per run (fewer objects for the cyclic GC to walk).
        # ``first`` sends the first one (the shard's bus ``Box.put``: with the Open and the
        # run.started of the runs started meanwhile, many runs' per tell; a Drain may pass what
        # was told before it, see actors/_shard.py). Dropped at ``seal``: none is sent after.
        self._tell = tell if first is None else first
        self._later = tell
        self._drain = drain
        self._lock = threading.Lock()  # plain lock on the hot path; the condition only when full
        self._cond: threading.Condition | None = None  # created when a worker first has to wait
        self._waiters = 0
        self._items: list[RunEvent] = []
        self._plain = True  # every item queued came through ``put(plain=True)``
        self._room = window  # ``put``'s one test: 0 once sealed (then every put takes _put_slow)
        self._scheduled = False
        self._sealed = False
        self.late_dropped = 0
        self.on_wait: Callable[[], None] | None = None  # observability hook: a worker starts waiting

    def bind(self, drain: object) -> None:
        """The message ``put`` sends the bus (it names the run, made after this outbox)."""
        self._drain = drain

    def put(self, event: RunEvent, cancelled: CancelFlag, block: bool, plain: bool = False) -> None:
        """Queue one event; wait while the window is full if ``block`` (sync workers only).

        ``plain``: a ``TextDelta`` of the run's own identity (its ``DeltaBuilder``'s) with no
        ``artifact_id`` or ``first_seq``; a batch of only these is ``plain`` for ``take``, which
        lets the log skip its per-event checks (``RetainedLog.append``). Cleared under the lock
        with the append itself (after any wait: a ``take`` meanwhile resets it), so a ``take``
        never sees a mixed batch as plain."""
        with self._lock:
            items = self._items
            if len(items) < self._room:  # the hot path: room, not sealed
                items.append(event)
                if not plain:
                    self._plain = False
                if self._scheduled:
                    return
                self._scheduled = True
            elif not self._put_slow(event, cancelled, block, plain):
                return
            # read under the lock: a seal (which drops them) comes before or after, not between
            drain, tell, self._tell = self._drain, self._tell, self._later
        tell(drain)

    def _put_slow(self, event: RunEvent, cancelled: CancelFlag, block: bool, plain: bool) -> bool:
        """Under the lock: ``put`` on a sealed outbox or a full window; True if a Drain is due."""
        if self._sealed:
            self.late_dropped += 1
            return False
        items = self._items
        while block and len(items) >= self.window:
            if cancelled.is_set():
                raise Cancelled
            self._waiters += 1
            if self.on_wait is not None:
                self.on_wait()
            if self._cond is None:
                self._cond = threading.Condition(self._lock)
            try:
                self._cond.wait()
            finally:
                self._waiters -= 1
            if self._sealed:
                self.late_dropped += 1
                return False
            items = self._items
        items.append(event)
        if not plain:
            self._plain = False
        if self._scheduled:
            return False
        self._scheduled = True
        return True

    def take(self) -> tuple[list[RunEvent], bool]:
        """Bus side: everything queued so far, in emit order, and whether all of it came through
        ``put(plain=True)``. Nothing to take: the list returned is the outbox's own empty one
        (after ``seal``, the one shared by all), not to be appended to."""
        with self._lock:
            items, plain = self._items, self._plain
            if items:
                self._items = []
                self._plain = True
                if self._waiters and self._cond is not None:
                    self._cond.notify_all()
            self._scheduled = False
            return items, plain

    def seal(self) -> list[RunEvent]:
        """Bus side, at the terminal: take what is left and drop (and count) anything later.
        ``late_dropped`` only changes under the lock: workers still emitting count their own late
        events meanwhile."""
        with self._lock:
            items = self._items
            if items is _SEALED:
                items = []  # sealed before: the caller may append to what it gets, never to that one
            self._items = _SEALED
            self._sealed = True
            self._room = 0
            self._drain = None  # no Drain is sent after this: the run keeps no message
            if self._cond is not None:
                self._cond.notify_all()
            return items

    def wake(self) -> None:
        """Wake a worker waiting on a full window (it re-checks cancellation)."""
        with self._lock:
            if self._cond is not None:
                self._cond.notify_all()
