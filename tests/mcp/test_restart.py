"""A run outlives its server: after a restart on the same store, a client reads on from its cursor."""

from __future__ import annotations

from pathlib import Path

import pytest
from mcp import Client

from runwire.actors import RunSystem
from runwire.actors.mcp import HTTPServerThread, build_server, http_app

from .conftest import MODES
from .mcp_helpers import assert_gapless, follow, structured

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize("mode", MODES)
async def test_resume_from_the_cursor_after_a_server_restart(tmp_path: Path, root: Path, mode: str) -> None:
    db = tmp_path / "runs.sqlite3"
    demo = {"pipeline": "demo", "inputs": {"steps": 5, "delay": 0.0}}
    with RunSystem(store=db) as system, HTTPServerThread(http_app(build_server(system, [root]))) as server:
        async with Client(server.url, mode=mode) as client:
            run_id = structured(await client.call_tool("start_run", demo))["run_id"]
            page = structured(await client.call_tool("events", {"run_id": run_id, "limit": 4, "wait_s": 10}))
            before, cursor = page["events"], page["next_after_seq"]
            assert structured(await client.call_tool("cancel_run", {"run_id": run_id}))  # ends, whatever its state
    # a new process would see the same: a new RunSystem and server over the same store file
    with RunSystem(store=db) as system, HTTPServerThread(http_app(build_server(system, [root]))) as server:
        async with Client(server.url, mode=mode) as client:
            after = await follow(client, run_id, after_seq=cursor)
            info = structured(await client.call_tool("get_run", {"run_id": run_id}))
    assert_gapless(before + after)
    assert after[-1]["type"] in ("run.completed", "run.cancelled")
    assert info["state"] in ("completed", "cancelled")
