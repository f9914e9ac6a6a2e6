"""The REST + SSE routes: start, list, get, events (SSE and NDJSON), cancel, artifacts.

Every run lookup goes through the RunSystem's public API; blocking calls (they ask an actor)
run on a worker thread. Client mistakes are 4xx with a one-line ``detail``: 400 for a bad
cursor or pipeline, 404 for an unknown run, 410 for one whose retention ended, 422 for a body
or query that does not match its model.
"""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterable, Callable, Mapping
from typing import Annotated, Any
from urllib.parse import quote

import anyio.to_thread
from fastapi import APIRouter, Header, Path, Query, Request
from fastapi.responses import FileResponse, Response

from runwire.actors import RunHandle, RunSystem, RunwireError
from runwire.actors.ext import pipelines, resolve_pipeline
from runwire.protocol import Artifact, RunEvent, RunState

from ._models import (
    ArtifactView,
    CancelRequest,
    Problem,
    RunPage,
    RunView,
    StartedRun,
    StartRequest,
    run_view,
)
from ._stream import NDJSON, SSE, EventStreamResponse, ndjson_line, sse_frame

__all__ = ["BadRequest", "InputsHook", "build_router", "read_log"]

log = logging.getLogger("runwire.http")

InputsHook = Callable[[str, Mapping[str, Any]], Mapping[str, Any]]
RunId = Annotated[str, Path(min_length=1, max_length=128, description="The run's id.")]
_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": Problem},
    404: {"model": Problem},
    410: {"model": Problem},
}
_EVENTS_DOC = {"content": {SSE: {"schema": {"$ref": "#/components/schemas/RunEvent"}}}}


class BadRequest(RunwireError, ValueError):
    """A client mistake the models cannot catch (a bad cursor header, an unknown pipeline): 400."""


def _cursor(after_seq: int | None, last_event_id: str | None) -> int:
    """The resume point: the browser's ``Last-Event-ID`` (an SSE reconnect) wins over ``after_seq``."""
    if last_event_id is not None and last_event_id.strip():
        text = last_event_id.strip()
        if not text.isdigit() or len(text) > 18:
            raise BadRequest(f"Last-Event-ID must be a seq (a non-negative integer), got {text[:40]!r}")
        return int(text)
    return after_seq or 0


def read_log(system: RunSystem, run_id: str) -> list[RunEvent]:
    """What the run's log holds now (blocking; call it on a worker thread)."""
    info = system.get(run_id)
    out: list[RunEvent] = []
    if info.last_seq == 0:
        return out
    for event in system.handle(run_id).events(0, timeout=10.0, buffer=None):
        out.append(event)
        if event.seq >= info.last_seq:
            break
    return out


def build_router(
    system: RunSystem, *, heartbeat: float, allowed: frozenset[str] | None, prepare: InputsHook | None
) -> APIRouter:
    api = APIRouter(prefix="/api", responses=_ERRORS)

    def startable() -> list[str]:
        names = pipelines()
        return names if allowed is None else [n for n in names if n in allowed]

    @api.get("/pipelines", summary="Pipelines a run can be started of")
    def list_pipelines() -> list[str]:
        return startable()

    @api.post("/runs", status_code=201, summary="Start a run; returns its run_id at once")
    def start_run(body: StartRequest, request: Request) -> StartedRun:
        if body.pipeline not in startable():
            shown = body.pipeline if len(body.pipeline) <= 80 else body.pipeline[:80] + "..."
            raise BadRequest(f"unknown pipeline {shown!r}; available: {', '.join(startable())}")
        inputs: Mapping[str, Any] = body.inputs
        if prepare is not None:
            inputs = prepare(body.pipeline, inputs)
        handle = system.start(resolve_pipeline(body.pipeline), inputs, name=body.pipeline)
        log.info("run %s: started over HTTP (pipeline %s)", handle.run_id, body.pipeline)
        tracer = getattr(request.app.state, "tracer", None)
        if tracer is not None:
            tracer.trace(handle, request.headers)
        base = f"{_root(request)}api/runs/{handle.run_id}"
        return StartedRun(run_id=handle.run_id, pipeline=body.pipeline, url=base, events_url=base + "/events")

    @api.get("/runs", summary="Runs, newest first, filtered and paginated")
    def list_runs(
        state: Annotated[RunState | None, Query(description="Only runs in this state.")] = None,
        pipeline: Annotated[str | None, Query(max_length=128, description="Only runs of this pipeline.")] = None,
        parent: Annotated[str | None, Query(max_length=128, description="Only the steps of this loop run.")] = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 50,
        offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
    ) -> RunPage:
        infos = [
            i
            for i in reversed(system.runs(state))
            if (pipeline is None or i.pipeline == pipeline) and (parent is None or i.parent_run_id == parent)
        ]
        page = infos[offset : offset + limit]
        more = offset + limit < len(infos)
        return RunPage(runs=[run_view(i) for i in page], total=len(infos), next_offset=offset + limit if more else None)

    @api.get("/runs/{run_id}", summary="One run's state and terminal event")
    def get_run(run_id: RunId) -> RunView:
        return run_view(system.get(run_id))

    async def _follow(run_id: str, after_seq: int) -> tuple[RunHandle, bool]:
        handle = await anyio.to_thread.run_sync(system.handle, run_id)
        info = await anyio.to_thread.run_sync(system.get, run_id)
        over = info.terminal is not None and after_seq >= info.terminal.seq
        return handle, over

    def _source(handle: RunHandle, after_seq: int) -> Callable[[], AsyncIterable[RunEvent]]:
        return lambda: handle.events(after_seq)

    @api.get(
        "/runs/{run_id}/events",
        summary="The run's events as Server-Sent Events (id = seq; resume with Last-Event-ID or after_seq)",
        response_class=Response,
        responses={200: _EVENTS_DOC, 204: {"description": "The cursor is at the terminal: nothing follows."}},
    )
    async def events_sse(
        run_id: RunId,
        after_seq: Annotated[int | None, Query(ge=0, le=2**62, description="Events with seq > after_seq.")] = None,
        last_event_id: Annotated[str | None, Header(max_length=40)] = None,
    ) -> Any:
        cursor = _cursor(after_seq, last_event_id)
        handle, over = await _follow(run_id, cursor)
        if over:  # 204 tells an EventSource to stop reconnecting
            return Response(status_code=204)
        return EventStreamResponse(_source(handle, cursor), _with_retry(), heartbeat=heartbeat)

    @api.get(
        "/runs/{run_id}/events.ndjson",
        summary="The run's events as JSON lines (one event per line), to the terminal",
        response_class=Response,
        responses={200: {"content": {NDJSON: {"schema": {"$ref": "#/components/schemas/RunEvent"}}}}},
    )
    async def events_ndjson(
        run_id: RunId,
        after_seq: Annotated[int, Query(ge=0, le=2**62, description="Events with seq > after_seq.")] = 0,
    ) -> Any:
        handle, over = await _follow(run_id, after_seq)
        if over:
            return Response(b"", media_type=NDJSON)
        return EventStreamResponse(
            _source(handle, after_seq), ndjson_line, media_type=NDJSON, heartbeat=heartbeat, heartbeat_bytes=b"\n"
        )

    @api.post("/runs/{run_id}/cancel", summary="Cancel a run; returns its terminal event (idempotent)")
    def cancel_run(run_id: RunId, body: CancelRequest | None = None) -> RunView:
        reason = (body or CancelRequest()).reason
        terminal = system.handle(run_id).cancel(reason)
        log.info("run %s: cancel over HTTP (%r) -> %s at seq %d", run_id, reason, terminal.type, terminal.seq)
        return run_view(system.get(run_id))

    @api.get("/runs/{run_id}/artifacts", summary="The artifacts a run emitted so far")
    def list_artifacts(run_id: RunId, request: Request) -> list[ArtifactView]:
        return [
            ArtifactView(
                artifact_id=a.artifact_id,
                media_type=a.media_type,
                size=a.size,
                seq=a.seq,
                url=f"{_root(request)}api/runs/{run_id}/artifacts/{quote(a.artifact_id, safe='')}",
            )
            for a in _artifacts(system, run_id).values()
        ]

    @api.get(
        "/runs/{run_id}/artifacts/{artifact_id}",
        summary="Download an artifact (its inline content, or the file it was written to)",
        response_class=Response,
    )
    def download_artifact(run_id: RunId, artifact_id: Annotated[str, Path(min_length=1, max_length=512)]) -> Response:
        artifact = _artifacts(system, run_id).get(artifact_id)
        if artifact is None:
            raise LookupError(f"run {run_id} has no artifact {artifact_id!r}")
        filename = os.path.basename(artifact_id) or "artifact"
        disposition = {"content-disposition": f'attachment; filename="{_quote(filename)}"'}
        if artifact.content is not None:
            return Response(artifact.content, media_type=artifact.media_type, headers=disposition)
        if artifact.path is not None and os.path.isfile(artifact.path):
            return FileResponse(artifact.path, media_type=artifact.media_type, headers=disposition)
        raise LookupError(f"artifact {artifact_id!r} of run {run_id} has no content here (path: {artifact.path})")

    return api


def _artifacts(system: RunSystem, run_id: str) -> dict[str, Artifact]:
    found: dict[str, Artifact] = {}
    for event in read_log(system, run_id):
        if isinstance(event, Artifact):
            found[event.artifact_id] = event
    return found


def _with_retry() -> Callable[[RunEvent], bytes]:
    """SSE frames, the first with ``retry: 1000``: a dropped EventSource reconnects after 1 s, not ~3 s.

    (In a frame of its own, without data, some clients — httpx-sse — would hand out an empty event.)
    """
    first = [True]

    def encode(event: RunEvent) -> bytes:
        if first[0]:
            first[0] = False
            return b"retry: 1000\n" + sse_frame(event)
        return sse_frame(event)

    return encode


def _root(request: Request) -> str:
    """The app's own base URL, mount point included (``url_for`` would resolve in the outer app)."""
    url = request.url
    return f"{url.scheme}://{url.netloc}{request.scope.get('root_path', '').rstrip('/')}/"


def _quote(name: str) -> str:
    return "".join(c if c.isalnum() or c in "._-" else "_" for c in name)
