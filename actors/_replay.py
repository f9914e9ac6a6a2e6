"""A replay of a run's retained log (``RetainedLog.replay``): decoded by its subscriber, on the
subscriber's own thread, a page at a time, and shared with the other replays of that log alive.
"""

from __future__ import annotations

import threading
from datetime import datetime

from runwire.protocol import RunEvent, parse_event
from runwire.protocol._fast import assemble_delta

__all__ = ["PAGE", "Columns", "Pages", "Replay"]

Columns = tuple[list[datetime | None], list[str | None], dict[int, str], dict[int, int]]
"""A log's delta values besides the text (``ts``, ``field`` by index; ``artifact_id``,
``first_seq`` by seq), as ``RetainedLog`` keeps them."""

PAGE = 256
"""Events a replay decodes at a time: what a subscriber waits for before its first replayed
event, and what a replay holds decoded, whatever the log's length (decoding is ~1.5-12 µs an event)."""


def _page(seq: int) -> int:
    return (seq - 1) // PAGE


class Pages:
    """Events decoded by the replays of one log alive now, by page, for one another.

    Why: events are immutable, so subscribers can share them; a crowd subscribing to one run
    (5,000 in the fan-out test) decoded the same entries once each, at ~10 µs an event, when
    a live delivery costs ~0.5 µs. A page is kept while a replay alive has yet to hand it out
    (``_held`` counts them), so one reader of a long log holds one page decoded, a crowd the
    pages between its first and its last reader. It lives only while a replay holds it (the
    log keeps a weak reference), so the log still keeps no per-event object between replays.
    """

    __slots__ = ("__weakref__", "_held", "_lock", "decoded")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._held: dict[int, int] = {}  # page -> replays yet to hand it out
        self.decoded: dict[int, dict[int, RunEvent]] = {}  # page -> seq -> event

    def hold(self, first: int, last: int) -> None:
        with self._lock:
            held = self._held
            for page in range(first, last + 1):
                held[page] = held.get(page, 0) + 1

    def release(self, first: int, last: int) -> None:
        with self._lock:
            held = self._held
            for page in range(first, last + 1):
                left = held[page] - 1
                if left:
                    held[page] = left
                else:
                    del held[page]
                    self.decoded.pop(page, None)

    def page(self, page: int) -> dict[int, RunEvent]:
        """The decoded events of ``page`` (held by the caller, so not released meanwhile)."""
        decoded = self.decoded.get(page)
        return self.decoded.setdefault(page, {}) if decoded is None else decoded


class Replay:
    """Retained events ``first_seq..last_seq`` handed to a new subscriber as the log keeps them:
    decoded lazily by the subscriber, on its own thread, so a late subscriber never stalls the
    bus; and a page at a time (``claim``), so its first event does not wait for the whole log."""

    __slots__ = ("_columns", "_entries", "_ids", "_next", "_offset", "_pages", "last_seq")

    def __init__(
        self,
        ids: tuple[str, str | None, int | None],
        entries: list[bytes | str],
        offset: int,
        first_seq: int,
        last_seq: int,
        columns: Columns | None,
        pages: Pages | None = None,
        held: bool = False,
    ) -> None:
        self._ids = ids
        self._entries = entries  # entries[i] is seq offset + i (and columns' lists alike)
        self._offset = offset
        self._columns = columns
        self._next = first_seq  # the next seq to hand out: its page and the later ones are held
        self.last_seq = last_seq
        if pages is None:
            pages = Pages()
        self._pages = pages
        if not held:
            pages.hold(_page(first_seq), _page(last_seq))

    @property
    def seq(self) -> int:
        return self.last_seq

    def __len__(self) -> int:
        """Events not handed out yet."""
        return self.last_seq - self._next + 1

    def claim(self) -> Replay:
        """This block's next page as a block of its own, or itself if that is all it has left.

        O(1), no decoding: the subscriber calls it under its sink's lock and decodes outside it.
        """
        end = min(self.last_seq, (_page(self._next) + 1) * PAGE)
        if end == self.last_seq:
            return self
        head = Replay(self._ids, self._entries, self._offset, self._next, end, self._columns, self._pages, True)
        self._next = end + 1  # the hold on the page claimed passes to ``head``
        return head

    def events(self) -> list[RunEvent]:
        """Every event not handed out yet, decoded (or shared with a replay that decoded it)."""
        out: list[RunEvent] = []
        pages, last = self._pages, self.last_seq
        seq = self._next
        while seq <= last:
            page = _page(seq)
            end = min(last, (page + 1) * PAGE)
            decoded = pages.page(page)
            for s in range(seq, end + 1):
                event = decoded.get(s)
                if event is None:
                    event = decoded[s] = self._decode(s)  # a racing twin decodes an equal one
                out.append(event)
            seq = self._next = end + 1
            pages.release(page, page)
        return out

    def __del__(self) -> None:
        if self._next <= self.last_seq:  # dropped before it was read (unsubscribed, dropped...)
            self._pages.release(_page(self._next), _page(self.last_seq))

    def _decode(self, seq: int) -> RunEvent:
        i = seq - self._offset
        entry = self._entries[i]
        if isinstance(entry, bytes):
            return parse_event(entry)
        assert self._columns is not None  # made with the first delta
        run_id, parent, step = self._ids
        ts_, fields, artifacts, firsts = self._columns
        return assemble_delta(
            run_id,
            seq,
            ts_[i],  # type: ignore[arg-type]  # set for every delta entry
            parent,
            step,
            fields[i],  # type: ignore[arg-type]
            entry,
            artifacts.get(seq),
            firsts.get(seq),
        )
