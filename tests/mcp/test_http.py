"""Streamable HTTP only: coalesced signals lose nothing, runs outlive connections, auth and Host/Origin checks."""

from __future__ import annotations

import uuid
from typing import Any

import anyio
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from .conftest import GATE, MODES, TOKEN
from .mcp_helpers import Inbox, assert_gapless, follow, read_on_signals, structured, subscribed

pytestmark = pytest.mark.anyio

BURST = 3000


@pytest.mark.parametrize("mode", MODES)
async def test_burst_is_coalesced_into_few_signals_and_nothing_is_lost(http_url: str, mode: str) -> None:
    """A run emits BURST events as fast as it can while a client is subscribed: far fewer signals
    than events reach the client, and re-reading from its cursor on each one yields every event."""
    inbox = Inbox()
    gate = uuid.uuid4().hex
    async with Client(http_url, mode=mode, message_handler=inbox.on_message) as client:
        started = structured(
            await client.call_tool("start_run", {"pipeline": "burst", "inputs": {"n": BURST, "gate": gate}})
        )
        async with subscribed(client, started["events_uri"]):
            GATE.event(gate).set()  # the subscription is in place: let the burst go
            events = await read_on_signals(client, started["run_id"], inbox)
    assert [e.seq for e in events] == list(range(1, BURST + 3))  # started, BURST progress, completed
    assert events[-1].type == "run.completed"
    assert 1 <= inbox.signals < BURST // 10, f"{inbox.signals} signals for {BURST + 2} events"


@pytest.mark.parametrize("mode", MODES)
async def test_run_outlives_the_connection_and_resumes_from_the_cursor(http_url: str, mode: str) -> None:
    async with Client(http_url, mode=mode) as first:
        demo = {"pipeline": "demo", "inputs": {"steps": 40, "delay": 0.005}}
        run_id = structured(await first.call_tool("start_run", demo))["run_id"]
        page = structured(await first.call_tool("events", {"run_id": run_id, "limit": 3, "wait_s": 10}))
        before = page["events"]
        cursor = page["next_after_seq"]
    assert before and not page["done"]
    async with Client(http_url, mode=mode) as second:  # a new connection (a new session in legacy mode)
        after = await follow(second, run_id, after_seq=cursor)
    assert_gapless(before + after)
    assert after[-1]["type"] == "run.completed"


@pytest.mark.parametrize("mode", MODES)
async def test_bearer_token_is_required_and_accepted(token_url: str, mode: str) -> None:
    with pytest.raises(Exception):  # noqa: B017,PT011 - the client surfaces the 401 in its own way per era
        async with Client(token_url, mode=mode) as client:
            await client.list_tools()
    headers = {"Authorization": f"Bearer {TOKEN}"}
    transport = streamable_http_client(token_url, http_client=httpx2.AsyncClient(headers=headers))
    async with Client(transport, mode=mode) as client:
        out = structured(await client.call_tool("list_runs", {"limit": 1}))
    assert "runs" in out


def _post(url: str, headers: dict[str, str]) -> httpx2.Response:
    body = b'{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25",'
    body += b'"capabilities":{},"clientInfo":{"name":"t","version":"0"}}}'
    base = {"accept": "application/json, text/event-stream", "content-type": "application/json"}
    with httpx2.Client(timeout=10) as http:
        return http.post(url, content=body, headers={**base, **headers})


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({"origin": "http://evil.example"}, 403),
        ({"origin": "null"}, 403),
        ({"host": "evil.example"}, 421),
        ({"host": "127.0.0.1.evil.example:80"}, 421),
        ({}, 200),
        ({"origin": "http://localhost:1234"}, 200),
    ],
)
def test_host_and_origin_are_checked(http_url: str, headers: dict[str, str], status: int) -> None:
    response = _post(http_url, headers)
    assert response.status_code == status, response.text


@pytest.mark.parametrize(
    "authorization", [None, "Bearer wrong", f"Basic {TOKEN}", "Bearer", f"Bearer {TOKEN}x", f"bearer {TOKEN[:-1]}"]
)
def test_bad_tokens_get_401(token_url: str, authorization: str | None) -> None:
    response = _post(token_url, {} if authorization is None else {"authorization": authorization})
    assert response.status_code == 401
    assert "Traceback" not in response.text


async def test_blocking_tool_run_survives_nothing_but_started_runs_survive_everything(http_url: str) -> None:
    """Closing the connection cancels the blocking tool's run (its request died) but not a start_run run."""
    messages: list[str] = []
    first = anyio.Event()

    async def on_progress(value: float, total: float | None, message: str | None) -> None:
        messages.append(message or "")
        first.set()

    long_demo: dict[str, Any] = {"pipeline": "demo", "inputs": {"steps": 100_000, "delay": 0.01}}
    with anyio.fail_after(30):
        async with Client(http_url, mode="legacy") as client:
            kept = structured(await client.call_tool("start_run", long_demo))["run_id"]
            async with anyio.create_task_group() as tg:
                tg.start_soon(lambda: client.call_tool("run_and_wait", long_demo, progress_callback=on_progress))
                await first.wait()
                tg.cancel_scope.cancel()  # leave while the blocking call is open, then close the session
    blocked = messages[0].split()[1]
    async with Client(http_url) as client:
        assert (await follow(client, blocked))[-1]["type"] == "run.cancelled"
        info = structured(await client.call_tool("get_run", {"run_id": kept}))
        assert info["state"] == "running"
        structured(await client.call_tool("cancel_run", {"run_id": kept}))
