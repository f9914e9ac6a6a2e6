"""Client-side helpers for the MCP tests: follow a run by cursor, collect change signals."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import anyio
from mcp import Client
from mcp_types import ResourceUpdatedNotification

from runwire.protocol import TERMINAL_TYPES, RunEvent, parse_event


def structured(result: Any) -> dict[str, Any]:
    assert not result.is_error, result.content
    assert isinstance(result.structured_content, dict)
    return result.structured_content


async def follow(client: Client, run_id: str, after_seq: int = 0, limit: int = 200) -> list[dict[str, Any]]:
    """Read a run's events with the events tool, from ``after_seq`` to its terminal."""
    events: list[dict[str, Any]] = []
    cursor = after_seq
    with anyio.fail_after(60):
        while True:
            args = {"run_id": run_id, "after_seq": cursor, "limit": limit, "wait_s": 10}
            page = structured(await client.call_tool("events", args))
            events += page["events"]
            assert page["next_after_seq"] == (page["events"][-1]["seq"] if page["events"] else cursor)
            cursor = page["next_after_seq"]
            if page["done"]:
                return events


def assert_gapless(events: list[dict[str, Any]], after_seq: int = 0) -> None:
    """seq runs after_seq+1, +1, ...; exactly one terminal, and it is last."""
    assert [e["seq"] for e in events] == list(range(after_seq + 1, after_seq + 1 + len(events)))
    terminals = [e for e in events if e["type"] in TERMINAL_TYPES]
    assert len(terminals) == 1
    assert events[-1] is terminals[0]


async def read_events_resource(client: Client, run_id: str, after_seq: int) -> list[RunEvent]:
    result = await client.read_resource(f"runwire://runs/{run_id}/events?after_seq={after_seq}")
    text = getattr(result.contents[0], "text", "")
    return [parse_event(line) for line in text.splitlines()]


class Inbox:
    """What a client's callbacks received: resource-updated signals (both eras) and log entries."""

    def __init__(self) -> None:
        self.send, self.recv = anyio.create_memory_object_stream[str](100_000)
        self.signals = 0
        self.logs: list[Any] = []

    def reset(self) -> None:
        while True:
            try:
                self.recv.receive_nowait()
            except anyio.WouldBlock:
                break
        self.signals = 0
        self.logs.clear()

    async def on_message(self, message: Any) -> None:
        if isinstance(message, ResourceUpdatedNotification):
            self.signals += 1
            self.send.send_nowait(str(message.params.uri))

    async def on_log(self, params: Any) -> None:
        self.logs.append(params.data)


@contextlib.asynccontextmanager
async def subscribed(client: Client, uri: str) -> AsyncIterator[None]:
    """Subscribe the way the negotiated era does it: subscriptions/listen, or resources/subscribe."""
    if client.protocol_version == "2026-07-28":
        async with client.listen(resource_subscriptions=[uri]):
            yield
    else:
        await client.subscribe_resource(uri)
        yield


async def read_on_signals(client: Client, run_id: str, inbox: Inbox) -> list[RunEvent]:
    """Read from cursor 0 until caught up, then again from the cursor on each signal, until the terminal.

    A read returns at most ``limit`` events, so "caught up" means a read that returned nothing.
    """
    events: list[RunEvent] = []
    with anyio.fail_after(60):
        while True:
            page = await read_events_resource(client, run_id, events[-1].seq if events else 0)
            events += page
            if events and events[-1].type in TERMINAL_TYPES:
                return events
            if not page:
                await inbox.recv.receive()
