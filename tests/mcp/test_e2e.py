"""End to end with the SDK's real client, over stdio (a spawned `runwire serve`) and streamable HTTP,
each in both protocol eras (2026-07-28 via mode="auto", 2025-11-25 via mode="legacy")."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import anyio
import pytest

from .conftest import Session
from .mcp_helpers import assert_gapless, follow, read_on_signals, structured, subscribed

pytestmark = pytest.mark.anyio

TOOLS = {
    "llms_txt",
    "run_and_wait",
    "start_run",
    "start_and_follow",
    "get_run",
    "list_runs",
    "events",
    "follow",
    "cancel_run",
}
LONG_DEMO = {"pipeline": "demo", "inputs": {"steps": 100_000, "delay": 0.01}}


async def test_listing_is_spec_clean(session: Session) -> None:
    client, mode = session.client, session.mode
    assert client.protocol_version == ("2026-07-28" if mode == "auto" else "2025-11-25")
    tools = (await client.list_tools()).tools
    assert {t.name for t in tools} == TOOLS
    for tool in tools:
        assert tool.description and len(tool.description) > 20, tool.name
        assert tool.input_schema["type"] == "object"
        assert tool.output_schema is not None, tool.name
        for name, prop in tool.input_schema.get("properties", {}).items():
            assert prop.get("description"), f"{tool.name}.{name} has no description"
    assert [r.uri for r in (await client.list_resources()).resources] == ["runwire://runs"]
    templates = {t.uri_template for t in (await client.list_resource_templates()).resource_templates}
    assert templates == {
        "runwire://runs/{run_id}",
        "runwire://runs/{run_id}/events{?after_seq,limit}",
        "runwire://runs/{run_id}/artifacts/{name}",
    }
    if mode == "legacy":  # ping is gone at 2026-07-28 (the SDK's client refuses it there)
        await client.send_ping()


async def test_blocking_run_reports_progress_and_logs(session: Session) -> None:
    progress: list[tuple[float, float | None, str | None]] = []

    async def on_progress(value: float, total: float | None, message: str | None) -> None:
        progress.append((value, total, message))

    args = {"pipeline": "demo", "inputs": {"steps": 5, "delay": 0.001}}
    out = structured(await session.client.call_tool("run_and_wait", args, progress_callback=on_progress))
    assert out["state"] == "completed"
    assert out["result"]["items"] == 5
    values = [p[0] for p in progress]
    assert values == sorted(set(values)), "progress must increase with every notification"
    assert all(total == 100 for _, total, _ in progress)
    messages = [m or "" for _, _, m in progress]
    assert out["run_id"] in messages[0]
    assert "milestone analysis_started" in messages and "milestone items_analysed" in messages
    assert "artifact summary.txt" in messages
    assert values[-1] == 100
    logs = session.inbox.logs
    assert any(isinstance(entry, dict) and entry.get("milestone") == "items_analysed" for entry in logs)


async def test_llms_txt_writes_files_and_serves_the_artifact(session: Session, root: Path) -> None:
    out_dir = f"out/{uuid.uuid4().hex}"
    seen: list[str | None] = []

    async def on_progress(value: float, total: float | None, message: str | None) -> None:
        seen.append(message)

    client = session.client
    result = await client.call_tool("llms_txt", {"source": "repo", "out": out_dir}, progress_callback=on_progress)
    out = structured(result)
    assert out["state"] == "completed"
    assert out["result"]["name"] == "Tiny"
    assert (root / out_dir / "llms.txt").read_text().startswith("# Tiny")
    assert "milestone repo_fetched" in seen
    art = await client.read_resource(f"runwire://runs/{out['run_id']}/artifacts/llms.txt")
    assert getattr(art.contents[0], "text", "").startswith("# Tiny")
    escaped = await client.call_tool("llms_txt", {"source": "../.."})
    assert escaped.is_error
    assert "outside the allowed roots" in getattr(escaped.content[0], "text", "")


async def test_start_then_follow_events_by_cursor(session: Session) -> None:
    client = session.client
    demo = {"pipeline": "demo", "inputs": {"steps": 20, "delay": 0.002}}
    started = structured(await client.call_tool("start_run", demo))
    run_id = started["run_id"]
    events = await follow(client, run_id, limit=7)
    assert_gapless(events)
    assert events[0]["type"] == "run.started" and events[-1]["type"] == "run.completed"
    info = structured(await client.call_tool("get_run", {"run_id": run_id}))
    assert info["state"] == "completed" and info["last_seq"] == len(events)
    listed = structured(await client.call_tool("list_runs", {"state": "completed", "limit": 500}))
    assert run_id in {r["run_id"] for r in listed["runs"]}
    again = structured(await client.call_tool("events", {"run_id": run_id, "after_seq": len(events)}))
    assert again["events"] == [] and again["done"] is True


async def test_subscription_signals_lead_to_every_event(session: Session) -> None:
    client = session.client
    demo = {"pipeline": "demo", "inputs": {"steps": 30, "delay": 0.003}}
    started = structured(await client.call_tool("start_run", demo))
    async with subscribed(client, started["events_uri"]):
        events = await read_on_signals(client, started["run_id"], session.inbox)
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert events[-1].type == "run.completed"
    assert session.inbox.signals >= 1


async def test_cancel_by_tool(session: Session) -> None:
    client = session.client
    run_id = structured(await client.call_tool("start_run", LONG_DEMO))["run_id"]
    first = structured(await client.call_tool("events", {"run_id": run_id, "wait_s": 10}))
    assert first["events"]
    cancelled = structured(await client.call_tool("cancel_run", {"run_id": run_id, "reason": "test says stop"}))
    assert cancelled["state"] == "cancelled"
    assert cancelled["terminal"] == {**cancelled["terminal"], "type": "run.cancelled", "reason": "test says stop"}
    events = await follow(client, run_id)
    assert_gapless(events)
    assert events[-1] == cancelled["terminal"]
    again = structured(await client.call_tool("cancel_run", {"run_id": run_id, "reason": "twice"}))
    assert again["terminal"] == cancelled["terminal"]  # idempotent: the first terminal stays


async def test_cancelling_the_request_cancels_its_run(session: Session) -> None:
    """stdio and legacy HTTP send notifications/cancelled; 2026-07-28 HTTP closes the request's stream."""
    messages: list[str] = []
    first = anyio.Event()

    async def on_progress(value: float, total: float | None, message: str | None) -> None:
        messages.append(message or "")
        first.set()

    client = session.client
    with anyio.fail_after(30):
        async with anyio.create_task_group() as tg:
            scope = anyio.CancelScope()

            async def call() -> None:
                with scope:
                    await client.call_tool("run_and_wait", LONG_DEMO, progress_callback=on_progress)

            tg.start_soon(call)
            await first.wait()
            scope.cancel()
    match = re.search(r"run ([0-9a-f]{32}) started", messages[0])
    assert match, messages[0]
    events = await follow(client, match.group(1))
    assert_gapless(events)
    assert events[-1]["type"] == "run.cancelled"
    assert "MCP request" in events[-1]["reason"]


async def test_legacy_log_level_is_honoured(session: Session) -> None:
    """logging/setLevel exists only in the 2025-11-25 era; 2026-07-28 clients opt in per request."""
    if session.mode != "legacy":
        pytest.skip("logging/setLevel is not part of 2026-07-28 (the client opts in per request)")
    client, inbox = session.client, session.inbox
    demo = {"pipeline": "demo", "inputs": {"steps": 2, "delay": 0}}
    try:
        await client.set_logging_level("warning")
        structured(await client.call_tool("run_and_wait", demo))
        assert inbox.logs == []  # milestones and artifacts are logged at info
        await client.set_logging_level("info")
        structured(await client.call_tool("run_and_wait", demo))
        assert any(isinstance(e, dict) and e.get("milestone") == "analysis_started" for e in inbox.logs)
    finally:
        await client.set_logging_level("debug")
