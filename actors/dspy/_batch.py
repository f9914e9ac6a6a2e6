"""Merge the chunks of a burst into one event per field, on the run's event loop.

Why: every ``text.delta`` crosses threads (worker -> bus -> subscriber), which costs tens of
microseconds under the GIL; DSPy hands over one chunk per SSE event. When a provider or a local
server streams thousands of tokens per second, one event per chunk makes runwire the bottleneck.
So a chunk that arrives within ``window`` of the last emit waits (kept with its neighbours, per
field, in order) until the window closes — a ``loop.call_later``, no thread. A chunk after a
pause goes out at once: at LM speeds (tokens milliseconds apart) nothing is ever held, and the
first delta of a run is never delayed. Pending text is flushed before any other event.

A waiting chunk costs one list append: the emit callback gets a field's pieces once per batch,
so per-chunk work (decoding, checking against the listener's raw text) is paid per batch too.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Generic, TypeVar

__all__ = ["DeltaBatcher", "PieceBatcher"]

K = TypeVar("K")


class PieceBatcher(Generic[K]):
    """Per-run batching of chunks: ``emit(key, pieces)`` once per batch and key run, in arrival order.

    ``emit`` returns whether it sent anything: a chunk that sends nothing (held whitespace) does
    not open a window, so the first text after a pause still goes out at once.

    ``window`` 0 (or no loop) calls ``emit(key, [chunk])`` for every chunk as it comes; adjacent
    chunks of equal keys go into one ``pieces`` list.
    """

    __slots__ = ("_emit", "_handle", "_last", "_loop", "_pending", "_window")

    def __init__(self, emit: Callable[[K, list[str]], bool], window: float, loop: asyncio.AbstractEventLoop | None):
        self._emit = emit
        self._window = window if loop is not None else 0.0
        self._loop = loop
        self._pending: list[tuple[K, list[str]]] = []  # (key, pieces) in arrival order, adjacent keys merged
        self._handle: asyncio.TimerHandle | None = None
        self._last = -1e18

    def add(self, key: K, text: str) -> None:
        pending = self._pending
        if pending:  # a batch is open (its timer is set): the chunk only joins it
            last = pending[-1]
            if last[0] == key:
                last[1].append(text)
            else:
                pending.append((key, [text]))
            return
        now = time.monotonic()
        if now - self._last >= self._window:
            if self._emit(key, [text]):
                self._last = now
            return
        pending.append((key, [text]))
        if self._loop is not None:
            self._handle = self._loop.call_later(self._last + self._window - now, self._on_timer)

    def flush(self) -> None:
        """Emit what is pending now (before any other event, and at the end of a call)."""
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        pending, self._pending = self._pending, []
        sent = False
        for key, pieces in pending:
            sent = self._emit(key, pieces) or sent
        if sent:
            self._last = time.monotonic()

    def drop(self) -> None:
        """Forget what is pending (the run is being cancelled: nothing may follow its terminal)."""
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        self._pending = []

    def _on_timer(self) -> None:
        self._handle = None
        try:
            self.flush()
        except Exception:  # the run was cancelled meanwhile (its emit raises): the consumer ends it
            self._pending = []


class DeltaBatcher(PieceBatcher[str]):
    """:class:`PieceBatcher` for ``emit(field, text)``: a batch's pieces arrive joined."""

    __slots__ = ()

    def __init__(self, emit: Callable[[str, str], None], window: float, loop: asyncio.AbstractEventLoop | None) -> None:
        def emit_joined(key: str, pieces: list[str]) -> bool:
            emit(key, "".join(pieces))
            return True

        super().__init__(emit_joined, window, loop)
