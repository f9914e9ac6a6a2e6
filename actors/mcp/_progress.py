"""Relay a run's events to the MCP request that waits for it: progress and log notifications.

A blocking tool's only live channel is its own request: ``notifications/progress`` (when the
client sent a progressToken) and ``notifications/message``. The spec wants progress values to
increase with every notification, so progress is the run's fraction scaled to 0..99 (100 is kept
for the terminal), nudged up by a hundredth when a milestone or artifact arrives without new
progress; the message names what happened.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import anyio
import anyio.to_thread
from mcp.server.mcpserver import Context
from mcp.shared.exceptions import MCPDeprecationWarning
from mcp_types import LoggingLevel

from runwire.actors import RunHandle
from runwire.protocol import (
    TERMINAL_TYPES,
    Artifact,
    RunCancelled,
    RunCompleted,
    RunEvent,
    RunFailed,
    RunLog,
    RunMilestone,
    RunProgress,
    RunStarted,
)

from ._protocol import LogLevels

__all__ = ["ProgressRelay", "relay_until_terminal"]

TOTAL = 100.0
_SCALE = 99.0  # the pipeline's fraction 1.0; TOTAL is reached only by the terminal
_STEP = 0.01
_LEVELS: dict[str, LoggingLevel] = {"debug": "debug", "info": "info", "warning": "warning", "error": "error"}


class ProgressRelay:
    """Turns run events into notifications on one request; never raises on a closed client."""

    def __init__(self, ctx: Context[Any, Any], run_id: str, log_allowed: Callable[[LoggingLevel], bool]) -> None:
        self._ctx = ctx
        self._run_id = run_id
        self._log_allowed = log_allowed
        self._last = -1.0
        self.sent = 0

    async def relay(self, event: RunEvent) -> None:
        match event:
            case RunStarted():
                await self._progress(0.0, f"run {self._run_id} started ({event.pipeline})")
            case RunProgress(fraction=fraction, message=message) if fraction is not None:
                await self._progress(fraction * _SCALE, message or f"{fraction:.0%}")
            case RunMilestone(name=name, data=data):
                await self._progress(self._last, f"milestone {name}")
                await self._log("info", {"milestone": name, "data": data, "seq": event.seq})
            case Artifact(artifact_id=artifact_id, path=path, size=size):
                await self._progress(self._last, f"artifact {artifact_id}")
                await self._log("info", {"artifact": artifact_id, "path": path, "size": size, "seq": event.seq})
            case RunLog(level=level, message=message):
                await self._log(_LEVELS.get(level, "info"), message)
            case RunCompleted():
                await self._progress(TOTAL, f"run {self._run_id} completed", final=True)
            case RunFailed(error_type=error_type, message=message):
                await self._log("error", f"run {self._run_id} failed: {error_type}: {message}")
            case RunCancelled(reason=reason):
                await self._log("warning", f"run {self._run_id} cancelled: {reason}")
            case _:
                pass

    async def _progress(self, value: float, message: str, *, final: bool = False) -> None:
        value = round(max(value, self._last + _STEP), 2)
        if value > TOTAL or value <= self._last or (value >= TOTAL and not final):  # no room left below TOTAL
            return
        self._last = value
        self.sent += 1
        await self._ctx.report_progress(value, TOTAL, message)

    async def _log(self, level: LoggingLevel, data: Any) -> None:
        if not self._log_allowed(level):
            return
        with warnings.catch_warnings():  # logging is deprecated at 2026-07-28 but still what clients show
            warnings.simplefilter("ignore", MCPDeprecationWarning)
            pending = self._ctx.session.send_log_message(
                level, data, logger="runwire", related_request_id=self._ctx.request_id
            )
        await pending


async def relay_until_terminal(ctx: Context[Any, Any], handle: RunHandle, levels: LogLevels) -> RunEvent:
    """Relay ``handle``'s events to this request until its terminal; if the request ends first, cancel the run."""
    relay = ProgressRelay(ctx, handle.run_id, lambda level: levels.allows(ctx.session, ctx.protocol_version, level))
    terminal: RunEvent | None = None
    try:
        async for event in handle.events():
            await relay.relay(event)
            if event.type in TERMINAL_TYPES:
                terminal = event
    finally:
        if terminal is None:  # the request was cancelled or its client went away: so is the run
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(handle.cancel, "the MCP request that waited for it was cancelled")
    if terminal is None:  # pragma: no cover - an event stream always ends with the terminal
        raise RuntimeError(f"run {handle.run_id} ended without a terminal event")
    return terminal
