"""A run's retained log: what the bus keeps for replay, bounded by count and bytes.

It holds no per-event object the cyclic GC tracks. Model objects would make every full
collection walk a long log (measured: p99 delivery 7 ms with them, 1 ms without); a per-event
tuple is tracked when made, so a log growing by a tuple per event ran a gen-0 collection every
700 events and, in a 5 s run at 10,000 events/s, a full one of ~30 ms (max delivery latency
~35 ms). So the log is columnar: text deltas — the bulk of a log — are kept as their plain
values in parallel lists (appending to a list allocates nothing the GC tracks), every other
kind as its JSON bytes (``dump_event``, once, ~1.5 µs, where a delta costs ~0.3 µs).

Sizes are JSON bytes: exact for JSON entries; for a delta computed from its string lengths
(exact for ASCII text without JSON escapes, an undercount for multi-byte UTF-8).
"""

from __future__ import annotations

import threading
import weakref
from datetime import datetime

from runwire.protocol import RunEvent, TextDelta, dump_event, parse_event
from runwire.protocol._fast import assemble_delta

__all__ = ["PAGE", "Replay", "RetainedLog"]

_dump = dump_event
# a delta's dump_event, one Python call fewer (~0.1 µs a delta a store persists): the same bytes
_dump_delta = TextDelta.__pydantic_serializer__.to_json


_Columns = tuple[list[datetime | None], list[str | None], dict[int, str], dict[int, int]]


class _DeltaColumns:
    """A delta's values besides its text: ``ts`` and ``field`` one list each (None where the
    entry is JSON); ``artifact_id`` and ``first_seq``, rarely set, only where they are, by seq
    (two list appends per delta fewer on the bus). Made at a run's first delta: a run that
    streams no text pays for none of it."""

    __slots__ = ("artifacts", "fields", "firsts", "ts")

    def __init__(self, pad: int) -> None:
        self.ts: list[datetime | None] = [None] * pad
        self.fields: list[str | None] = [None] * pad
        self.artifacts: dict[int, str] = {}
        self.firsts: dict[int, int] = {}

    def trim(self, cut: int, base: int) -> None:
        """Forget the first ``cut`` entries; ``base`` is the last seq trimmed away. New containers,
        not edits in place: a replay alive reads the ones it was given (see ``RetainedLog.replay``)."""
        self.ts = self.ts[cut:]
        self.fields = self.fields[cut:]
        if self.artifacts:
            self.artifacts = {seq: a for seq, a in self.artifacts.items() if seq > base}
        if self.firsts:
            self.firsts = {seq: f for seq, f in self.firsts.items() if seq > base}

    def view(self) -> _Columns:
        return self.ts, self.fields, self.artifacts, self.firsts


_NO_COLUMNS = _DeltaColumns(0)  # stands in for a batch without a delta: never appended to


class RetainedLog:
    """Events ``base+1 .. last_seq`` of one run; ``append`` stamps each event's ``seq``."""

    __slots__ = (
        "_bound",
        "_columns",
        "_digits",
        "_entries",
        "_envelope",
        "_pages",
        "_parent",
        "_run_id",
        "_sizes",
        "_step",
        "base",
        "size",
    )

    def __init__(self, run_id: str, parent_run_id: str | None, step: int | None) -> None:
        self._run_id, self._parent, self._step = run_id, parent_run_id, step
        self._entries: list[bytes | str] = []  # JSON bytes, or a delta's text
        self._columns: _DeltaColumns | None = None  # the deltas' other values, from the first delta
        self._sizes: list[int] = []  # each entry's JSON bytes, for trimming
        self._digits, self._bound = 1, 10  # digits of the next seq, and the seq that adds one
        self._envelope = 0  # JSON bytes of this run's delta around its own values, made at the first
        self.base = 0  # seq of the last event trimmed away (0: nothing trimmed)
        self.size = 0  # JSON bytes retained
        self._pages: weakref.ref[_Pages] | None = None  # shared by the replays alive now

    @property
    def last_seq(self) -> int:
        return self.base + len(self._entries)

    def append(self, events: list[RunEvent], encode_all: bool = False) -> list[bytes] | None:
        """Stamp each event's ``seq`` and keep it. With ``encode_all`` (a store subscribes) every
        event's JSON is returned, dumped once: a non-delta's is also what the log keeps.

        The hot loop of the bus (~one per event streamed): list methods bound once per batch, a
        delta's size from its string lengths (see the module's docstring)."""
        entries, sizes = self._entries, self._sizes
        columns = self._columns
        if columns is None:
            for event in events:
                if type(event) is TextDelta:
                    columns = self._columns = _DeltaColumns(len(entries))
                    break
        run_id, parent, step = self._run_id, self._parent, self._step
        seq = self.base + len(entries)
        digits, bound = self._digits, self._bound  # len(str(seq)), kept without a str per event
        encoded: list[bytes] | None = [] if encode_all else None
        total = self.size
        envelope = self._envelope
        add_entry, add_size = entries.append, sizes.append
        kept = columns is not None  # a delta seen: every entry has a ts and field slot from now on
        cols = columns if columns is not None else _NO_COLUMNS  # none: no delta in this batch
        add_ts, add_field = cols.ts.append, cols.fields.append
        for event in events:
            seq += 1
            if seq >= bound:
                digits, bound = len(str(seq)), 10 ** len(str(seq))
            d = event.__dict__
            d["seq"] = seq  # built once by the producer; stamped here, never copied
            if (
                type(event) is TextDelta
                and d["run_id"] == run_id
                and d["parent_run_id"] == parent
                and d["step"] == step  # a delta of this run's own identity: kept as values
            ):
                text, field, ts = d["text"], d["field"], d["ts"]
                if not envelope:
                    envelope = self._make_envelope(event)
                # a string's JSON size for ASCII text without escapes; no '.ffffff' at 0 µs
                size = envelope + digits + len(field) + len(text) - (7 if ts.microsecond == 0 else 0)
                add_entry(text)
                add_ts(ts)
                add_field(field)
                if d["artifact_id"] is not None:
                    cols.artifacts[seq] = d["artifact_id"]
                    size += len(d["artifact_id"]) - 2  # '"id"' instead of 'null'
                if d["first_seq"] is not None:
                    cols.firsts[seq] = d["first_seq"]
                    size += len(str(d["first_seq"])) - 4
                if encoded is not None:
                    encoded.append(_dump_delta(event))
            else:
                data = _dump(event)
                size = len(data)
                add_entry(data)
                if kept:
                    add_ts(None)
                    add_field(None)
                if encoded is not None:
                    encoded.append(data)
            add_size(size)
            total += size
        self.size = total
        self._digits, self._bound = digits, bound
        return encoded

    def _make_envelope(self, event: TextDelta) -> int:
        blank = event.model_copy(update={"seq": 0, "field": "", "text": "", "artifact_id": None, "first_seq": None})
        blank.__dict__["ts"] = event.ts.replace(microsecond=1)
        self._envelope = len(_dump(blank)) - 1  # minus the seq's one digit
        return self._envelope

    def trim(self, max_events: int, max_bytes: int) -> None:
        """Past either bound, drop the oldest down to 90% of both (amortised: not once per event)."""
        if len(self._entries) <= max_events and self.size <= max_bytes:
            return
        keep_bytes = max_bytes * 9 // 10
        n = len(self._entries)
        cut = max(0, n - max_events * 9 // 10)
        sizes = self._sizes
        size = self.size - sum(sizes[:cut])
        while cut < n - 1 and size > keep_bytes:
            size -= sizes[cut]
            cut += 1
        if cut:
            self._entries = self._entries[cut:]  # a new list: replays alive keep reading the old one
            del sizes[:cut]
            self.base += cut
            if self._columns is not None:
                self._columns.trim(cut, self.base)
            self.size = size

    def replay(self, after_seq: int) -> Replay | None:
        """The retained events with ``seq > after_seq``, to decode later on another thread.

        O(1) on the bus, whatever the log's length: the replay reads this log's own lists, which
        only ever grow (``trim`` makes new ones), up to the last seq they hold now."""
        start = max(0, after_seq - self.base)
        if start >= len(self._entries):
            return None
        pages = None if self._pages is None else self._pages()
        if pages is None:
            pages = _Pages()
            self._pages = weakref.ref(pages)
        columns = None if self._columns is None else self._columns.view()
        return Replay(
            (self._run_id, self._parent, self._step),
            self._entries,
            self.base + 1,
            self.base + start + 1,
            self.last_seq,
            columns,
            pages,
        )


PAGE = 256
"""Events a replay decodes at a time: what a subscriber waits for before its first replayed
event, and what a replay holds decoded, whatever the log's length (decoding is ~1.5-12 µs an event)."""


def _page(seq: int) -> int:
    return (seq - 1) // PAGE


class _Pages:
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
        columns: _Columns | None,
        pages: _Pages | None = None,
        held: bool = False,
    ) -> None:
        self._ids = ids
        self._entries = entries  # entries[i] is seq offset + i (and columns' lists alike)
        self._offset = offset
        self._columns = columns
        self._next = first_seq  # the next seq to hand out: its page and the later ones are held
        self.last_seq = last_seq
        if pages is None:
            pages = _Pages()
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
