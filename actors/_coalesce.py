"""The ``coalesce`` policy's buffer shrinking: merge adjacent text deltas, then drop the oldest.

Only ``text.delta`` events are ever merged or dropped; lifecycle, milestone, log, progress,
artifact, step and terminal events always reach the subscriber. Merging is lossless (the merged
delta carries ``first_seq..seq``); dropping is declared by one ``stream.gap`` whose range the
subscriber can replay from the run's log.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeVar

from runwire.protocol import GAP_REASON_DROPPED, StreamGap, TextDelta, utc_now

__all__ = ["coalesce", "merge_adjacent"]

T = TypeVar("T")


def _mergeable(prev: Any, event: TextDelta) -> bool:
    return isinstance(prev, TextDelta) and prev.field == event.field and prev.artifact_id == event.artifact_id


def merge_adjacent(items: Iterable[T]) -> list[T]:
    """Adjacent deltas of the same field become one (new objects: shared events are never mutated).

    A run of n mergeable deltas is joined once (``str.join``), not pairwise: pairwise
    concatenation copied the growing text n times, quadratic in a slow subscriber's backlog.
    Items that are not events (a replay block of the retained log) are kept as they are.
    """
    merged: list[Any] = []
    group: list[TextDelta] = []  # adjacent mergeable deltas not yet joined
    for event in items:
        if isinstance(event, TextDelta):
            if group and not _mergeable(group[0], event):
                merged.append(_join(group))
                group = []
            group.append(event)
            continue
        if group:
            merged.append(_join(group))
            group = []
        prev = merged[-1] if merged else None
        if isinstance(event, StreamGap) and isinstance(prev, StreamGap) and prev.to_seq + 1 >= event.from_seq:
            merged[-1] = prev.model_copy(update={"to_seq": max(prev.to_seq, event.to_seq), "seq": event.seq})
        else:
            merged.append(event)
    if group:
        merged.append(_join(group))
    return merged


def _join(group: list[TextDelta]) -> TextDelta:
    """One delta covering ``group`` (same field and artifact): ``first_seq..seq`` of the last."""
    first = group[0]
    if len(group) == 1:
        return first
    return first.model_copy(
        update={"text": "".join(e.text for e in group), "seq": group[-1].seq, "first_seq": first.first_seq or first.seq}
    )


def coalesce(items: Iterable[T], limit: int) -> list[T]:
    """Shrink a subscriber's buffer toward ``limit`` events without losing anything undeclared."""
    merged = merge_adjacent(items)
    excess = len(merged) - limit
    if excess <= 0:
        return merged
    to_drop = excess + 1  # the gap that replaces them takes one place
    out: list[Any] = []
    insert_at = -1
    first = last = 0
    run_id = ""
    for event in merged:
        if to_drop > 0 and isinstance(event, TextDelta):
            if insert_at < 0:
                first, run_id = event.first_seq or event.seq, event.run_id
            last = event.seq
            insert_at = len(out)  # where the last dropped delta stood: seq stays increasing
            to_drop -= 1
            continue
        out.append(event)
    if insert_at < 0:
        return out  # nothing droppable: never drop lifecycle, milestone, artifact... events
    gap = StreamGap(
        run_id=run_id,
        seq=last,
        ts=utc_now(),
        from_seq=first,
        to_seq=last,
        reason=GAP_REASON_DROPPED,
    )
    out.insert(insert_at, gap)
    return merge_adjacent(out)
