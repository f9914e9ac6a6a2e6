"""Hypothesis strategies for every protocol event kind; reusable by any test module.

``any_event()`` draws from every kind; ``events_of(Kind)`` from one. All produced events are
valid (they round-trip through ``dump_event``/``parse_event``).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from hypothesis import strategies as st

from runwire.protocol import (
    Artifact,
    ArtifactPartial,
    EventBase,
    RunCancelled,
    RunCompleted,
    RunFailed,
    RunLog,
    RunMilestone,
    RunProgress,
    RunStarted,
    StepFinished,
    StepStarted,
    StreamGap,
    TextDelta,
)

__all__ = ["ALL_KINDS", "any_event", "aware_datetimes", "events_of", "json_values"]

ids = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=16)
texts = st.text(max_size=40)
seqs = st.integers(min_value=1, max_value=2**40)

# Floats that survive a JSON round trip exactly (no NaN/inf: JSON has no spelling for them).
json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**53), max_value=2**53)
    | st.floats(allow_nan=False, allow_infinity=False)
    | texts
)
json_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(texts, children, max_size=4),
    max_leaves=12,
)
json_objects = st.dictionaries(texts, json_values, max_size=4)

offsets = st.integers(min_value=-14 * 60, max_value=14 * 60).map(lambda m: timezone(timedelta(minutes=m)))
aware_datetimes = st.builds(
    lambda naive, tz: naive.replace(tzinfo=UTC).astimezone(tz),
    st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2200, 1, 1)),
    offsets,
)


def _common() -> dict[str, Any]:
    return {
        "run_id": ids,
        "seq": seqs,
        "ts": aware_datetimes,
        "parent_run_id": st.none() | ids,
        "step": st.none() | st.integers(min_value=0, max_value=10_000),
    }


_FIELDS: dict[type[EventBase], dict[str, Any]] = {
    RunStarted: {"pipeline": ids, "inputs": json_objects},
    RunProgress: {
        "fraction": st.none() | st.floats(min_value=0, max_value=1),
        "current": st.none() | st.integers(min_value=0, max_value=10**9),
        "total": st.none() | st.integers(min_value=0, max_value=10**9),
        "message": st.none() | texts,
    },
    RunMilestone: {"name": ids, "data": json_objects},
    RunLog: {"level": st.sampled_from(["debug", "info", "warning", "error"]), "message": texts},
    TextDelta: {"field": ids, "text": texts, "artifact_id": st.none() | ids, "first_seq": st.none() | seqs},
    ArtifactPartial: {"artifact_id": ids, "text": texts},
    Artifact: {
        "artifact_id": ids,
        "path": st.none() | texts,
        "size": st.none() | st.integers(min_value=0, max_value=10**12),
        "sha256": st.none() | st.text(alphabet="0123456789abcdef", min_size=64, max_size=64),
        "content": st.none() | texts,
    },
    StepStarted: {"child_run_id": ids, "index": st.integers(min_value=0, max_value=10**6), "name": st.none() | ids},
    StepFinished: {
        "child_run_id": ids,
        "index": st.integers(min_value=0, max_value=10**6),
        "outcome": st.sampled_from(["completed", "failed", "cancelled"]),
        "result": json_values,
        "error": st.none() | texts,
    },
    StreamGap: {"from_seq": seqs, "to_seq": seqs, "reason": texts},
    RunCompleted: {"result": json_values, "finish_reason": st.none() | ids},
    RunFailed: {"error_type": ids, "message": texts, "traceback": st.none() | texts, "finish_reason": st.none() | ids},
    RunCancelled: {"reason": texts, "finish_reason": st.none() | ids},
}

ALL_KINDS: tuple[type[EventBase], ...] = tuple(_FIELDS)


def events_of(kind: type[EventBase]) -> st.SearchStrategy[Any]:
    return st.builds(kind, **_common(), **_FIELDS[kind])


def any_event() -> st.SearchStrategy[Any]:
    return st.one_of(*(events_of(kind) for kind in ALL_KINDS))
