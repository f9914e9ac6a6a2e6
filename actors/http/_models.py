"""What the HTTP API takes and returns: pydantic models, the source of its OpenAPI document too.

Event bodies are runwire's protocol models themselves (``runwire.protocol.RunEvent``), so the
OpenAPI schema of an event and the JSON an SSE frame carries come from one declaration.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, JsonValue

from runwire.actors import RunInfo
from runwire.protocol import RunEvent, RunState

__all__ = [
    "ArtifactView",
    "CancelRequest",
    "Problem",
    "RunPage",
    "RunView",
    "StartRequest",
    "StartedRun",
    "run_view",
]


class StartRequest(BaseModel):
    """Start a run of a registered pipeline."""

    model_config = ConfigDict(extra="forbid")

    pipeline: str = Field(min_length=1, max_length=128, description="A registered pipeline name (GET /api/pipelines).")
    inputs: dict[str, JsonValue] = Field(default_factory=dict, description="The run's inputs (a JSON object).")


class StartedRun(BaseModel):
    """A run that was started and runs on its own; follow it at ``events_url``."""

    run_id: str
    pipeline: str
    url: str
    events_url: str


class RunView(BaseModel):
    """A snapshot of one run."""

    run_id: str
    pipeline: str
    state: RunState
    created_at: datetime
    ended_at: datetime | None = Field(default=None, description="When its terminal event was emitted.")
    last_seq: int = Field(description="Highest seq in the run's log.")
    parent_run_id: str | None = None
    step: int | None = None
    terminal: RunEvent | None = Field(default=None, description="The terminal event, once the run ended.")


def run_view(info: RunInfo) -> RunView:
    terminal = info.terminal
    return RunView(
        run_id=info.run_id,
        pipeline=info.pipeline,
        state=info.state,
        created_at=info.created_at,
        ended_at=None if terminal is None else terminal.ts,
        last_seq=info.last_seq,
        parent_run_id=info.parent_run_id,
        step=info.step,
        terminal=terminal,
    )


class RunPage(BaseModel):
    """Runs, newest first; ask again with ``offset=next_offset`` for the next page."""

    runs: list[RunView]
    total: int = Field(description="How many runs matched the filters.")
    next_offset: int | None = Field(description="The offset of the next page, or null on the last one.")


class CancelRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(default="cancelled over HTTP", max_length=500, description="Recorded on run.cancelled.")


class ArtifactView(BaseModel):
    """An artifact a run emitted (its last ``artifact`` event of that id)."""

    artifact_id: str
    media_type: str
    size: int | None
    seq: int
    url: str


class Problem(BaseModel):
    """Every 4xx answer: what was wrong, in one line (``detail``), plus field errors on 422."""

    detail: Any
