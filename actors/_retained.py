"""A run's retained log: what the bus keeps for replay, bounded by count and bytes.

It holds no per-event object the cyclic GC tracks. Model objects would make every full
collection walk a long log (measured: p99 delivery 7 ms with them, 1 ms without); a per-event
tuple is tracked when made, so a log growing by a tuple per event ran a gen-0 collection every
700 events and, in a 5 s run at 10,000 events/s, a full one of ~30 ms (max delivery latency
~35 ms). So the log is columnar: text deltas — the bulk of a log — are kept as their plain
values in parallel lists (appending to a list allocates nothing the GC tracks), every other
kind as its JSON bytes (``dump_event``, once, ~1.5 µs, where a delta costs ~0.3 µs).

Sizes are JSON bytes: exact for JSON entries; for a delta computed from its string lengths
(exact for ASCII text without JSON escapes, an undercount for multi-byte UTF-8). They are
kept per appended batch, not per event, and a delta whose ``ts`` is at a whole second (its
JSON has no '.ffffff') is counted 7 bytes less only when the exact total is asked for
(``size``) or trimming by bytes needs it: that test is a Python step per event, and the
retained bytes are the sum either way.
"""

from __future__ import annotations

import weakref
from datetime import datetime
from operator import countOf

from runwire.protocol import RunEvent, TextDelta, dump_event

from ._replay import PAGE, Columns, Pages, Replay

__all__ = ["PAGE", "Replay", "RetainedLog"]

_dump = dump_event
# a delta's dump_event, one Python call fewer (~0.1 µs a delta a store persists): the same bytes
_dump_delta = TextDelta.__pydantic_serializer__.to_json


def _digit_sum(first: int, last: int) -> int:
    """The digits of the seqs ``first..last`` together (``len(str(seq))`` summed, no str each)."""
    total, digits = 0, len(str(first))
    while first <= last:
        top = min(last, 10**digits - 1)
        total += (top - first + 1) * digits
        first, digits = top + 1, digits + 1
    return total


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

    def view(self) -> Columns:
        return self.ts, self.fields, self.artifacts, self.firsts


_NO_COLUMNS = _DeltaColumns(0)  # stands in for a batch without a delta: never appended to


class RetainedLog:
    """Events ``base+1 .. last_seq`` of one run; ``append`` stamps each event's ``seq``."""

    __slots__ = (
        "_bytes",
        "_columns",
        "_entries",
        "_envelope",
        "_exact",
        "_lasts",
        "_pages",
        "_parent",
        "_run_id",
        "_size",
        "_step",
        "base",
    )

    def __init__(self, run_id: str, parent_run_id: str | None, step: int | None) -> None:
        self._run_id, self._parent, self._step = run_id, parent_run_id, step
        self._entries: list[bytes | str] = []  # JSON bytes, or a delta's text
        self._columns: _DeltaColumns | None = None  # the deltas' other values, from the first delta
        self._envelope = 0  # JSON bytes of this run's delta around its own values, made at the first
        self.base = 0  # seq of the last event trimmed away (0: nothing trimmed)
        # Per appended batch still retained: its last seq, and its JSON bytes. Those of batches
        # ``_exact`` on count each delta at a whole second 7 bytes too many (see the docstring).
        self._lasts: list[int] = []
        self._bytes: list[int] = []
        self._exact = 0
        self._size = 0  # the sum of ``_bytes``
        self._pages: weakref.ref[Pages] | None = None  # shared by the replays alive now

    @property
    def last_seq(self) -> int:
        return self.base + len(self._entries)

    @property
    def size(self) -> int:
        """The JSON bytes retained."""
        self._make_exact()
        return self._size

    def append(self, events: list[RunEvent], encode_all: bool = False, plain: bool = False) -> list[bytes] | None:
        """Stamp each event's ``seq`` and keep it. With ``encode_all`` (a store subscribes) every
        event's JSON is returned, dumped once: a non-delta's is also what the log keeps.

        ``plain``: the caller knows every event is a ``TextDelta`` of this run's own identity
        with neither ``artifact_id`` nor ``first_seq`` (``Outbox.take`` says so for a batch of
        ``RunContext.delta``'s): the hot path of the bus, one short Python step per event (stamp
        its seq, take its three values), the byte count by C-level passes. Any other batch:
        ``_append_mixed``."""
        n = len(events)
        if not n:
            return [] if encode_all else None
        entries = self._entries
        first = self.base + len(entries) + 1
        if plain:
            columns = self._columns
            if columns is None:
                columns = self._columns = _DeltaColumns(len(entries))
            if not self._envelope:
                self._make_envelope(events[0])  # type: ignore[arg-type]  # a delta: plain says
            texts: list[str] = []
            fields: list[str] = []
            stamps = columns.ts
            for seq, event in enumerate(events, first):  # one step per event, list appends inlined
                d = event.__dict__
                d["seq"] = seq  # built once by the producer; stamped here, never copied
                texts.append(d["text"])
                fields.append(d["field"])
                stamps.append(d["ts"])
            entries += texts
            columns.fields += fields
            one = fields[0]
            size = (
                n * self._envelope
                + _digit_sum(first, first + n - 1)
                + sum(map(len, texts))
                + (n * len(one) if countOf(fields, one) == n else sum(map(len, fields)))
            )
            encoded = list(map(_dump_delta, events)) if encode_all else None
        else:
            size, encoded = self._append_mixed(events, first, encode_all)
        self._lasts.append(first + n - 1)
        self._bytes.append(size)
        self._size += size
        return encoded

    def _append_mixed(self, events: list[RunEvent], seq: int, encode_all: bool) -> tuple[int, list[bytes] | None]:
        """``append`` one event at a time: a batch with a non-delta, another identity's delta or
        an artifact's. Returns the batch's JSON bytes (before the whole-second count) and, with
        ``encode_all``, its JSON."""
        entries = self._entries
        columns = self._columns
        if columns is None:
            for event in events:
                if type(event) is TextDelta:
                    columns = self._columns = _DeltaColumns(len(entries))
                    break
        run_id, parent, step = self._run_id, self._parent, self._step
        seq -= 1
        digits = len(str(seq + 1))
        bound = 10**digits  # the seq that adds a digit: no str per event
        encoded: list[bytes] | None = [] if encode_all else None
        total = 0
        add_entry = entries.append
        kept = columns is not None  # a delta seen: every entry has a ts and field slot from now on
        cols = columns if columns is not None else _NO_COLUMNS  # none: no delta in this batch
        add_ts, add_field = cols.ts.append, cols.fields.append
        for event in events:
            seq += 1
            if seq >= bound:
                digits, bound = digits + 1, bound * 10
            d = event.__dict__
            d["seq"] = seq  # built once by the producer; stamped here, never copied
            if (
                type(event) is TextDelta
                and d["run_id"] == run_id
                and d["parent_run_id"] == parent
                and d["step"] == step  # a delta of this run's own identity: kept as values
            ):
                text, field = d["text"], d["field"]
                envelope = self._envelope or self._make_envelope(event)
                size = envelope + digits + len(field) + len(text)  # ASCII text without escapes
                add_entry(text)
                add_ts(d["ts"])
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
            total += size
        return total, encoded

    def _make_envelope(self, event: TextDelta) -> int:
        blank = event.model_copy(update={"seq": 0, "field": "", "text": "", "artifact_id": None, "first_seq": None})
        blank.__dict__["ts"] = event.ts.replace(microsecond=1)
        self._envelope = len(_dump(blank)) - 1  # minus the seq's one digit
        return self._envelope

    def _make_exact(self) -> None:
        """Count the deltas at a whole second in the batches ``_exact`` on (their ts JSON is 7
        bytes shorter): each batch once, when an exact size is first needed."""
        lasts, sizes = self._lasts, self._bytes
        if self._exact == len(lasts) or self._columns is None:
            self._exact = len(lasts)
            return
        stamps, base = self._columns.ts, self.base
        start = 0 if self._exact == 0 else lasts[self._exact - 1] - base
        for c in range(self._exact, len(lasts)):
            end = lasts[c] - base
            whole = 7 * sum(1 for ts in stamps[start:end] if ts is not None and ts.microsecond == 0)
            sizes[c] -= whole
            self._size -= whole
            start = end
        self._exact = len(lasts)

    def _entry_sizes(self, lo: int, hi: int, exact: bool) -> list[int]:
        """The JSON bytes of entries ``lo..hi-1`` (indexes), as ``append`` counted them, and with
        the whole-second count if ``exact``: for ``trim``, in the one batch its cut falls in."""
        entries, columns, envelope = self._entries, self._columns, self._envelope
        out = []
        for i in range(lo, hi):
            entry = entries[i]
            if type(entry) is bytes:
                out.append(len(entry))
                continue
            assert columns is not None  # made with the first delta
            seq = self.base + 1 + i
            ts, field = columns.ts[i], columns.fields[i]
            assert ts is not None and field is not None  # set for every delta entry
            size = envelope + len(str(seq)) + len(field) + len(entry)
            if exact and ts.microsecond == 0:
                size -= 7
            artifact, first = columns.artifacts.get(seq), columns.firsts.get(seq)
            if artifact is not None:
                size += len(artifact) - 2
            if first is not None:
                size += len(str(first)) - 4
            out.append(size)
        return out

    def trim(self, max_events: int, max_bytes: int) -> None:
        """Past either bound, drop the oldest down to 90% of both (amortised: not once per event).

        A whole batch at a time while all of it goes (one size each), entry by entry in the
        batch the cut falls in: the cut a size per entry would give."""
        n = len(self._entries)
        keep_bytes = max_bytes * 9 // 10
        if self._size > keep_bytes:
            self._make_exact()  # the bytes bound may cut: by the exact sizes
        if n <= max_events and self._size <= max_bytes:
            return
        target = max(0, n - max_events * 9 // 10)  # the count bound drops the entries before this
        lasts, sizes, base = self._lasts, self._bytes, self.base
        size, cut, c = self._size, 0, 0  # bytes kept, entries dropped, batches dropped
        while c < len(lasts) and (cut < target or (cut < n - 1 and size > keep_bytes)):
            end = lasts[c] - base  # batch c holds entries cut..end-1
            if end <= target or (end <= n - 1 and size - sizes[c] > keep_bytes):
                size -= sizes[c]  # all of it goes
                cut = end
                c += 1
                continue
            each = self._entry_sizes(cut, end, c < self._exact)
            k = 0
            while k < len(each) and (cut < target or (cut < n - 1 and size > keep_bytes)):
                size -= each[k]
                k += 1
                cut += 1
            if k < len(each):
                sizes[c] -= sum(each[:k])
                break
            c += 1
        if cut:
            self._entries = self._entries[cut:]  # a new list: replays alive keep reading the old one
            del lasts[:c], sizes[:c]
            self._exact = max(0, self._exact - c)
            self.base += cut
            if self._columns is not None:
                self._columns.trim(cut, self.base)
            self._size = size

    def replay(self, after_seq: int) -> Replay | None:
        """The retained events with ``seq > after_seq``, to decode later on another thread.

        O(1) on the bus, whatever the log's length: the replay reads this log's own lists, which
        only ever grow (``trim`` makes new ones), up to the last seq they hold now."""
        start = max(0, after_seq - self.base)
        if start >= len(self._entries):
            return None
        pages = None if self._pages is None else self._pages()
        if pages is None:
            pages = Pages()
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
