"""Reading a run's events the way a subscriber would: deltas per field, the terminal, timings."""

from __future__ import annotations

import time
from dataclasses import dataclass

from runwire.actors import RunHandle
from runwire.protocol import TERMINAL_TYPES, RunEvent, TextDelta

from ..helpers import assert_well_formed

__all__ = ["Seen", "deltas", "terminal", "texts", "watch"]


@dataclass(frozen=True)
class Seen:
    """An event and when the subscriber got it (``time.perf_counter``)."""

    at: float
    event: RunEvent


def watch(handle: RunHandle, timeout: float = 20.0) -> list[Seen]:
    """Every event of the run, as a subscriber receives it, with its arrival time; checks the framing."""
    seen = [Seen(time.perf_counter(), event) for event in handle.events(timeout=timeout)]
    assert_well_formed([s.event for s in seen])
    return seen


def deltas(events: list[RunEvent]) -> list[TextDelta]:
    return [e for e in events if isinstance(e, TextDelta)]


def texts(events: list[RunEvent]) -> dict[str, str]:
    """Concatenated delta text per field (``field`` or ``field@artifact`` when an artifact is set)."""
    out: dict[str, str] = {}
    for delta in deltas(events):
        key = delta.field if delta.artifact_id is None else f"{delta.field}@{delta.artifact_id}"
        out[key] = out.get(key, "") + delta.text
    return out


def terminal(events: list[RunEvent]) -> RunEvent:
    last = events[-1]
    assert last.type in TERMINAL_TYPES
    return last
