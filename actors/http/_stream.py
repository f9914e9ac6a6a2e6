"""A run's events as a streaming HTTP body: SSE frames (``id:`` = seq) or NDJSON lines.

One ASGI response drives three tasks: a pump that follows the run (``handle.events``) into a
bounded queue, a writer that sends whatever is queued as one chunk (one write per batch under a
flood) or a heartbeat when idle, and a watcher of ``http.disconnect``. The body ends right after the
terminal event. Nothing is a generator yielding inside a task group, so a client that goes away
cancels everything cleanly; ``on_abort`` then runs (the AG-UI endpoint cancels its run there).
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterable, Callable, MutableMapping
from typing import Any

import anyio
from starlette.background import BackgroundTask
from starlette.responses import Response

from runwire.protocol import TERMINAL_TYPES, RunEvent, dump_event

__all__ = ["SSE", "NDJSON", "EventStreamResponse", "Encoder", "ndjson_line", "sse_frame"]

Encoder = Callable[[RunEvent], bytes]
SSE = "text/event-stream"
NDJSON = "application/x-ndjson"
_HIGH_WATER = 4096  # events queued for the writer before the pump waits (then the run's sink applies its policy)


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
        queue = _Queue()
        async with anyio.create_task_group() as tg:
            tg.start_soon(self._pump, queue)
            tg.start_soon(self._watch, receive, tg.cancel_scope)
            await self._write(queue, send)
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

    async def _pump(self, queue: _Queue) -> None:
        # No await per event: the stream hands out a batch the bus pushed without suspending, so a
        # whole batch lands here in one go and the writer is woken once. (A checkpoint per event
        # cost an event-loop turn each, and every turn a GIL hand-off: 1,500 events/s under a flood.)
        try:
            async for event in self._events():
                queue.items.append(event)
                queue.wake()
                if len(queue.items) >= _HIGH_WATER:
                    queue.space = anyio.Event()
                    await queue.space.wait()
        finally:
            queue.done = True
            queue.wake()

    async def _watch(self, receive: Any, scope: anyio.CancelScope) -> None:
        while (await receive())["type"] != "http.disconnect":
            pass
        if not self.ended:
            self.aborted = True
        scope.cancel()

    async def _write(self, queue: _Queue, send: Any) -> None:
        encode, ping = self._encode, self._ping
        while True:
            if not queue.items and not queue.done:
                queue.ready = anyio.Event()
                with anyio.move_on_after(self._heartbeat):
                    await queue.ready.wait()
                if not queue.items and not queue.done:  # idle for a heartbeat interval
                    await send({"type": "http.response.body", "body": ping, "more_body": True})
                    continue
            batch, queue.items = queue.items, []
            queue.space.set()
            if not batch:
                return  # the stream ended (done) with nothing left
            last = batch[-1].type in TERMINAL_TYPES
            if last:
                self.ended = True
            body = b"".join([encode(e) for e in batch])
            if body:
                await send({"type": "http.response.body", "body": body, "more_body": True})
            if last:
                return


class _Queue:
    """Events between the pump and the writer (one event loop: no lock)."""

    __slots__ = ("done", "items", "ready", "space")

    def __init__(self) -> None:
        self.items: list[RunEvent] = []
        self.done = False
        self.ready: anyio.Event | None = None
        self.space = anyio.Event()

    def wake(self) -> None:
        if self.ready is not None:
            self.ready.set()
            self.ready = None
