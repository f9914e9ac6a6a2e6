"""Merge the text deltas of a burst of chunks into one event, on the run's event loop.

Why: every ``text.delta`` crosses threads (worker -> bus -> subscriber), which costs tens of
microseconds under the GIL; DSPy hands over one chunk per SSE event. When a provider or a local
server streams thousands of tokens per second, one event per chunk makes runwire the bottleneck.
So a chunk that arrives within ``window`` of the last emit waits (merged with its neighbours, per
field, in order) until the window closes — a ``loop.call_later``, no thread. A chunk after a
pause goes out at once: at LM speeds (tokens milliseconds apart) nothing is ever held, and the
first delta of a run is never delayed. Pending text is flushed before any other event.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

__all__ = ["DeltaBatcher"]

Emit = Callable[[str, str], None]


class DeltaBatcher:
    """Per-run batching of ``emit(field, text)`` calls; ``window`` 0 sends every chunk as it comes."""

    __slots__ = ("_emit", "_handle", "_last", "_loop", "_pending", "_window")

    def __init__(self, emit: Emit, window: float, loop: asyncio.AbstractEventLoop | None) -> None:
        self._emit = emit
        self._window = window if loop is not None else 0.0
        self._loop = loop
        self._pending: list[list[str]] = []  # [field, text] in arrival order, adjacent fields merged
        self._handle: asyncio.TimerHandle | None = None
        self._last = -1e18

    def add(self, field: str, text: str) -> None:
        now = time.monotonic()
        if not self._pending and now - self._last >= self._window:
            self._last = now
            self._emit(field, text)
            return
        if self._pending and self._pending[-1][0] == field:
            self._pending[-1][1] += text
        else:
            self._pending.append([field, text])
        if self._handle is None and self._loop is not None:
            self._handle = self._loop.call_later(max(0.0, self._last + self._window - now), self._on_timer)

    def flush(self) -> None:
        """Emit what is pending now (before any other event, and at the end of a call)."""
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        pending, self._pending = self._pending, []
        if pending:
            self._last = time.monotonic()
        for field, text in pending:
            self._emit(field, text)

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
