"""The MCP resources: runs, one run, its events (JSON lines) and its artifacts.

Resources are what change signals point at: a subscribed client is told "runwire://runs/{id}/events
changed" and re-reads it from its cursor (``?after_seq=N``). Reads never wait and never cache
(``ttlMs`` 0 is set server-wide), so a read after a signal always sees the new events.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread
from mcp.server.mcpserver import MCPServer
from mcp.shared.exceptions import MCPError

from runwire.actors import RunwireError
from runwire.protocol import Artifact, ArtifactPartial, dump_event

from ._reader import MAX_LIMIT, read_log
from ._roots import PathError
from ._state import ServerState
from ._views import RUNS_URI, RunList, run_view

__all__ = ["RESOURCE_NOT_FOUND", "register_resources"]

RESOURCE_NOT_FOUND = -32002  # the spec's code for "no such resource"
MAX_ARTIFACT_BYTES = 16 * 1024 * 1024
_JSON = "application/json"


def _not_found(message: str, uri: str) -> MCPError:
    return MCPError(code=RESOURCE_NOT_FOUND, message=message, data={"uri": uri})


def _int_param(value: str | int, name: str, uri: str) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise MCPError(code=-32602, message=f"{name} must be an integer", data={"uri": uri}) from None
    if number < 0:
        raise MCPError(code=-32602, message=f"{name} must be >= 0", data={"uri": uri})
    return number


def register_resources(server: MCPServer[Any], state: ServerState) -> None:
    system = state.system

    @server.resource(RUNS_URI, name="runs", mime_type=_JSON, description="Runs the server retains, newest first.")
    async def runs() -> str:
        infos = await anyio.to_thread.run_sync(system.runs)
        views = [run_view(i) for i in reversed(infos)]
        return RunList(runs=views[:500], total=len(views)).model_dump_json()

    @server.resource(
        RUNS_URI + "/{run_id}",
        name="run",
        mime_type=_JSON,
        description="One run: state, last seq, terminal event. Subscribe to be told when it changes.",
    )
    async def run(run_id: str) -> str:
        try:
            info = await anyio.to_thread.run_sync(system.get, run_id)
        except RunwireError as exc:
            raise _not_found(str(exc), f"{RUNS_URI}/{run_id}") from None
        return run_view(info).model_dump_json()

    @server.resource(
        RUNS_URI + "/{run_id}/events{?after_seq,limit}",
        name="run-events",
        mime_type="application/jsonl",
        description="A run's events as JSON lines, seq > after_seq (default 0), at most limit (default 1000). "
        "Subscribe to runwire://runs/{run_id}/events and re-read from your cursor on each signal.",
    )
    async def run_events(run_id: str, after_seq: str = "0", limit: str = str(MAX_LIMIT)) -> str:
        uri = f"{RUNS_URI}/{run_id}/events"
        cursor, count = _int_param(after_seq, "after_seq", uri), _int_param(limit, "limit", uri)
        try:
            page = await read_log(system, run_id, cursor, max(1, min(count, MAX_LIMIT)))
        except RunwireError as exc:
            raise _not_found(str(exc), uri) from None
        return "".join(dump_event(e).decode() + "\n" for e in page.events)

    @server.resource(
        RUNS_URI + "/{run_id}/artifacts/{name}",
        name="run-artifact",
        mime_type="text/plain",
        description="An artifact a run produced (e.g. llms.txt): its inline content, or its file under the roots.",
    )
    async def artifact(run_id: str, name: str) -> str | bytes:
        uri = f"{RUNS_URI}/{run_id}/artifacts/{name}"
        try:
            page = await read_log(system, run_id)
        except RunwireError as exc:
            raise _not_found(str(exc), uri) from None
        final = [e for e in page.events if isinstance(e, Artifact) and e.artifact_id == name]
        if final and final[-1].content is not None:
            return final[-1].content
        if final and final[-1].path is not None:
            return await anyio.to_thread.run_sync(_read_confined, state, final[-1].path, uri)
        chunks = [e.text for e in page.events if isinstance(e, ArtifactPartial) and e.artifact_id == name]
        if chunks:
            return "".join(chunks)
        raise _not_found(f"run {run_id!r} has no artifact {name!r} (yet)", uri)


def _read_confined(state: ServerState, path: str, uri: str) -> str | bytes:
    """An artifact file, only if it lies under the allowed roots (a run may name any path)."""
    try:
        real: Path = state.roots.confine(path, what="artifact path")
        if os.path.getsize(real) > MAX_ARTIFACT_BYTES:
            raise MCPError(
                code=-32603, message=f"artifact is larger than {MAX_ARTIFACT_BYTES} bytes", data={"uri": uri}
            )
        data = real.read_bytes()
    except PathError as exc:
        raise _not_found(str(exc), uri) from None
    except OSError as exc:
        raise _not_found(f"artifact file cannot be read: {exc.strerror}", uri) from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data
