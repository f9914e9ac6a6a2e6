"""When finished runs leave memory: a first-in first-out queue and one timer entry for all.

Every run of a system is kept the same ``retention`` after its terminal, so runs expire in the
order their terminals came: a FIFO holds them in deadline order with no heap. One timer entry
(the earliest deadline) is armed at a time, where one per run cost each terminal a heap push
under the timer's lock and three objects for the cyclic GC to walk for the whole retention
(a handle, a partial, a heap tuple; a ``(float, str)`` tuple here is untracked by the GC).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable

from ._timer import Timer

__all__ = ["ExpiryQueue"]

_log = logging.getLogger("runwire.expiry")

_BATCH = 1_000  # runs expired per timer callback: the timer thread serves other deadlines between


class ExpiryQueue:
    """``add(run_id)``: call ``expire(run_id)`` ``retention`` seconds from now (on the timer thread)."""

    __slots__ = ("_armed", "_due", "_expire", "_fire_bound", "_lock", "_retention", "_timer")

    def __init__(self, timer: Timer, retention: float, expire: Callable[[str], None]) -> None:
        self._timer = timer
        self._retention = retention
        self._expire = expire
        self._due: deque[tuple[float, str]] = deque()
        self._lock = threading.Lock()
        self._armed = False  # a timer entry for the head is set
        self._fire_bound = self._fire

    def add(self, run_id: str) -> None:
        with self._lock:
            self._due.append((time.monotonic() + self._retention, run_id))
            if self._armed:
                return
            self._armed = True
        self._timer.call_later(self._retention, self._fire_bound)

    def _fire(self) -> None:
        delay = 0.0  # more are due than one batch: come back at once
        for _ in range(_BATCH):
            with self._lock:
                if not self._due:
                    self._armed = False
                    return
                due, run_id = self._due[0]
                left = due - time.monotonic()
                if left > 0:
                    delay = left
                    break
                self._due.popleft()
            try:
                self._expire(run_id)
            except Exception:  # one run's failure must not stop the queue (it stays armed)
                _log.exception("expiring run %s failed", run_id)
        self._timer.call_later(delay, self._fire_bound)
