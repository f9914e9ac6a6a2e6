"""The ``coalesce`` policy's buffer shrinking: merge adjacent text deltas, then drop the oldest.

Only ``text.delta`` events are ever merged or dropped; lifecycle, milestone, log, progress,
artifact, step and terminal events always reach the subscriber. Merging is lossless (the merged
delta carries ``first_seq..seq``); dropping is declared by one ``stream.gap`` whose range the
subscriber can replay from the run's log.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeVar

from runwire.protocol import StreamGap, TextDelta, utc_now

__all__ = ["GAP_REASON_DROPPED", "coalesce", "merge_adjacent"]

T = TypeVar("T")

GAP_REASON_DROPPED = "subscriber buffer full: oldest text deltas dropped; replay this range from the log"


def _mergeable(prev: Any, event: TextDelta) -> bool:
    return isinstance(prev, TextDelta) and prev.field == event.field and prev.artifact_id == event.artifact_id


def merge_adjacent(items: Iterable[T]) -> list[T]:
    """Adjacent deltas of the same field become one (new objects: shared events are never mutated).

    Items that are not events (a replay block of the retained log) are kept as they are.
    """
    merged: list[Any] = []
    for event in items:
        prev = merged[-1] if merged else None
        if isinstance(event, TextDelta) and prev is not None and _mergeable(prev, event):
            assert isinstance(prev, TextDelta)
            merged[-1] = prev.model_copy(
                update={"text": prev.text + event.text, "seq": event.seq, "first_seq": prev.first_seq or prev.seq}
            )
        elif isinstance(event, StreamGap) and isinstance(prev, StreamGap) and prev.to_seq + 1 >= event.from_seq:
            merged[-1] = prev.model_copy(update={"to_seq": max(prev.to_seq, event.to_seq), "seq": event.seq})
        else:
            merged.append(event)
    return merged


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
