"""Malformed and hostile requests over streamable HTTP: each gets a clean JSON-RPC error (or a tool
error result) or an HTTP 4xx — never a 5xx, a traceback or a dead server — and the server still works."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import httpx2
import pytest
from mcp import Client

from .conftest import TOKEN
from .mcp_helpers import follow, structured

CANCEL_UNKNOWN = b'{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":999}}'
MODERN = "2026-07-28"
LEGACY = "2025-11-25"
BASE = {"accept": "application/json, text/event-stream", "content-type": "application/json"}
ENVELOPE = {
    "io.modelcontextprotocol/protocolVersion": MODERN,
    "io.modelcontextprotocol/clientInfo": {"name": "hostile", "version": "0"},
    "io.modelcontextprotocol/clientCapabilities": {},
}


def modern(method: str, params: Any = None, *, id_: Any = 1, name: str | None = None) -> tuple[dict[str, str], bytes]:
    """A 2026-07-28 request: the per-request envelope in params._meta and the routing headers."""
    if params is None:
        params = {}
    if isinstance(params, dict):
        params = {**params, "_meta": ENVELOPE}
    headers = {**BASE, "mcp-protocol-version": MODERN, "mcp-method": method}
    if name is not None:
        headers["mcp-name"] = name
    body = {"jsonrpc": "2.0", "id": id_, "method": method, "params": params}
    return headers, json.dumps(body).encode()


def tool(name: str, arguments: Any) -> tuple[dict[str, str], bytes]:
    return modern("tools/call", {"name": name, "arguments": arguments}, name=name)


def read(uri: str) -> tuple[dict[str, str], bytes]:
    return modern("resources/read", {"uri": uri})


def messages(response: httpx2.Response) -> list[dict[str, Any]]:
    """The JSON-RPC messages in a response body (plain JSON or an SSE stream)."""
    text = response.text
    if response.headers.get("content-type", "").startswith("text/event-stream"):
        found = [json.loads(line[5:]) for line in text.splitlines() if line.startswith("data:") and line[5:].strip()]
        return [m for m in found if isinstance(m, dict)]
    try:
        parsed = json.loads(text)
    except ValueError:
        return []
    return parsed if isinstance(parsed, list) else [parsed]


def assert_clean(label: str, response: httpx2.Response) -> str:
    """A 4xx, a JSON-RPC error, a tool error result, or an accepted notification; never a crash."""
    assert response.status_code < 500, f"{label}: HTTP {response.status_code} {response.text[:300]}"
    leaked = "Traceback (most recent call last)" in response.text or 'File "/' in response.text
    assert not leaked, f"{label}: leaked a traceback"
    replies = [m for m in messages(response) if m.get("jsonrpc") == "2.0" and ("result" in m or "error" in m)]
    if replies and "error" in replies[-1]:
        error = replies[-1]["error"]
        assert isinstance(error.get("code"), int) and isinstance(error.get("message"), str), f"{label}: {error}"
        return f"error {error['code']}"
    if 400 <= response.status_code < 500 or response.status_code == 202:
        return f"http {response.status_code}"
    assert replies, f"{label}: HTTP {response.status_code} without a JSON-RPC reply: {response.text[:300]}"
    result = replies[-1]["result"]
    assert result.get("isError") is True, f"{label}: expected an error, got {json.dumps(result)[:300]}"
    return "tool error"


@pytest.fixture(scope="module")
def legacy_session(http_url: str) -> str:
    """A 2025-11-25 session (initialize + initialized) to aim session-scoped junk at."""
    init = {"protocolVersion": LEGACY, "capabilities": {}, "clientInfo": {"name": "hostile", "version": "0"}}
    with httpx2.Client(timeout=10) as http:
        response = http.post(
            http_url, json={"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": init}, headers=BASE
        )
        session = response.headers["mcp-session-id"]
        headers = {**BASE, "mcp-session-id": session, "mcp-protocol-version": LEGACY}
        http.post(http_url, json={"jsonrpc": "2.0", "method": "notifications/initialized"}, headers=headers)
    return session


def hostile_requests(root: Path, session: str, finished_run: str) -> list[tuple[str, str, dict[str, str], bytes]]:
    """(label, HTTP method, headers, body): at least 50 ways to get it wrong."""
    out = root.parent / "outside"
    out.mkdir(exist_ok=True)
    link = root / "escape-link"
    if not link.exists():
        os.symlink(out, link)
    legacy = {**BASE, "mcp-session-id": session, "mcp-protocol-version": LEGACY}

    def legacy_call(method: str, params: Any) -> bytes:
        return json.dumps({"jsonrpc": "2.0", "id": 7, "method": method, "params": params}).encode()

    huge = "x" * 1_000_000
    headers, body = modern("tools/list")
    bogus_envelope = (headers, body.replace(MODERN.encode(), b"1999-01-01"))
    cases: list[tuple[str, str, dict[str, str], bytes]] = [
        ("bad json", "POST", BASE, b'{"jsonrpc": "2.0", "id": 1, "method":'),
        ("empty body", "POST", BASE, b""),
        ("json null", "POST", BASE, b"null"),
        ("empty batch", "POST", BASE, b"[]"),
        ("junk batch", "POST", BASE, b"[1, 2, 3]"),
        ("json string", "POST", BASE, b'"hello"'),
        ("jsonrpc 1.0", "POST", BASE, b'{"jsonrpc": "1.0", "id": 1, "method": "tools/list"}'),
        ("no jsonrpc field", "POST", BASE, b'{"id": 1, "method": "tools/list"}'),
        ("object id", "POST", BASE, b'{"jsonrpc": "2.0", "id": {"a": 1}, "method": "tools/list"}'),
        ("no method", "POST", BASE, b'{"jsonrpc": "2.0", "id": 1}'),
        ("numeric method", "POST", BASE, b'{"jsonrpc": "2.0", "id": 1, "method": 42}'),
        ("invalid utf-8", "POST", BASE, b'{"jsonrpc": "2.0", "id": 1, "method": "\xff\xfe"}'),
        ("deep nesting", "POST", BASE, b"[" * 50_000 + b"]" * 50_000),
        ("text/plain", "POST", {**BASE, "content-type": "text/plain"}, b'{"jsonrpc":"2.0","id":1,"method":"ping"}'),
        ("no accept", "POST", {"content-type": "application/json"}, b'{"jsonrpc":"2.0","id":1,"method":"ping"}'),
        ("GET without session", "GET", {"accept": "text/event-stream"}, b""),
        ("DELETE without session", "DELETE", {}, b""),
        ("PUT", "PUT", BASE, b"{}"),
        ("unknown session", "POST", {**legacy, "mcp-session-id": "nope"}, legacy_call("tools/list", {})),
        ("huge session id", "POST", {**legacy, "mcp-session-id": "s" * 8000}, legacy_call("tools/list", {})),
        ("foreign origin", "POST", {**BASE, "origin": "http://evil.example"}, b"{}"),
        ("foreign host", "POST", {**BASE, "host": "evil.example"}, b"{}"),
        ("body over 4 MiB", "POST", BASE, b'{"x": "' + b"a" * (5 * 1024 * 1024) + b'"}'),
        ("unknown protocol version", "POST", {**BASE, "mcp-protocol-version": "1999-01-01"}, b"{}"),
        ("bogus envelope version", "POST", *bogus_envelope),
        ("unknown tool", "POST", *tool("no_such_tool", {})),
        ("run_id wrong type", "POST", *tool("get_run", {"run_id": 123})),
        ("run_id missing", "POST", *tool("get_run", {})),
        ("unknown run", "POST", *tool("get_run", {"run_id": "does-not-exist"})),
        ("huge run_id", "POST", *tool("get_run", {"run_id": huge})),
        ("negative cursor", "POST", *tool("events", {"run_id": finished_run, "after_seq": -1})),
        ("wait_s too long", "POST", *tool("events", {"run_id": finished_run, "wait_s": 1e9})),
        ("wait_s nan", "POST", *tool("events", {"run_id": finished_run, "wait_s": "nan"})),
        ("limit zero", "POST", *tool("events", {"run_id": finished_run, "limit": 0})),
        ("events unknown run", "POST", *tool("events", {"run_id": "ghost", "wait_s": 1})),
        ("cancel unknown run", "POST", *tool("cancel_run", {"run_id": "ghost"})),
        ("huge reason", "POST", *tool("cancel_run", {"run_id": finished_run, "reason": huge})),
        ("unknown pipeline", "POST", *tool("start_run", {"pipeline": "rm -rf /"})),
        ("inputs not an object", "POST", *tool("start_run", {"pipeline": "demo", "inputs": [1, 2]})),
        ("dotdot escape", "POST", *tool("start_run", {"pipeline": "llms-txt", "inputs": {"source": "../../.."}})),
        ("absolute path elsewhere", "POST", *tool("llms_txt", {"source": "/etc"})),
        ("symlink out of root", "POST", *tool("llms_txt", {"source": "escape-link"})),
        ("file url elsewhere", "POST", *tool("llms_txt", {"source": "file:///etc"})),
        ("out escapes", "POST", *tool("llms_txt", {"source": ".", "out": "/tmp/../etc"})),
        ("NUL in path", "POST", *tool("llms_txt", {"source": "repo\x00/etc"})),
        ("option as git host", "POST", *tool("llms_txt", {"source": "ssh://-oProxyCommand=touch%20/tmp/x/r"})),
        ("too many excludes", "POST", *tool("llms_txt", {"source": "repo", "exclude": ["*"] * 10_000})),
        ("arguments as string", "POST", *modern("tools/call", {"name": "get_run", "arguments": "run_id=x"})),
        ("params as array", "POST", *modern("tools/list", [1, 2])),
        ("unknown method", "POST", *modern("runwire/explode")),
        ("initialize on modern", "POST", *modern("initialize", {"protocolVersion": LEGACY})),
        ("setLevel on modern", "POST", *modern("logging/setLevel", {"level": "debug"})),
        ("subscribe on modern", "POST", *modern("resources/subscribe", {"uri": "runwire://runs"})),
        ("bad cursor type", "POST", *modern("tools/list", {"cursor": {"x": 1}})),
        ("bad listen filter", "POST", *modern("subscriptions/listen", {"notifications": "all"})),
        ("unknown scheme", "POST", *read("file:///etc/passwd")),
        ("unknown run resource", "POST", *read("runwire://runs/ghost")),
        ("bad resource cursor", "POST", *read(f"runwire://runs/{finished_run}/events?after_seq=abc")),
        ("negative resource cursor", "POST", *read(f"runwire://runs/{finished_run}/events?after_seq=-5")),
        ("unknown artifact", "POST", *read(f"runwire://runs/{finished_run}/artifacts/..%2F..%2Fetc%2Fpasswd")),
        ("legacy: unknown method", "POST", legacy, legacy_call("runwire/explode", {})),
        ("legacy: bad log level", "POST", legacy, legacy_call("logging/setLevel", {"level": "loud"})),
        ("legacy: subscribe without uri", "POST", legacy, legacy_call("resources/subscribe", {})),
        ("legacy: second initialize", "POST", legacy, legacy_call("initialize", {"protocolVersion": "x"})),
        ("legacy: unknown tool", "POST", legacy, legacy_call("tools/call", {"name": "nope", "arguments": {}})),
        ("legacy: tools/call without name", "POST", legacy, legacy_call("tools/call", {"arguments": {}})),
        ("legacy: cancel unknown request", "POST", legacy, CANCEL_UNKNOWN),
        ("legacy: unknown notification", "POST", legacy, b'{"jsonrpc":"2.0","method":"notifications/explode"}'),
    ]
    return cases


@pytest.mark.anyio
async def test_hostile_requests_get_clean_errors_and_the_server_survives(
    http_url: str, token_url: str, root: Path, legacy_session: str
) -> None:
    async with Client(http_url) as client:
        started = structured(await client.call_tool("start_run", {"pipeline": "demo", "inputs": {"steps": 1}}))
        await follow(client, started["run_id"])
    finished_run = str(started["run_id"])
    cases = hostile_requests(root, legacy_session, finished_run)
    cases += [
        (f"token: {label}", "POST", {**BASE, **auth}, b'{"jsonrpc":"2.0","id":1,"method":"tools/list"}')
        for label, auth in [
            ("missing", {}),
            ("wrong", {"authorization": "Bearer nope"}),
            ("basic scheme", {"authorization": f"Basic {TOKEN}"}),
            ("prefix of the token", {"authorization": f"Bearer {TOKEN[:-1]}"}),
        ]
    ]
    assert len(cases) >= 50
    outcomes: dict[str, str] = {}
    async with httpx2.AsyncClient(timeout=30) as http:
        for label, method, headers, body in cases:
            url = token_url if label.startswith("token:") else http_url
            response = await http.request(method, url, headers=headers, content=body)
            outcomes[label] = assert_clean(label, response)
    # the ones that must be refused before any MCP handling
    assert outcomes["foreign origin"] == "http 403"
    assert outcomes["foreign host"] == "http 421"
    assert outcomes["body over 4 MiB"] == "http 413"
    assert all(
        outcomes[f"token: {k}"] == "http 401" for k in ("missing", "wrong", "basic scheme", "prefix of the token")
    )
    for label in (
        "dotdot escape",
        "absolute path elsewhere",
        "symlink out of root",
        "file url elsewhere",
        "out escapes",
    ):
        assert outcomes[label] == "tool error", label
    assert outcomes["unknown method"] == "error -32601"
    assert outcomes["legacy: unknown method"] == "error -32601"

    for mode in ("auto", "legacy"):  # and the server still works, in both eras
        async with Client(http_url, mode=mode) as client:
            out = structured(await client.call_tool("run_and_wait", {"pipeline": "demo", "inputs": {"steps": 2}}))
            assert out["state"] == "completed"
