"""runwire.actors.serving: the one server piece the HTTP API and MCP share (real uvicorn, real sockets)."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import httpx
import pytest

from runwire.actors import http, mcp
from runwire.actors.serving import LOOPBACK, ServerThread, host_patterns, serve, warn_if_exposed


async def _hello(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while (await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})
        return
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": scope["path"].encode()})


def test_a_server_thread_answers_at_once_and_frees_its_port_on_stop() -> None:
    with ServerThread(_hello, path="/mcp", lifespan="on") as server:
        assert server.url == f"http://127.0.0.1:{server.port}/mcp"
        reply = httpx.get(server.url, timeout=10)  # no startup wait: the socket listened before the thread
        assert reply.text == "/mcp"
    with pytest.raises(httpx.ConnectError):
        httpx.get(server.url, timeout=10)


def test_the_http_api_and_mcp_serve_through_the_same_piece() -> None:
    assert http.ServerThread is ServerThread
    assert http.serve is serve
    with mcp.HTTPServerThread(_hello) as server:  # the kept public name builds the shared thread
        assert isinstance(server, ServerThread)
        assert server.url.endswith("/mcp")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"host": ""}, "host must be a non-empty string"),
        ({"port": 70000}, "port must be an int from 0 to 65535"),
        ({"port": True}, "port must be an int from 0 to 65535"),
        ({"lifespan": "maybe"}, "lifespan must be 'auto', 'on' or 'off'"),
        ({"path": "mcp"}, "path must be empty or start with '/'"),
    ],
)
def test_server_arguments_are_checked_with_a_one_line_error(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ServerThread(_hello, **kwargs)


def test_host_patterns_allow_loopback_the_bind_name_and_the_extras() -> None:
    assert set(host_patterns("127.0.0.1")) == {"127.0.0.1:*", "localhost:*", "[::1]:*"}
    assert "box.lan:*" in host_patterns("box.lan")
    assert "[fe80::1]:*" in host_patterns("fe80::1")
    assert host_patterns("0.0.0.0", ["api.example:*"])[-1] == "api.example:*"
    assert "0.0.0.0:*" not in host_patterns("0.0.0.0")
    assert "localhost" in LOOPBACK


def test_an_exposed_server_without_a_token_warns_the_operator(capsys: pytest.CaptureFixture[str]) -> None:
    warn_if_exposed("127.0.0.1", None, [])
    assert capsys.readouterr().err == ""
    warn_if_exposed("0.0.0.0", None, [])
    err = capsys.readouterr().err
    assert "WARNING: serving on 0.0.0.0 without a token" in err
    assert "--allowed-host" in err
    warn_if_exposed("0.0.0.0", "tok", ["box:*"])
    assert capsys.readouterr().err == ""


def test_importing_serving_loads_no_web_stack() -> None:
    code = "import sys, runwire.actors.serving; print(any(m.split('.')[0] == 'uvicorn' for m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.strip() == "False"
