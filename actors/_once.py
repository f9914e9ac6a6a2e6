"""Set-once per-run primitives: the cancel flag and the terminal slot.

Not "signals": a ``Signal`` (actors/_messages.py) is an outcome message a run's CompletionActor
receives (cancel, fail, complete, provider finish); these are what it and the others set once.

``threading.Event`` and ``concurrent.futures.Future`` each carry a ``Condition`` (a deque, a lock
and bound methods: ~1.7 KiB measured). A run needs one flag and one slot, but almost never a
thread waiting on them, so these create the heavy waiting primitive only when someone waits:
that is most of the difference between ~13 and ~5 KiB per in-flight run (docs/benchmarks.md).

Each run's flag and slot share one plain lock of their own (LiveRun passes it to both): it
guards their state and the lazy creation, and is never held while waiting or calling out, so
runs never contend with each other, within a system or across systems.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import InvalidStateError
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Generic, TypeVar

__all__ = ["CancelFlag", "TerminalSlot"]

_log = logging.getLogger("runwire.once")
T = TypeVar("T")


class CancelFlag:
    """A set-once flag with ``threading.Event``'s ``is_set``/``set``/``wait``, and callbacks run
    once by the thread that sets it (to abort a blocking call that cannot check the flag)."""

    __slots__ = ("_callbacks", "_event", "_flag", "_lock")

    def __init__(self, lock: threading.Lock | None = None) -> None:
        self._lock = lock if lock is not None else threading.Lock()
        self._flag = False
        self._event: threading.Event | None = None
        self._callbacks: list[Callable[[], object]] | None = None

    def is_set(self) -> bool:
        return self._flag

    def set(self) -> None:
        if self.set_quietly():
            self.wake()

    def set_quietly(self) -> bool:
        """Set the flag (``is_set`` is True from now on, a new ``wait`` returns at once) but leave
        the threads already waiting and the callbacks to ``wake``, which the caller must call:
        cancel() wakes the worker only once run.cancelled is logged, so that the worker does not
        take the GIL from the bus and the subscriber meanwhile. True if this call set the flag."""
        with self._lock:
            if self._flag:
                return False
            self._flag = True
            return True

    def wake(self) -> None:
        """Wake the threads waiting on the set flag and run its callbacks (each once, ever)."""
        with self._lock:
            if not self._flag:
                return
            event, callbacks, self._callbacks = self._event, self._callbacks, None
        if event is not None:
            event.set()
        for callback in callbacks or ():
            _call_quietly(callback)

    def wait(self, timeout: float | None = None) -> bool:
        if self._flag:
            return True
        with self._lock:
            if self._event is None:
                self._event = threading.Event()
                if self._flag:
                    self._event.set()
            event = self._event
        return event.wait(timeout)

    def add_callback(self, callback: Callable[[], object]) -> Callable[[], None]:
        """Run ``callback`` when the flag is set (now, on this thread, if it already is); returns
        a function that unregisters it. A callback that raises is logged, never propagated."""
        with self._lock:
            if not self._flag:
                if self._callbacks is None:
                    self._callbacks = []
                self._callbacks.append(callback)
                return lambda: self._remove(callback)
        _call_quietly(callback)
        return _nothing

    def _remove(self, callback: Callable[[], object]) -> None:
        with self._lock:
            if self._callbacks is not None and callback in self._callbacks:
                self._callbacks.remove(callback)


def _nothing() -> None:
    return None


def _call_quietly(callback: Callable[[], object]) -> None:
    try:
        callback()
    except Exception:
        _log.exception("a cancel callback raised")


class TerminalSlot(Generic[T]):
    """Holds a run's terminal event: the subset of ``concurrent.futures.Future`` the runtime uses,
    plus the decision that comes before it.

    Two steps, both once: ``decide`` claims the terminal (the first decider wins, whichever
    thread it is on: the CompletionActor for complete/fail, a ``cancel()`` caller for cancel),
    and ``set_result`` resolves the slot once the bus has the decided terminal in the log.
    """

    __slots__ = ("_callbacks", "_decided", "_event", "_first", "_lock", "_value")

    def __init__(self, lock: threading.Lock | None = None) -> None:
        self._lock = lock if lock is not None else threading.Lock()
        self._decided: T | None = None
        self._value: T | None = None
        # every run has one callback (its expiry) and few have more: the first needs no list
        self._first: Callable[[TerminalSlot[T]], object] | None = None
        self._callbacks: list[Callable[[TerminalSlot[T]], object]] | None = None
        self._event: threading.Event | None = None

    def done(self) -> bool:
        """True once the terminal is in the run's log (not merely decided)."""
        return self._value is not None

    def decide(self, value: T) -> T:
        """Claim the terminal: the first value decided wins; returns the winner (``value`` if
        this call won). Never blocks beyond the run's own lock, so any thread may call it."""
        with self._lock:
            if self._decided is None:
                self._decided = value
            return self._decided

    def decided(self) -> T | None:
        """The decided terminal (maybe not logged yet), or None."""
        return self._decided

    def prepare_wait(self) -> threading.Event:
        """Make the event ``result`` waits on now: a ``cancel()`` caller does this before it wakes
        the bus, so that once the bus is awake the caller only blocks (it held the GIL for the
        ~2 µs the event takes to make, while the bus waited for it)."""
        with self._lock:
            if self._event is None:
                self._event = threading.Event()
                if self._value is not None:
                    self._event.set()
            return self._event

    def result(self, timeout: float | None = None) -> T:
        value = self._value
        if value is not None:
            return value
        event = self._event or self.prepare_wait()
        if not event.wait(timeout):
            raise FutureTimeout
        assert self._value is not None
        return self._value

    def set_result(self, value: T) -> None:
        with self._lock:
            if self._value is not None:
                raise InvalidStateError("the terminal is already set")
            self._value = value
            if self._decided is None:
                self._decided = value
            first, callbacks, self._first, self._callbacks = self._first, self._callbacks, None, None
            event = self._event
        if event is not None:
            event.set()
        if first is not None:
            self._call(first)
        for callback in callbacks or ():
            self._call(callback)

    def add_done_callback(self, callback: Callable[[TerminalSlot[T]], object]) -> None:
        with self._lock:
            if self._value is None:
                if self._first is None and self._callbacks is None:
                    self._first = callback
                    return
                if self._callbacks is None:
                    self._callbacks = []
                self._callbacks.append(callback)  # after the first: callbacks run in the order added
                return
        self._call(callback)

    def _call(self, callback: Callable[[TerminalSlot[T]], object]) -> None:
        try:
            callback(self)
        except Exception:  # a watcher's bug must not break the bus that resolves terminals
            _log.exception("terminal callback failed")
