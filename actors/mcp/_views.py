"""What MCP clients see of runs: the output models of the tools (their output schemas) and resources.

Plain pydantic models over runwire's own types, so a tool's ``outputSchema`` and its
``structuredContent`` come from one declaration. Nothing here imports mcp.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, JsonValue, WithJsonSchema

from runwire.actors import RunInfo
from runwire.protocol import RunEvent, RunState

__all__ = [
    "CancelOutcome",
    "EventJson",
    "EventsPage",
    "FollowEnd",
    "RunList",
    "RunOutcome",
    "RunView",
    "event_json",
    "StartedRun",
    "run_uri",
    "run_view",
]

RUNS_URI = "runwire://runs"


def run_uri(run_id: str, leaf: str = "") -> str:
    """``runwire://runs/{run_id}``, or a resource below it (``events``, ``artifacts/{name}``)."""
    return f"{RUNS_URI}/{run_id}/{leaf}" if leaf else f"{RUNS_URI}/{run_id}"


def _open_object(schema: dict[str, Any]) -> None:
    # Clients validate every result against the output schema (the SDK's client: jsonschema, in
    # Python). Measured per page of 1,000 events: oneOf over the event kinds 2.1 s, typed core
    # properties 115 ms, required keys only 41 ms. The per-kind shapes are in the protocol schema.
    schema.pop("properties", None)
    schema["additionalProperties"] = True


class EventJson(BaseModel):
    """One run event: run_id, seq, ts, type and the fields of its kind (see runwire's protocol schema,
    docs/protocol.schema.json). seq starts at 1 and grows by 1 per event, without gaps."""

    model_config = ConfigDict(extra="allow", json_schema_extra=_open_object)

    run_id: str
    seq: int = Field(description="Position in the run's log: from 1, +1 per event, no gaps.")
    ts: str = Field(description="When it was emitted (RFC 3339, UTC).")
    type: str = Field(description="The event kind, e.g. run.progress, text.delta, run.completed.")


# What output schemas say of an event, written out where it is used: the SDK's client resolved a
# "$ref" to it once per event (53 ms per page of 1,000), and an explicit "additionalProperties":
# true (the default) made jsonschema walk every field of every event; inline and without, 14 ms.
_EVENT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["run_id", "seq", "ts", "type"],
    "description": "A run event: run_id, seq (from 1, +1 per event, no gaps), ts (RFC 3339, UTC), type, and the "
    "fields of its kind (runwire's protocol schema, docs/protocol.schema.json).",
}
EventList = Annotated[list[EventJson], WithJsonSchema({"type": "array", "items": _EVENT_SCHEMA})]
Terminal = Annotated[EventJson, WithJsonSchema(_EVENT_SCHEMA)]
MaybeTerminal = Annotated[EventJson | None, WithJsonSchema({"anyOf": [_EVENT_SCHEMA, {"type": "null"}]})]


def event_json(event: RunEvent) -> EventJson:
    """The event as an open JSON object (already a validated protocol model: no second validation)."""
    return EventJson.model_construct(**event.model_dump(mode="json"))


class RunView(BaseModel):
    """A snapshot of one run."""

    run_id: str
    pipeline: str
    state: RunState
    created_at: datetime
    last_seq: int = Field(description="Highest seq in the run's log; read events with after_seq below it.")
    terminal: MaybeTerminal = Field(default=None, description="The run's terminal event, once it ended.")
    parent_run_id: str | None = None
    step: int | None = None
    subscribers: int = Field(description="Live in-process subscriptions to the run's events.")
    uri: str = Field(description="This run as an MCP resource.")
    events_uri: str = Field(description="The run's events as an MCP resource (JSON lines).")


def run_view(info: RunInfo) -> RunView:
    return RunView(
        run_id=info.run_id,
        pipeline=info.pipeline,
        state=info.state,
        created_at=info.created_at,
        last_seq=info.last_seq,
        terminal=None if info.terminal is None else event_json(info.terminal),
        parent_run_id=info.parent_run_id,
        step=info.step,
        subscribers=info.subscribers,
        uri=run_uri(info.run_id),
        events_uri=run_uri(info.run_id, "events"),
    )


class RunList(BaseModel):
    """Retained runs, newest first."""

    runs: list[RunView]
    total: int = Field(description="How many retained runs matched, before the limit.")


class StartedRun(BaseModel):
    """A run that was started and is now running on its own; follow it with ``events``."""

    run_id: str
    pipeline: str
    uri: str
    events_uri: str
    next_after_seq: int = Field(default=0, description="Pass this as after_seq to the events tool.")


class EventsPage(BaseModel):
    """Events with ``seq > after_seq``, in order and without gaps, at most ``limit`` of them."""

    run_id: str
    events: EventList
    next_after_seq: int = Field(description="The seq of the last event returned (or after_seq): the next cursor.")
    done: bool = Field(description="True when the terminal event is at or before next_after_seq: nothing follows.")
    state: RunState | None = Field(
        default=None,
        description="The run's state as this page saw it, if known: the terminal's state once the page holds it.",
    )


class FollowEnd(BaseModel):
    """Where a ``follow`` stream stopped: at the terminal (``done``), or at ``max_s`` with the cursor to go on from."""

    run_id: str
    next_after_seq: int = Field(description="The seq of the last event sent (or after_seq): the next cursor.")
    done: bool = Field(description="True when the terminal event was sent (or was already before after_seq).")
    state: RunState | None = Field(default=None, description="The run's state when the stream stopped.")
    sent: int = Field(description="How many events this call sent as notifications.")


class CancelOutcome(BaseModel):
    """The run's terminal after the cancel: ``run.cancelled``, or the terminal it had already reached."""

    run_id: str
    state: RunState
    terminal: Terminal


class RunOutcome(BaseModel):
    """A run a tool waited for: its result on success (llms-txt: files written, counts), the error otherwise."""

    run_id: str
    state: RunState
    result: JsonValue = Field(default=None, description="What the pipeline returned (the run.completed result).")
    error: str | None = Field(default=None, description="Why the run failed or was cancelled.")
    last_seq: int = Field(description="The terminal event's seq; the whole log is readable with the events tool.")
