"""Every event kind a run can stream, as one discriminated union.

Each variant carries ``type: Literal[...]`` so parsing picks the model from the ``type`` field
alone (one dict lookup, no trial-and-error over the union).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Annotated, Literal, TypeAlias

from pydantic import Field

from ._base import EventBase, Json, JsonObject, Text

__all__ = [
    "TERMINAL_STATES",
    "TERMINAL_STATE_OF",
    "TERMINAL_TYPES",
    "Artifact",
    "ArtifactPartial",
    "LogLevel",
    "RunCancelled",
    "RunCompleted",
    "RunEvent",
    "RunFailed",
    "RunLog",
    "RunMilestone",
    "RunProgress",
    "RunStarted",
    "StepFinished",
    "StepStarted",
    "StreamGap",
    "TerminalEvent",
    "TerminalState",
    "TextDelta",
]

LogLevel: TypeAlias = Literal["debug", "info", "warning", "error"]
TerminalState: TypeAlias = Literal["completed", "failed", "cancelled"]


class RunStarted(EventBase):
    """The run left PENDING: its worker is about to run the pipeline."""

    type: Literal["run.started"] = "run.started"
    pipeline: Text = Field(description="Name of the pipeline the run executes.")
    inputs: JsonObject = Field(default_factory=dict, description="The run's inputs (JSON).")


class RunProgress(EventBase):
    """Coarse progress: a fraction in [0, 1] and/or a count, with what is being done."""

    type: Literal["run.progress"] = "run.progress"
    fraction: float | None = Field(default=None, ge=0.0, le=1.0, description="Share of the work done.")
    current: int | None = Field(default=None, ge=0, description="Units done so far.")
    total: int | None = Field(default=None, ge=0, description="Units in all, when known.")
    message: Text | None = Field(default=None, description="What the run is doing now.")


class RunMilestone(EventBase):
    """A named point the pipeline reached, with structured data (e.g. repo_fetched)."""

    type: Literal["run.milestone"] = "run.milestone"
    name: Text = Field(min_length=1, description="Milestone name, e.g. 'repo_fetched'.")
    data: JsonObject = Field(default_factory=dict, description="Structured facts about the milestone.")


class RunLog(EventBase):
    """A human-readable log line from the pipeline."""

    type: Literal["run.log"] = "run.log"
    level: LogLevel = "info"
    message: Text


class TextDelta(EventBase):
    """A piece of generated text (LM tokens). Concatenating a field's deltas gives its text.

    ``first_seq`` is set when several deltas were coalesced into this one: it covers
    ``first_seq..seq`` of the run's log.
    """

    type: Literal["text.delta"] = "text.delta"
    field: Text = Field(description="Which output the text belongs to (e.g. 'summary').")
    text: Text
    artifact_id: Text | None = Field(default=None, description="The artifact/section this text is for, if any.")
    first_seq: int | None = Field(default=None, ge=1, description="First seq covered when coalesced.")


class ArtifactPartial(EventBase):
    """A chunk of an artifact being produced (appended in order)."""

    type: Literal["artifact.partial"] = "artifact.partial"
    artifact_id: Text = Field(min_length=1, description="e.g. 'llms.txt'.")
    text: Text = Field(description="The next chunk of the artifact's content.")


class Artifact(EventBase):
    """A finished artifact: where it is and how to check it."""

    type: Literal["artifact"] = "artifact"
    artifact_id: Text = Field(min_length=1, description="e.g. 'llms.txt'.")
    path: Text | None = Field(default=None, description="Where it was written, if on disk.")
    media_type: Text = "text/plain"
    size: int | None = Field(default=None, ge=0, description="Size in bytes.")
    sha256: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")
    content: Text | None = Field(default=None, description="Inline content, for small artifacts.")


class StepStarted(EventBase):
    """A loop started a step: its own child run."""

    type: Literal["step.started"] = "step.started"
    child_run_id: Text = Field(min_length=1)
    index: int = Field(ge=0, description="Step index in the loop, from 0.")
    name: Text | None = None


class StepFinished(EventBase):
    """A loop's step ended; ``outcome`` is the child run's terminal kind."""

    type: Literal["step.finished"] = "step.finished"
    child_run_id: Text = Field(min_length=1)
    index: int = Field(ge=0)
    outcome: TerminalState
    result: Json = None
    error: Text | None = None


class StreamGap(EventBase):
    """Events ``from_seq..to_seq`` were not delivered to this subscriber; replay them from the log."""

    type: Literal["stream.gap"] = "stream.gap"
    from_seq: int = Field(ge=1)
    to_seq: int = Field(ge=1)
    reason: Text = ""


class RunCompleted(EventBase):
    """Terminal: the pipeline returned."""

    type: Literal["run.completed"] = "run.completed"
    result: Json = None
    finish_reason: Text | None = Field(default=None, description="The provider's finish_reason, if one was reported.")


class RunFailed(EventBase):
    """Terminal: the pipeline raised, or the run was failed explicitly."""

    type: Literal["run.failed"] = "run.failed"
    error_type: Text = Field(description="Exception class name, e.g. 'ValueError'.")
    message: Text
    traceback: Text | None = Field(default=None, description="Short summary; only when the system includes it.")
    finish_reason: Text | None = None


class RunCancelled(EventBase):
    """Terminal: the run was cancelled; nothing of this run follows."""

    type: Literal["run.cancelled"] = "run.cancelled"
    reason: Text = ""
    finish_reason: Text | None = None


TerminalEvent: TypeAlias = Annotated[RunCompleted | RunFailed | RunCancelled, Field(discriminator="type")]
TERMINAL_STATE_OF: Mapping[str, TerminalState] = MappingProxyType(
    {"run.completed": "completed", "run.failed": "failed", "run.cancelled": "cancelled"}
)
"""Each terminal event type and the state its run ends in: the one table every layer reads."""
TERMINAL_TYPES: frozenset[str] = frozenset(TERMINAL_STATE_OF)
TERMINAL_STATES: frozenset[str] = frozenset(TERMINAL_STATE_OF.values())

RunEvent: TypeAlias = Annotated[
    RunStarted
    | RunProgress
    | RunMilestone
    | RunLog
    | TextDelta
    | ArtifactPartial
    | Artifact
    | StepStarted
    | StepFinished
    | StreamGap
    | RunCompleted
    | RunFailed
    | RunCancelled,
    Field(discriminator="type"),
]
