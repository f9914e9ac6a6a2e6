"""The AG-UI endpoint: a ``RunAgentInput`` POST starts a run; its events stream back as AG-UI events.

Mapping (docs/http.md has the table): run.started → RUN_STARTED; step.started/finished → STEP_*;
text.delta / artifact.partial → one text message per field (or artifact), opened at its first
text and closed (TEXT_MESSAGE_END) before the artifact or the terminal; milestones, progress,
logs, artifacts, gaps → CUSTOM ``runwire.*``; run.completed → RUN_FINISHED (outcome success,
result); run.failed → RUN_ERROR; run.cancelled → CUSTOM ``runwire.cancelled`` (the reason)
then RUN_FINISHED with outcome ``cancelled`` (AG-UI 1.0's own outcome for a stopped run that did
not fail: a client tells it from both success and failure). Every frame's ``id:`` is the seq of
the runwire event it comes from. Closing the connection before the terminal cancels the run.
Plain dicts on the wire (camelCase, absent rather than null): no AG-UI package is needed to
serve; the tests validate every frame with the official models.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Annotated, Any

import anyio.to_thread
from fastapi import APIRouter, Body, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field, JsonValue

from runwire.actors import RunSystem
from runwire.actors.ext import pipelines, resolve_pipeline
from runwire.protocol import (
    Artifact,
    ArtifactPartial,
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
    TextDelta,
)

from ._api import BadRequest, InputsHook
from ._stream import EventStreamResponse

__all__ = ["AgUiMapper", "RunAgentInput", "build_agui"]

log = logging.getLogger("runwire.http")


class RunAgentInput(BaseModel):
    """AG-UI's RunAgentInput (the fields runwire reads; the others are accepted and ignored)."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    thread_id: str = Field(alias="threadId", min_length=1, max_length=256)
    run_id: str = Field(alias="runId", min_length=1, max_length=128, description="Becomes the runwire run_id.")
    messages: list[dict[str, JsonValue]] = Field(max_length=10_000)
    forwarded_props: JsonValue = Field(
        default=None,
        alias="forwardedProps",
        description='{"pipeline": name, "inputs": {...}}; the pipeline may also be given as ?pipeline=.',
    )


def _ms(event: RunEvent) -> int:
    return int(event.ts.timestamp() * 1000)


class AgUiMapper:
    """runwire events → AG-UI SSE frames, for one run (stateful: open messages and steps)."""

    def __init__(self, thread_id: str, run_id: str) -> None:
        self.thread_id = thread_id
        self.run_id = run_id
        self._started = False
        self._open: dict[str, str] = {}  # text key -> messageId, in opening order
        self._steps: dict[int, str] = {}  # loop step index -> stepName

    def __call__(self, event: RunEvent) -> bytes:
        frames = [self._frame(event.seq, f) for f in self.map(event)]
        return b"".join(frames)

    @staticmethod
    def _frame(seq: int, body: dict[str, Any]) -> bytes:
        data = json.dumps(body, separators=(",", ":"), ensure_ascii=False)
        return f"id: {seq}\ndata: {data}\n\n".encode()

    def _custom(self, event: RunEvent, name: str, value: Any) -> dict[str, Any]:
        return {"type": "CUSTOM", "timestamp": _ms(event), "name": name, "value": value}

    def _run_started(self, event: RunEvent) -> dict[str, Any]:
        self._started = True
        return {"type": "RUN_STARTED", "timestamp": _ms(event), "threadId": self.thread_id, "runId": self.run_id}

    def _close_text(self, event: RunEvent, key: str | None = None) -> list[dict[str, Any]]:
        keys = list(self._open) if key is None else [key] if key in self._open else []
        return [{"type": "TEXT_MESSAGE_END", "timestamp": _ms(event), "messageId": self._open.pop(k)} for k in keys]

    def _text(self, event: RunEvent, key: str, text: str) -> list[dict[str, Any]]:
        if not text:
            return []
        out: list[dict[str, Any]] = []
        message_id = self._open.get(key)
        if message_id is None:
            message_id = self._open[key] = f"{self.run_id}:{key}"
            out.append(
                {"type": "TEXT_MESSAGE_START", "timestamp": _ms(event), "messageId": message_id, "role": "assistant"}
            )
        out.append({"type": "TEXT_MESSAGE_CONTENT", "timestamp": _ms(event), "messageId": message_id, "delta": text})
        return out

    def map(self, event: RunEvent) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        if not self._started:
            out.append(self._run_started(event))
            if isinstance(event, RunStarted):
                return out
        if isinstance(event, TextDelta):
            key = event.field if event.artifact_id is None else f"{event.field}/{event.artifact_id}"
            out += self._text(event, key, event.text)
        elif isinstance(event, ArtifactPartial):
            out += self._text(event, f"artifact/{event.artifact_id}", event.text)
        elif isinstance(event, RunProgress):
            value = event.model_dump(include={"fraction", "current", "total", "message"}, exclude_none=True)
            out.append(self._custom(event, "runwire.progress", value))
        elif isinstance(event, RunMilestone):
            out.append(self._custom(event, "runwire.milestone", {"name": event.name, "data": event.data}))
        elif isinstance(event, RunLog):
            out.append(self._custom(event, "runwire.log", {"level": event.level, "message": event.message}))
        elif isinstance(event, Artifact):
            out += self._close_text(event, f"artifact/{event.artifact_id}")
            value = event.model_dump(mode="json", include={"artifact_id", "path", "media_type", "size", "sha256"})
            out.append(self._custom(event, "runwire.artifact", {k: v for k, v in value.items() if v is not None}))
        elif isinstance(event, StepStarted):
            name = self._steps[event.index] = event.name or f"step {event.index}"
            out.append({"type": "STEP_STARTED", "timestamp": _ms(event), "stepName": name})
            out.append(self._custom(event, "runwire.step", {"index": event.index, "child_run_id": event.child_run_id}))
        elif isinstance(event, StepFinished):
            name = self._steps.pop(event.index, f"step {event.index}")
            out.append(self._custom(event, "runwire.step_outcome", {"index": event.index, "outcome": event.outcome}))
            out.append({"type": "STEP_FINISHED", "timestamp": _ms(event), "stepName": name})
        elif isinstance(event, StreamGap):
            out.append(self._custom(event, "runwire.gap", {"from_seq": event.from_seq, "to_seq": event.to_seq}))
        elif isinstance(event, RunCompleted | RunFailed | RunCancelled):
            out += self._terminal(event)
        return out

    def _terminal(self, event: RunCompleted | RunFailed | RunCancelled) -> list[dict[str, Any]]:
        out = self._close_text(event)
        for name in self._steps.values():  # a loop cancelled mid-step: its step ends with the run
            out.append({"type": "STEP_FINISHED", "timestamp": _ms(event), "stepName": name})
        self._steps.clear()
        ids = {"threadId": self.thread_id, "runId": self.run_id}
        if isinstance(event, RunFailed):
            out.append(
                {
                    "type": "RUN_ERROR",
                    "timestamp": _ms(event),
                    "message": f"{event.error_type}: {event.message}",
                    "code": event.error_type,
                }
            )
        elif isinstance(event, RunCancelled):
            out.append(self._custom(event, "runwire.cancelled", {"reason": event.reason}))
            out.append({"type": "RUN_FINISHED", "timestamp": _ms(event), **ids, "outcome": {"type": "cancelled"}})
        else:
            finished = {"type": "RUN_FINISHED", "timestamp": _ms(event), **ids, "outcome": {"type": "success"}}
            if event.result is not None:
                finished["result"] = event.result
            out.append(finished)
        return out


def _target(body: RunAgentInput, pipeline: str | None) -> tuple[str, Mapping[str, Any]]:
    props = body.forwarded_props
    inputs: Any = {}
    if isinstance(props, dict):
        named = props.get("pipeline")
        if pipeline is None and isinstance(named, str):
            pipeline = named
        inputs = props.get("inputs", {})
    elif props is not None:
        raise BadRequest("forwardedProps must be an object: {'pipeline': name, 'inputs': {...}}")
    if pipeline is None:
        raise BadRequest("name the pipeline: ?pipeline=NAME or forwardedProps.pipeline")
    if not isinstance(inputs, dict):
        raise BadRequest("forwardedProps.inputs must be a JSON object")
    return pipeline, inputs


def build_agui(
    system: RunSystem, *, heartbeat: float, allowed: frozenset[str] | None, prepare: InputsHook | None
) -> APIRouter:
    agui = APIRouter(tags=["AG-UI"])

    @agui.post(
        "/agui",
        summary="AG-UI agent endpoint: RunAgentInput in, AG-UI events out over SSE (id = runwire seq)",
        response_class=Response,
        responses={200: {"content": {"text/event-stream": {}}}},
    )
    async def run_agent(
        request: Request,
        body: Annotated[RunAgentInput, Body()],
        pipeline: Annotated[str | None, Query(min_length=1, max_length=128)] = None,
    ) -> Any:
        name, inputs = _target(body, pipeline)
        names = pipelines() if allowed is None else [n for n in pipelines() if n in allowed]
        if name not in names:
            raise BadRequest(f"unknown pipeline {name[:80]!r}; available: {', '.join(names)}")
        if prepare is not None:
            inputs = prepare(name, inputs)
        func = resolve_pipeline(name)
        handle = await anyio.to_thread.run_sync(lambda: system.start(func, inputs, run_id=body.run_id, name=name))
        log.info("run %s: started over AG-UI (pipeline %s, thread %s)", handle.run_id, name, body.thread_id)
        tracer = getattr(request.app.state, "tracer", None)
        if tracer is not None:
            tracer.trace(handle, request.headers)

        def cancel() -> None:
            terminal = handle.cancel("AG-UI client disconnected")
            log.info("run %s: AG-UI client disconnected -> %s", handle.run_id, terminal.type)

        return EventStreamResponse(
            lambda: handle.events(0), AgUiMapper(body.thread_id, handle.run_id), heartbeat=heartbeat, on_abort=cancel
        )

    return agui
