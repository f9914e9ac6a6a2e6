"""A run's events as a streaming HTTP body: SSE frames (``id:`` = seq) or NDJSON lines.

One ASGI response drives three tasks: a pump that follows the run (``handle.events``) into a
bounded channel, a writer that sends whatever is queued as one chunk (fewer writes under a flood)
or a heartbeat when idle, and a watcher of ``http.disconnect``. The body ends right after the
terminal event. Nothing is a generator yielding inside a task group, so a client that goes away
cancels everything cleanly; ``on_abort`` then runs (the AG-UI endpoint cancels its run there).
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterable, Callable, MutableMapping
from typing import Any

import anyio
import anyio.abc
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream
from starlette.background import BackgroundTask
from starlette.responses import Response

from runwire.protocol import TERMINAL_TYPES, RunEvent, dump_event

__all__ = ["SSE", "NDJSON", "EventStreamResponse", "Encoder", "ndjson_line", "sse_frame"]

Encoder = Callable[[RunEvent], bytes]
SSE = "text/event-stream"
NDJSON = "application/x-ndjson"
_BATCH = 1024  # events per chunk at most: bounds a chunk's size under a flood


def sse_frame(event: RunEvent) -> bytes:
    """One SSE message: ``id:`` is the event's seq, ``data:`` its JSON (one line: JSON is compact)."""
    return b"id: %d\ndata: %s\n\n" % (event.seq, dump_event(event))


def ndjson_line(event: RunEvent) -> bytes:
    return dump_event(event) + b"\n"


class EventStreamResponse(Response):
    """An ASGI response streaming ``events`` through ``encode`` until the terminal (or the client leaves)."""

    def __init__(
        self,
        events: Callable[[], AsyncIterable[RunEvent]],
        encode: Encoder,
        *,
        media_type: str = SSE,
        heartbeat: float = 15.0,
        heartbeat_bytes: bytes = b": keep-alive\n\n",
        head: bytes = b"",
        tail: Callable[[], bytes] | None = None,
        on_abort: Callable[[], Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        if math.isnan(heartbeat) or heartbeat <= 0:
            raise ValueError(f"heartbeat must be > 0 seconds, got {heartbeat}")
        self._events = events
        self._encode = encode
        self._media_type = media_type
        self._heartbeat = heartbeat
        self._ping = heartbeat_bytes
        self._head = head
        self._tail = tail
        self._on_abort = on_abort
        self._extra_headers = headers or {}
        self.status_code = 200
        self.background: BackgroundTask | None = None
        self.ended = False  # the terminal event went out
        self.aborted = False  # the client left before it

    async def __call__(self, scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
        headers = [
            (b"content-type", self._media_type.encode()),
            (b"cache-control", b"no-cache, no-transform"),
            (b"x-accel-buffering", b"no"),  # reverse proxies: do not buffer the stream
            *((k.lower().encode(), v.encode()) for k, v in self._extra_headers.items()),
        ]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        if self._head:
            await send({"type": "http.response.body", "body": self._head, "more_body": True})
        tx, rx = anyio.create_memory_object_stream[RunEvent](max_buffer_size=4 * _BATCH)
        async with anyio.create_task_group() as tg:
            tg.start_soon(self._pump, tx)
            tg.start_soon(self._watch, receive, tg.cancel_scope)
            await self._write(rx, send)
            tg.cancel_scope.cancel()
        if self.aborted and not self.ended:
            if self._on_abort is not None:
                with anyio.CancelScope(shield=True):
                    await anyio.to_thread.run_sync(self._on_abort)
            return
        end = self._tail() if self._tail is not None else b""
        await send({"type": "http.response.body", "body": end, "more_body": False})
        if self.background is not None:
            await self.background()

    async def _pump(self, tx: MemoryObjectSendStream[RunEvent]) -> None:
        async with tx:
            async for event in self._events():
                await tx.send(event)

    async def _watch(self, receive: Any, scope: anyio.CancelScope) -> None:
        while (await receive())["type"] != "http.disconnect":
            pass
        if not self.ended:
            self.aborted = True
        scope.cancel()

    async def _write(self, rx: MemoryObjectReceiveStream[RunEvent], send: Any) -> None:
        encode, ping = self._encode, self._ping
        async with rx:
            while True:
                with anyio.move_on_after(self._heartbeat) as idle:
                    try:
                        first = await rx.receive()
                    except anyio.EndOfStream:
                        return
                if idle.cancelled_caught:
                    await send({"type": "http.response.body", "body": ping, "more_body": True})
                    continue
                batch = [first]
                while len(batch) < _BATCH:
                    try:
                        batch.append(rx.receive_nowait())
                    except (anyio.WouldBlock, anyio.EndOfStream):
                        break
                last = batch[-1].type in TERMINAL_TYPES
                if last:
                    self.ended = True
                body = b"".join([encode(e) for e in batch])
                if body:
                    await send({"type": "http.response.body", "body": body, "more_body": True})
                if last:
                    return
