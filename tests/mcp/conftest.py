"""MCP end-to-end fixtures: a real server on a loopback port, a real `runwire serve` on stdio, the SDK's client.

Every scenario runs in both protocol eras: ``mode="auto"`` negotiates 2026-07-28 (stateless,
``subscriptions/listen``) and ``mode="legacy"`` the 2025-11-25 handshake (sessions,
``resources/subscribe``).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("mcp")

from mcp import Client, StdioServerParameters

from runwire.actors import RunContext, RunSystem
from runwire.actors._pipelines import register
from runwire.actors.mcp import HTTPServerThread, build_server, http_app

from .mcp_helpers import Inbox

RUNWIRE = shutil.which("runwire") or os.path.join(os.path.dirname(sys.executable), "runwire")
MODES = ("auto", "legacy")
TOKEN = "s3cret-test-token"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # The SDK marks logging, ping and resources/subscribe deprecated (2026-07-28); the legacy era still uses them.
    for item in items:
        if "tests/mcp/" in str(item.path).replace("\\", "/"):
            item.add_marker(pytest.mark.filterwarnings("ignore::mcp.shared.exceptions.MCPDeprecationWarning"))


class Gate:
    """Lets a test hold the 'burst' pipeline until its subscription is in place (no sleeps)."""

    def __init__(self) -> None:
        self.events: dict[str, threading.Event] = {}

    def event(self, key: str) -> threading.Event:
        return self.events.setdefault(key, threading.Event())


GATE = Gate()


def burst_pipeline(ctx: RunContext) -> dict[str, int]:
    """Wait for the test's go (inputs['gate']), then emit ``n`` progress events as fast as possible."""
    n = int(ctx.inputs.get("n", 500))  # type: ignore[arg-type]
    if not GATE.event(str(ctx.inputs.get("gate", ""))).wait(30):
        raise TimeoutError("the test never opened the gate")
    for i in range(n):
        ctx.progress((i + 1) / n, current=i + 1, total=n)
    return {"emitted": n}


register("burst", burst_pipeline)


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The one allowed root, with a tiny repository inside."""
    base = tmp_path_factory.mktemp("mcp-root")
    repo = base / "repo"
    (repo / "src" / "pkg").mkdir(parents=True)
    (repo / "README.md").write_text("# Tiny\n\nA tiny repository for the MCP tests.\n")
    (repo / "src" / "pkg" / "__init__.py").write_text('"""The tiny package."""\n')
    return base


@pytest.fixture(scope="session")
def mcp_system() -> Iterator[RunSystem]:
    with RunSystem(cancel_deadline=2.0) as s:
        yield s


@pytest.fixture(scope="session")
def http_url(mcp_system: RunSystem, root: Path) -> Iterator[str]:
    server = build_server(mcp_system, [root], signal_interval=0.05)
    with HTTPServerThread(http_app(server)) as thread:
        yield thread.url


@pytest.fixture(scope="session")
def token_url(mcp_system: RunSystem, root: Path) -> Iterator[str]:
    server = build_server(mcp_system, [root], token=TOKEN)
    with HTTPServerThread(http_app(server)) as thread:
        yield thread.url


def stdio_params(root: Path) -> StdioServerParameters:
    """The installed console script, as an MCP client configuration would start it."""
    return StdioServerParameters(command=RUNWIRE, args=["serve", "--root", str(root)], cwd=str(root))


@dataclass
class Session:
    """A connected client and what its callbacks received."""

    client: Client
    inbox: Inbox
    transport: str
    mode: str


def connect(target: Any, mode: str, inbox: Inbox) -> Client:
    return Client(target, mode=mode, log_level="debug", logging_callback=inbox.on_log, message_handler=inbox.on_message)


@pytest.fixture(scope="module")
async def stdio_sessions(root: Path) -> AsyncIterator[dict[str, Session]]:
    """One spawned `runwire serve` per era and module, shared by its stdio tests (spawning costs ~2 s).

    Module scope, not session: the anyio plugin keeps an event loop running in the test thread
    while an async fixture lives, which would break later tests that call ``anyio.run``.
    """
    async with contextlib.AsyncExitStack() as stack:
        sessions: dict[str, Session] = {}
        for mode in MODES:
            inbox = Inbox()
            client = await stack.enter_async_context(connect(stdio_params(root), mode, inbox))
            sessions[mode] = Session(client, inbox, "stdio", mode)
        yield sessions


@pytest.fixture(params=[(t, m) for t in ("http", "stdio") for m in MODES], ids=lambda p: f"{p[0]}-{p[1]}")
async def session(
    request: pytest.FixtureRequest, http_url: str, stdio_sessions: dict[str, Session]
) -> AsyncIterator[Session]:
    """Every transport in both eras: a fresh HTTP client per test, or the era's stdio client (inbox reset)."""
    transport, mode = request.param
    if transport == "stdio":
        shared = stdio_sessions[mode]
        shared.inbox.reset()
        yield shared
        return
    inbox = Inbox()
    async with connect(http_url, mode, inbox) as client:
        yield Session(client, inbox, transport, mode)
