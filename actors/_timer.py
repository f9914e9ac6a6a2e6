"""One daemon thread that calls functions at deadlines (cancel deadlines, retention TTLs).

Actors cannot sleep, and a thread per deadline would not scale, so every delayed action in the
runtime goes through this heap. Callbacks must be quick and non-blocking: they normally
``tell`` an actor.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections.abc import Callable

__all__ = ["Timer", "TimerHandle"]

_log = logging.getLogger("runwire.timer")


class TimerHandle:
    __slots__ = ("cancelled",)

    def __init__(self) -> None:
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class Timer:
    def __init__(self) -> None:
        self._heap: list[tuple[float, int, TimerHandle, Callable[[], None]]] = []
        self._counter = itertools.count()
        self._cond = threading.Condition()
        self._stopped = False
        self._thread = threading.Thread(target=self._loop, name="runwire-timer", daemon=True)
        self._thread.start()

    def call_later(self, delay: float, fn: Callable[[], None]) -> TimerHandle:
        handle = TimerHandle()
        entry = (time.monotonic() + max(0.0, delay), next(self._counter), handle, fn)
        with self._cond:
            heapq.heappush(self._heap, entry)
            if self._heap[0] is entry:  # due first: the thread's current wait is too long
                self._cond.notify()  # else no wake-up (every terminal schedules one: its expiry)
        return handle

    def stop(self) -> None:
        with self._cond:
            self._stopped = True
            self._cond.notify()
        self._thread.join(timeout=5)

    def _loop(self) -> None:
        while True:
            with self._cond:
                while not self._stopped:
                    if not self._heap:
                        self._cond.wait()
                        continue
                    due = self._heap[0][0] - time.monotonic()
                    if due <= 0:
                        break
                    self._cond.wait(timeout=due)  # a deadline, not a poll: woken early by new entries
                if self._stopped:
                    return
                _, _, handle, fn = heapq.heappop(self._heap)
            if handle.cancelled:
                continue
            try:
                fn()
            except Exception:  # a timer callback must never kill the timer
                _log.exception("runwire timer callback failed")
