"""`runwire serve` as a user runs it: help without the SDK loaded, a one-line error without the
extra, a warning when HTTP leaves loopback without a token, and `python -m runwire.actors.mcp`."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from mcp import Client, StdioServerParameters

from .conftest import RUNWIRE
from .mcp_helpers import structured


def _modules_after(code: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", f"{code}; import sys, json; print(json.dumps(sorted(sys.modules)))"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return {m.split(".")[0] for m in json.loads(out.stdout)}


def test_importing_the_facade_does_not_import_the_sdk() -> None:
    assert "mcp" not in _modules_after("import runwire.actors, runwire.actors.mcp, runwire.actors.cli._serve")


def test_help_lists_the_options() -> None:
    out = subprocess.run([RUNWIRE, "serve", "--help"], capture_output=True, text=True, timeout=60, check=False)
    assert out.returncode == 0
    for option in ("--http", "--host", "--port", "--token", "--root", "RUNWIRE_TOKEN"):
        assert option in out.stdout


def test_missing_sdk_is_a_one_line_error_naming_the_extra() -> None:
    code = (
        "import sys; sys.modules['mcp'] = None; sys.argv = ['runwire', 'serve']; "
        "from runwire.actors.cli import main; main()"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False)
    assert out.returncode == 2
    assert out.stderr.strip().count("\n") == 0
    assert "'mcp' extra" in out.stderr and "pip install 'runwire[mcp]'" in out.stderr


def test_bad_root_is_a_clear_error(tmp_path: Path) -> None:
    out = subprocess.run(
        [RUNWIRE, "serve", "--root", str(tmp_path / "missing")], capture_output=True, text=True, timeout=60, check=False
    )
    assert out.returncode == 2
    assert "is not a directory" in out.stderr and "Traceback" not in out.stderr


def _free_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


@pytest.mark.anyio
async def test_http_off_loopback_names_warns_without_a_token_and_serves(tmp_path: Path) -> None:
    host = "127.0.0.2"  # loopback, but not a name the SDK treats as local: runwire still checks Host
    port = _free_port(host)
    args = ["serve", "--http", "--host", host, "--port", str(port), "--root", str(tmp_path)]
    args += ["--data-dir", str(tmp_path / "data")]  # a store of its own: list_runs starts empty
    proc = subprocess.Popen(
        [RUNWIRE, *args],
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert proc.stderr is not None
        lines = [proc.stderr.readline()]
        while "serving MCP" not in lines[-1] and lines[-1]:  # the server says so once it listens
            lines.append(proc.stderr.readline())
        assert any("WARNING" in line and "without a token" in line for line in lines), lines
        async with Client(f"http://{host}:{port}/mcp") as client:
            out = structured(await client.call_tool("list_runs", {}))
        assert out["runs"] == []
    finally:
        proc.terminate()
        proc.wait(15)


@pytest.mark.anyio
async def test_python_dash_m_serves_stdio(tmp_path: Path) -> None:
    params = StdioServerParameters(command=sys.executable, args=["-m", "runwire.actors.mcp", "--root", str(tmp_path)])
    async with Client(params, mode="legacy") as client:
        assert {t.name for t in (await client.list_tools()).tools} >= {"start_run", "events"}
