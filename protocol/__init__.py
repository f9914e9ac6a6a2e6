"""runwire's wire protocol: typed run events (pydantic v2), and their JSON codec.

This package imports nothing from ``runwire.actors`` and starts no thread.
"""

from ._base import EventBase, utc_now
from ._fast import DeltaBuilder
from ._frozen import FrozenDict, FrozenList
from .codec import dump_event, event_json_schema, is_terminal, parse_event
from .events import (
    TERMINAL_STATE_OF,
    TERMINAL_STATES,
    TERMINAL_TYPES,
    Artifact,
    ArtifactPartial,
    LogLevel,
    RunCancelled,
    RunCompleted,
    RunEvent,
    RunFailed,
    RunLog,
    RunMilestone,
    RunProgress,
    RunStarted,
    StepFinished,
    StepStarted,
    StreamGap,
    TerminalEvent,
    TerminalState,
    TextDelta,
)
from .wire import GAP_REASON_DROPPED, GAP_REASON_RETENTION, RUN_STATES, RunState

__all__ = [
    "GAP_REASON_DROPPED",
    "GAP_REASON_RETENTION",
    "RUN_STATES",
    "TERMINAL_STATES",
    "TERMINAL_STATE_OF",
    "TERMINAL_TYPES",
    "Artifact",
    "ArtifactPartial",
    "DeltaBuilder",
    "EventBase",
    "FrozenDict",
    "FrozenList",
    "LogLevel",
    "RunCancelled",
    "RunCompleted",
    "RunEvent",
    "RunFailed",
    "RunLog",
    "RunMilestone",
    "RunProgress",
    "RunStarted",
    "RunState",
    "StepFinished",
    "StepStarted",
    "StreamGap",
    "TerminalEvent",
    "TerminalState",
    "TextDelta",
    "dump_event",
    "event_json_schema",
    "is_terminal",
    "parse_event",
    "utc_now",
]
