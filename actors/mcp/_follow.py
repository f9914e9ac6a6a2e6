"""Stream a run's events to one MCP request as progress notifications: no request per page.

A tool result does not stream, but a request that stays open carries notifications on its own
response stream (the POST's SSE response over HTTP, the pipe on stdio). ``follow`` keeps its
request open and sends every event past the cursor as ``notifications/progress``: ``progress`` is
the seq of the last event it carries (it increases with every notification, as the spec wants),
``message`` is the events as JSON lines — one event when they come one by one, everything that
is pending in one notification when the client or the transport is behind (a flood). The call
returns at the terminal, or after ``max_s`` with the cursor to follow on from.

The run does not belong to the request: cancelling ``follow`` or dropping the connection only
ends the stream. Nothing here imports mcp's server internals beyond ``Context``.
"""

from __future__ import annotations

import math
from typing import Any

import anyio
import anyio.to_thread
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError

from runwire.actors import RunHandle, RunSystem
from runwire.protocol import TERMINAL_STATE_OF, TERMINAL_TYPES, RunEvent, RunState, dump_event

from ._views import FollowEnd

__all__ = ["MAX_BATCH", "MAX_FOLLOW_S", "check_follow", "follow_run", "has_progress_token", "stream_run"]

MAX_FOLLOW_S = 3600.0
MAX_BATCH = 1000  # events per notification at most (a page of the events tool holds as many)
_QUEUE = 10_000  # events read off the bus but not sent yet; past it the subscription's own policy applies


def has_progress_token(ctx: Context[Any, Any]) -> bool:
    meta = ctx.request_context.meta or {}
    return meta.get("progress_token", meta.get("progressToken")) is not None


def check_follow(ctx: Context[Any, Any], after_seq: int, max_s: float) -> None:
    """Refuse a follow that could not stream: bad bounds, or no progressToken to send notifications for."""
    if after_seq < 0 or math.isnan(max_s) or not 0 < max_s <= MAX_FOLLOW_S:
        raise ToolError(f"after_seq must be >= 0 and max_s within 0..{MAX_FOLLOW_S:g} (exclusive of 0)")
    if not has_progress_token(ctx):
        raise ToolError("follow streams events as notifications/progress: send a progressToken (progress_callback)")


async def follow_run(ctx: Context[Any, Any], system: RunSystem, run_id: str, after_seq: int, max_s: float) -> FollowEnd:
    """Send ``run_id``'s events with ``seq > after_seq`` as progress notifications, to the terminal or ``max_s``."""
    check_follow(ctx, after_seq, max_s)
    handle = system.handle(run_id)  # an unknown or expired run raises here: the tool's client_errors maps it
    info = await anyio.to_thread.run_sync(system.get, run_id)
    if info.terminal is not None and info.last_seq <= after_seq:
        return FollowEnd(run_id=run_id, next_after_seq=after_seq, done=True, state=info.state, sent=0)
    return await stream_run(ctx, system, handle, after_seq, max_s, info.state)


async def stream_run(
    ctx: Context[Any, Any], system: RunSystem, handle: RunHandle, after_seq: int, max_s: float, state: RunState
) -> FollowEnd:
    """The stream itself (the checks done): one subscription, pending events batched per notification."""
    run_id = handle.run_id
    cursor, done, sent = after_seq, False, 0
    send, receive = anyio.create_memory_object_stream[RunEvent](_QUEUE)
    failed: list[Exception] = []

    async def pump() -> None:
        async with send:
            try:
                async for event in handle.events(after_seq):
                    try:  # no checkpoint per event: what the bus delivered at once is sent as one batch
                        send.send_nowait(event)
                    except anyio.WouldBlock:
                        await send.send(event)
            except Exception as exc:  # e.g. the run expired meanwhile: the tool's error, not a task group's
                failed.append(exc)

    with anyio.move_on_after(max_s):
        async with anyio.create_task_group() as tg:
            tg.start_soon(pump)
            async with receive:
                async for first in receive:
                    batch = [first]
                    while len(batch) < MAX_BATCH:  # everything already pending goes in this notification
                        try:
                            batch.append(receive.receive_nowait())
                        except (anyio.WouldBlock, anyio.EndOfStream):
                            break
                    message = "\n".join(dump_event(event).decode() for event in batch)
                    await ctx.report_progress(batch[-1].seq, None, message)
                    cursor, sent = batch[-1].seq, sent + len(batch)
                    if batch[-1].type in TERMINAL_TYPES:
                        done, state = True, TERMINAL_STATE_OF[batch[-1].type]
                        break
            tg.cancel_scope.cancel()
    if failed:
        raise failed[0]
    if not done:  # max_s passed: the run goes on; so does the client, from the cursor
        state = (await anyio.to_thread.run_sync(system.get, run_id)).state
    return FollowEnd(run_id=run_id, next_after_seq=cursor, done=done, state=state, sent=sent)
