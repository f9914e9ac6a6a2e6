"""Merge the chunks of a burst into one event per field, on the run's event loop.

Why: every ``text.delta`` crosses threads (worker -> bus -> subscriber), which costs tens of
microseconds under the GIL; DSPy hands over one chunk per SSE event. When a provider or a local
server streams thousands of tokens per second, one event per chunk makes runwire the bottleneck.
So a chunk that arrives within ``window`` of the last emit waits (kept with its neighbours, per
field, in order) until the window closes — a ``loop.call_later``, no thread. A chunk after a
pause goes out at once: at LM speeds (tokens milliseconds apart) nothing is ever held, and the
first delta of a run is never delayed. Pending text is flushed before any other event.

The window adapts: each batch its timer closes with more than one piece in it (the burst filled
it) doubles the window, up to ``window_max`` (16 ms by default: one 60 Hz frame); a batch of one
piece, or a chunk after a pause (nothing pending, the current window passed since the last
emit) brings it back to ``window``. A long burst thus costs ~60 deltas a second instead of ~500
(each delta's thread hand-offs cost more than DSPy's own work per chunk), while a paced LM and
the first token after a pause are never held. A batch never waits longer than the window it
opened in, so never longer than ``window_max`` after its first piece.

A waiting chunk costs one list append: the emit callback gets a field's pieces once per batch,
so per-chunk work (decoding, checking against the listener's raw text) is paid per batch too.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, Protocol, TypeVar

__all__ = ["DeltaBatcher", "PieceBatcher", "Timers"]

K = TypeVar("K")


class _Handle(Protocol):
    def cancel(self) -> None: ...


class Timers(Protocol):
    """What the batcher needs of an event loop: its clock and ``call_later`` (asyncio's loop has both)."""

    def time(self) -> float: ...

    def call_later(self, delay: float, callback: Callable[[], object], /) -> _Handle: ...


class PieceBatcher(Generic[K]):
    """Per-run batching of chunks: ``emit(key, pieces)`` once per batch and key run, in arrival order.

    ``emit`` returns whether it sent anything: a chunk that sends nothing (held whitespace) does
    not open a window, so the first text after a pause still goes out at once.

    ``window`` 0 (or no loop) calls ``emit(key, [chunk])`` for every chunk as it comes; adjacent
    chunks of equal keys go into one ``pieces`` list. ``window_max`` caps the widened window
    (None or anything <= ``window``: the window never widens). ``loop`` supplies the clock and the
    timer (``loop.time``, ``loop.call_later``).
    """

    __slots__ = ("_base", "_emit", "_handle", "_last", "_loop", "_max", "_pending", "_window")

    def __init__(
        self,
        emit: Callable[[K, list[str]], bool],
        window: float,
        loop: Timers | None,
        window_max: float | None = None,
    ) -> None:
        self._emit = emit
        self._loop = loop
        self._base = window if loop is not None else 0.0
        self._max = max(self._base, window_max or 0.0) if loop is not None else 0.0
        self._window = self._base
        self._pending: list[tuple[K, list[str]]] = []  # (key, pieces) in arrival order, adjacent keys merged
        self._handle: _Handle | None = None
        self._last = -1e18

    @property
    def window(self) -> float:
        """The window a chunk arriving now would be measured against (seconds)."""
        return self._window

    def add(self, key: K, text: str) -> None:
        pending = self._pending
        if pending:  # a batch is open (its timer is set): the chunk only joins it
            last = pending[-1]
            if last[0] == key:
                last[1].append(text)
            else:
                pending.append((key, [text]))
            return
        loop = self._loop
        if loop is None or not self._base:
            self._emit(key, [text])
            return
        now = loop.time()
        if now - self._last >= self._window:  # a pause: out at once, and the burst (if any) is over
            self._window = self._base
            if self._emit(key, [text]):
                self._last = now
            return
        pending.append((key, [text]))
        self._handle = loop.call_later(self._last + self._window - now, self._on_timer)

    def flush(self) -> None:
        """Emit what is pending now (before any other event, and at the end of a call)."""
        self._send()

    def drop(self) -> None:
        """Forget what is pending (the run is being cancelled: nothing may follow its terminal)."""
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        self._pending = []

    def _send(self) -> bool:
        """Emit what is pending; whether anything was sent (then the next window starts now)."""
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        pending, self._pending = self._pending, []
        sent = False
        for key, pieces in pending:
            sent = self._emit(key, pieces) or sent
        if sent and self._loop is not None:
            self._last = self._loop.time()
        return sent

    def _on_timer(self) -> None:
        self._handle = None
        pending = self._pending
        full = len(pending) > 1 or (bool(pending) and len(pending[0][1]) > 1)
        try:
            sent = self._send()
        except Exception:  # the run was cancelled meanwhile (its emit raises): the consumer ends it
            self._pending = []
            return
        if sent:  # the burst filled the batch: widen; a lone piece: the burst is thinning out
            self._window = min(self._window * 2, self._max) if full else self._base


class DeltaBatcher(PieceBatcher[str]):
    """:class:`PieceBatcher` for ``emit(field, text)``: a batch's pieces arrive joined."""

    __slots__ = ()

    def __init__(
        self,
        emit: Callable[[str, str], None],
        window: float,
        loop: Timers | None,
        window_max: float | None = None,
    ) -> None:
        def emit_joined(key: str, pieces: list[str]) -> bool:
            emit(key, "".join(pieces))
            return True

        super().__init__(emit_joined, window, loop, window_max)
