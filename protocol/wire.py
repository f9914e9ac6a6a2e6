"""Wire constants shared by every side of a run's stream: run state names and gap reasons.

They are part of the protocol, not of one implementation: a store back-end recognises a
retention gap by its reason, a client prints a run's state by its name.
"""

from __future__ import annotations

from typing import Final, Literal, TypeAlias

__all__ = ["GAP_REASON_DROPPED", "GAP_REASON_RETENTION", "RUN_STATES", "RunState"]

RunState: TypeAlias = Literal["pending", "running", "completed", "failed", "cancelled"]
"""A run's state as ``RunInfo.state`` and the run store name it."""
RUN_STATES: Final[frozenset[str]] = frozenset({"pending", "running", "completed", "failed", "cancelled"})

GAP_REASON_RETENTION: Final = "older events are no longer retained in memory"
"""``stream.gap`` reason: the bus trimmed these events from its in-memory log (a store may have them)."""
GAP_REASON_DROPPED: Final = "subscriber buffer full: oldest text deltas dropped; replay this range from the log"
"""``stream.gap`` reason: a ``coalesce`` subscriber's buffer overflowed; the log still has them."""
