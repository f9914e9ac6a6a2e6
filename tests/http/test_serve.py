"""``runwire serve --http``: the REST API and the dashboard beside /mcp on one port, one RunSystem."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from httpx_sse import connect_sse

pytest.importorskip("mcp")

RUNWIRE = shutil.which("runwire") or os.path.join(os.path.dirname(sys.executable), "runwire")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_serve_http_serves_the_api_and_dashboard_beside_mcp_with_the_same_token(tmp_path: Path) -> None:
    port = _free_port()
    args = [RUNWIRE, "serve", "--http", "--port", str(port), "--root", str(tmp_path), "--token", "tok"]
    proc = subprocess.Popen(
        [*args, "--data-dir", str(tmp_path / "data")], stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True
    )
    try:
        assert proc.stderr is not None
        lines = [proc.stderr.readline()]
        while "dashboard" not in lines[-1] and lines[-1]:  # the server says so once it listens
            lines.append(proc.stderr.readline())
        assert any("serving MCP" in line for line in lines), lines
        base = f"http://127.0.0.1:{port}"
        auth = {"Authorization": "Bearer tok"}
        with httpx.Client(base_url=base, timeout=10) as c:
            assert c.get("/api/runs").status_code == 401
            assert c.post("/mcp", json={}).status_code == 401  # the same token guards MCP
            assert c.get("/", headers=auth).status_code == 200
            r = c.post("/api/runs", json={"pipeline": "demo", "inputs": {"steps": 3, "delay": 0}}, headers=auth)
            assert r.status_code == 201, r.text
            with connect_sse(c, "GET", r.json()["events_url"], headers=auth) as source:
                types = [json.loads(s.data)["type"] for s in source.iter_sse()]
            assert types[-1] == "run.completed"
            # llms-txt paths are confined to --root, as over MCP
            outside = c.post("/api/runs", json={"pipeline": "llms-txt", "inputs": {"source": "/etc"}}, headers=auth)
            assert outside.status_code == 400, outside.text
            assert c.get("/api/runs", headers={**auth, "Host": "evil.example"}).status_code == 421
    finally:
        proc.terminate()
        proc.wait(15)
