"""One wake-up per event loop per round for the async subscribers parked on it."""

from __future__ import annotations

import asyncio
import logging
import threading
import weakref
from collections.abc import Callable
from typing import Any, TypeAlias

import anyio
import anyio.lowlevel

__all__ = ["Doorbell", "doorbell_for_current_loop", "hold_wakes", "release_wakes", "wake_later"]

_log = logging.getLogger("runwire.doorbell")


class _Round(threading.local):
    due: list[Callable[[], object]] | None = None


_round = _Round()


def hold_wakes() -> None:
    """From now until ``release_wakes``, this thread's wake-ups (``wake_later``) are held.

    Why: a consumer woken while the waking thread (a bus) still has work to do wakes only to wait
    for the GIL, and waits again: one extra context switch per event on the consumer's thread
    and a millisecond-scale tail whenever the scheduler then takes its time (docs/profiles.md,
    Session 8). The bus holds its wake-ups while it handles a message and releases them as its
    last act, just before it blocks on its mailbox, so the woken thread finds the GIL free.
    """
    _round.due = []


def release_wakes() -> None:
    """Run the wake-ups held since ``hold_wakes``, in the order they were asked for."""
    due, _round.due = _round.due, None
    if due:
        for wake in due:
            try:
                wake()
            except Exception:  # one consumer's broken wake-up must not cost the others theirs
                _log.exception("a held wake-up raised")


def wake_later(wake: Callable[[], object]) -> bool:
    """Hold ``wake`` until this thread's ``release_wakes``; False (not held) outside a hold."""
    due = _round.due
    if due is None:
        return False
    due.append(wake)
    return True


def current_loop_token() -> Any:
    """The calling task's running asyncio loop, else anyio's native token (a trio token).

    Why asyncio is asked first: anyio imports its asyncio backend (dozens of modules) on first
    use. A subscriber's first ``await`` in a process paid that import, and while a run floods,
    every import step waits for the GIL: its subscription reached the bus 2 s late, after the
    run's first 155,000 events had left the retained window (benchmarks/concurrency.py).
    """
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return anyio.lowlevel.current_token().native_token


def loop_waker() -> Callable[[Callable[[], object]], object]:
    """A non-blocking, thread-safe "run this soon" for the calling task's event loop."""
    return _waker_of(current_loop_token())


def _waker_of(native: Any) -> Callable[[Callable[[], object]], object]:
    if isinstance(native, asyncio.AbstractEventLoop):
        return native.call_soon_threadsafe
    return native.run_sync_soon  # type: ignore[no-any-return]  # trio token


def _noop() -> None:
    pass


# What a parked consumer awaits: its loop's own future on asyncio, an ``anyio.Event`` elsewhere.
Waiter: TypeAlias = "asyncio.Future[None] | anyio.Event"


def _release(waiter: Waiter) -> None:
    if not isinstance(waiter, asyncio.Future):  # tested first: ``anyio.Event`` is imported lazily
        waiter.set()
    elif not waiter.done():  # its consumer was cancelled while parked
        waiter.set_result(None)


class Doorbell:
    """Wakes the parked consumers of one event loop with one call into it per round.

    Why: a wake-up is a write to the loop's self-pipe (asyncio) — a syscall that hands the GIL
    over. One per subscriber per batch made a 5,000-subscriber fan-out spend its time there and
    fall behind superlinearly. Parked consumers are collected here instead; the first one
    schedules ``_fire`` on the loop, which wakes them all.
    """

    __slots__ = ("_lock", "_loop", "_pending", "_scheduled", "closed", "waiter", "wake")

    def __init__(
        self, wake: Callable[[Callable[[], object]], object], loop: asyncio.AbstractEventLoop | None = None
    ) -> None:
        self.wake = wake
        self._lock = threading.Lock()
        self._pending: list[Waiter] = []
        self._scheduled = False
        self._loop = loop
        self.closed = False  # a wake-up failed: the loop is closed (or the trio run finished), for good
        # a new waiter per park: on a known asyncio loop a bare future of it (an ``anyio.Event``
        # costs ~4x as much to make, wait and set: it is looked up, wrapped, and waits on a future
        # itself), else an ``anyio.Event`` (trio, or a caller's own ``wake``)
        self.waiter: Callable[[], Waiter] = anyio.Event if loop is None else loop.create_future

    def ring(self, event: Waiter) -> bool:
        """Have ``event`` set on the loop soon; False if the loop is closed.

        On a known asyncio loop that is open, the call into it is held until the ringing
        thread's ``release_wakes`` if it holds its wake-ups (a bus, until the end of its message).
        """
        with self._lock:
            self._pending.append(event)
            if self._scheduled:
                return True
            self._scheduled = True
        loop = self._loop
        if loop is not None and not loop.is_closed() and wake_later(self._schedule):
            return True  # a loop closed by then fails at release: ``closed`` tells the next push
        return self._schedule()

    def _schedule(self) -> bool:
        try:
            self.wake(self._fire)
        except RuntimeError:  # closed loop (asyncio), finished run (trio): its consumers are gone
            with self._lock:
                self._scheduled = False
                self._pending.clear()
            self.closed = True
            return False
        return True

    def alive(self) -> bool:
        try:
            self.wake(_noop)
        except RuntimeError:
            return False
        return True

    def _fire(self) -> None:
        with self._lock:
            pending, self._pending = self._pending, []
            self._scheduled = False
        for event in pending:
            _release(event)


_doorbells: weakref.WeakKeyDictionary[Any, Doorbell] = weakref.WeakKeyDictionary()
_doorbells_lock = threading.Lock()


def doorbell_for_current_loop() -> Doorbell:
    native: Any = current_loop_token()
    with _doorbells_lock:
        bell = _doorbells.get(native)
        if bell is None:
            loop = native if isinstance(native, asyncio.AbstractEventLoop) else None
            bell = _doorbells[native] = Doorbell(_waker_of(native), loop)
    return bell
