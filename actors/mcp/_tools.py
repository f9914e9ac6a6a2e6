"""The MCP tools: start, watch, read, cancel runs — and llms_txt / run_and_wait, which wait for theirs.

Tool results do not stream (one result per call), so only the two blocking tools wait, relaying
their run as progress and log notifications on their own request; cancelling that request
cancels its run.
Every other tool answers at once and leaves the run alone: runs outlive requests and
connections, and a client follows one through ``events`` with its own cursor.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

import anyio
import anyio.to_thread
from mcp.server.mcpserver import Context, MCPServer
from mcp_types import CallToolResult, TextContent, ToolAnnotations
from pydantic import Field

from runwire.actors import RunHandle
from runwire.actors.ext import pipelines as available
from runwire.protocol import RunCompleted, RunEvent, RunFailed, RunState

from ._follow import MAX_FOLLOW_S, check_follow, follow_run, stream_run
from ._inputs import LLMS_TXT, prepare_inputs, resolve_pipeline
from ._progress import relay_until_terminal
from ._reader import MAX_LIMIT, MAX_WAIT_S, read_events
from ._state import ServerState, client_errors
from ._views import (
    CancelOutcome,
    EventsPage,
    FollowEnd,
    RunList,
    RunOutcome,
    RunView,
    StartedRun,
    event_json,
    run_uri,
    run_view,
)

__all__ = ["register_tools"]

RunId = Annotated[str, Field(min_length=1, max_length=128, description="The run's id, as a tool returned it.")]
Source = Annotated[
    str,
    Field(min_length=1, max_length=4096, description="Repository: a directory under the allowed roots, or a git URL."),
]
OutDir = Annotated[
    str | None,
    Field(min_length=1, max_length=4096, description="Folder for llms.txt and llms-full.txt (default: the repo root)."),
]
BaseUrl = Annotated[
    str | None, Field(max_length=2048, description="Prefix for links, e.g. https://github.com/o/r/blob/main/.")
]
Excludes = Annotated[
    list[Annotated[str, Field(max_length=512)]] | None,
    Field(max_length=256, description="Extra gitignore-style patterns to skip."),
]
MaxFileBytes = Annotated[int | None, Field(ge=1, le=1_000_000_000, description="Skip files larger than this.")]
PipelineName = Annotated[str, Field(min_length=1, max_length=128, description="A registered pipeline name.")]
Inputs = Annotated[
    dict[str, Any] | None,
    Field(description='The run\'s inputs, e.g. {"source": "."} for llms-txt, {"steps": 5, "delay": 0.01} for demo.'),
]
AfterSeq = Annotated[int, Field(ge=0, description="Cursor: return events with seq > after_seq (0 = from the start).")]
Limit = Annotated[int, Field(ge=1, le=MAX_LIMIT, description="At most this many events.")]
WaitS = Annotated[float, Field(ge=0, le=MAX_WAIT_S, description="If none are there yet, wait up to this many seconds.")]
FollowS = Annotated[
    float, Field(gt=0, le=MAX_FOLLOW_S, description="Stop after this many seconds (the run goes on); call again.")
]
Reason = Annotated[str, Field(max_length=500, description="Recorded on the run.cancelled event.")]
StateFilter = Annotated[RunState | None, Field(description="Only runs in this state.")]
ListLimit = Annotated[int, Field(ge=1, le=500, description="At most this many runs, newest first.")]
Outcome = Annotated[CallToolResult, RunOutcome]  # is_error results carry the outcome too
_F = TypeVar("_F", bound=Callable[..., Any])
_READ_ONLY = ToolAnnotations(read_only_hint=True, open_world_hint=False)


def _tool(server: MCPServer[Any], annotations: ToolAnnotations, extra: str = "") -> Callable[[_F], _F]:
    """Register with the docstring, dedented, as the description clients show (plus ``extra``)."""

    def decorator(fn: _F) -> _F:
        description = inspect.cleandoc(fn.__doc__ or "") + extra
        server.add_tool(fn, description=description, annotations=annotations)
        return fn

    return decorator


def register_tools(server: MCPServer[Any], state: ServerState) -> None:
    system, hub = state.system, state.hub

    @_tool(server, ToolAnnotations(open_world_hint=True))
    async def llms_txt(
        source: Source,
        ctx: Context[Any, Any],
        out: OutDir = None,
        base_url: BaseUrl = None,
        exclude: Excludes = None,
        max_file_bytes: MaxFileBytes = None,
    ) -> Outcome:
        """Write llms.txt and llms-full.txt for a repository and wait for the run to end.

        Sends notifications/progress (with a progressToken) naming each milestone — the first one
        names the run_id — and log notifications, while it runs. Cancelling this request cancels the run. For a run that
        must outlive this request, use start_run with pipeline "llms-txt" and follow it with events.
        """
        raw: dict[str, Any] = {"source": source, "out": out, "base_url": base_url, "exclude": exclude}
        raw["max_file_bytes"] = max_file_bytes
        with client_errors():
            inputs = prepare_inputs(LLMS_TXT, {k: v for k, v in raw.items() if v is not None}, state.roots)
            handle = system.start(resolve_pipeline(LLMS_TXT), inputs, name=LLMS_TXT)
        return await _wait(ctx, handle, state)

    @_tool(server, ToolAnnotations(open_world_hint=True), f"\n\nPipelines: {', '.join(available())}.")
    async def run_and_wait(pipeline: PipelineName, ctx: Context[Any, Any], inputs: Inputs = None) -> Outcome:
        """Run a pipeline and wait for it to end, with progress and log notifications while it runs.

        The first progress message names the run_id. Cancelling this request cancels the run; use
        start_run for a run that must outlive the request.
        """
        with client_errors():
            func = resolve_pipeline(pipeline)
            handle = system.start(func, prepare_inputs(pipeline, inputs or {}, state.roots), name=pipeline)
        return await _wait(ctx, handle, state)

    @_tool(server, ToolAnnotations(open_world_hint=True), f"\n\nPipelines: {', '.join(available())}.")
    async def start_run(pipeline: PipelineName, inputs: Inputs = None) -> StartedRun:
        """Start a run and return its run_id at once; it runs on after this call and this connection.

        Follow it with the events tool (after_seq cursor, wait_s to wait for new events), the
        runwire://runs/{run_id}/events resource and its change signals, or get_run; stop it with cancel_run.
        """
        with client_errors():
            func = resolve_pipeline(pipeline)
            handle = system.start(func, prepare_inputs(pipeline, inputs or {}, state.roots), name=pipeline)
        hub.track(handle)
        rid = handle.run_id
        return StartedRun(run_id=rid, pipeline=pipeline, uri=run_uri(rid), events_uri=run_uri(rid, "events"))

    @_tool(server, _READ_ONLY)
    async def get_run(run_id: RunId) -> RunView:
        """A run's state, last seq and (once it ended) its terminal event."""
        with client_errors():
            return run_view(await anyio.to_thread.run_sync(system.get, run_id))

    @_tool(server, _READ_ONLY)
    async def list_runs(state: StateFilter = None, limit: ListLimit = 50) -> RunList:
        """Runs the server still retains (finished runs are kept for a retention period), newest first."""
        with client_errors():
            infos = await anyio.to_thread.run_sync(system.runs)
        matched = [run_view(i) for i in reversed(infos) if state is None or i.state == state]
        return RunList(runs=matched[:limit], total=len(matched))

    @_tool(server, _READ_ONLY)
    async def events(run_id: RunId, after_seq: AfterSeq = 0, limit: Limit = 200, wait_s: WaitS = 0.0) -> EventsPage:
        """A run's events after a cursor, in order, gapless; waits on the run (not polling) up to wait_s.

        Call again with after_seq = next_after_seq until done is true. A client that disconnects
        loses nothing: it reconnects and reads on from its cursor.
        """
        with client_errors():
            return await read_events(system, run_id, after_seq, limit, wait_s)

    @_tool(server, _READ_ONLY)
    async def follow(
        run_id: RunId, ctx: Context[Any, Any], after_seq: AfterSeq = 0, max_s: FollowS = 300.0
    ) -> FollowEnd:
        """Stream a run's events as notifications/progress on this request, then return where it stopped.

        Needs a progressToken (an SDK client: call_tool(..., progress_callback=...)). Each
        notification's progress is the seq of its last event and its message holds the events,
        one JSON object per line, in order and gapless: one event as it happens, or all that
        were pending when the client is behind. Returns at the terminal (done) or after max_s;
        then call again with after_seq = next_after_seq. Cancelling this call does not cancel
        the run. The lowest-latency way to stream a run.
        """
        with client_errors():
            return await follow_run(ctx, system, run_id, after_seq, max_s)

    @_tool(server, ToolAnnotations(open_world_hint=True), f"\n\nPipelines: {', '.join(available())}.")
    async def start_and_follow(
        pipeline: PipelineName, ctx: Context[Any, Any], inputs: Inputs = None, max_s: FollowS = 300.0
    ) -> FollowEnd:
        """Start a run and stream its events on this request from the first one, as follow does.

        The first notification holds run.started, which names the run_id. The run does not
        belong to this request: cancelling the call or losing the connection ends only the
        stream; follow on with follow(run_id, after_seq) or the events tool.
        """
        with client_errors():
            check_follow(ctx, 0, max_s)
            func = resolve_pipeline(pipeline)
            handle = system.start(func, prepare_inputs(pipeline, inputs or {}, state.roots), name=pipeline)
        hub.track(handle)
        with client_errors():
            return await stream_run(ctx, system, handle, 0, max_s, "running")

    @_tool(server, ToolAnnotations(destructive_hint=True, idempotent_hint=True, open_world_hint=False))
    async def cancel_run(run_id: RunId, reason: Reason = "cancelled by an MCP client") -> CancelOutcome:
        """Cancel a run and return its terminal event (run.cancelled, or the terminal it already had)."""
        with client_errors():
            handle = system.handle(run_id)
            terminal = await anyio.to_thread.run_sync(handle.cancel, reason)
        return CancelOutcome(run_id=run_id, state=_terminal_state(terminal), terminal=event_json(terminal))


def _terminal_state(terminal: RunEvent) -> RunState:
    if isinstance(terminal, RunCompleted):
        return "completed"
    return "failed" if isinstance(terminal, RunFailed) else "cancelled"


async def _wait(ctx: Context[Any, Any], handle: RunHandle, state: ServerState) -> CallToolResult:
    state.hub.track(handle)
    terminal = await relay_until_terminal(ctx, handle, state.levels)
    outcome = RunOutcome(run_id=handle.run_id, state=_terminal_state(terminal), last_seq=terminal.seq)
    if isinstance(terminal, RunCompleted):
        outcome.result = terminal.result
    elif isinstance(terminal, RunFailed):
        outcome.error = f"{terminal.error_type}: {terminal.message}"
    else:
        outcome.error = f"cancelled: {getattr(terminal, 'reason', '')}"
    return CallToolResult(
        content=[TextContent(type="text", text=outcome.model_dump_json(indent=2))],
        structured_content=outcome.model_dump(mode="json"),
        is_error=outcome.error is not None,
    )
