"""Build runwire's MCP server: the official SDK's MCPServer over a RunSystem.

The caller owns the RunSystem (runs outlive requests, connections and — once the durable store
is wired — the server process itself); the server looks every run up through it. Transports,
JSON-RPC, sessions, both protocol eras, progress tokens and ``subscriptions/listen`` are the
SDK's; runwire adds tools, resources, change signals and the few handlers MCPServer leaves out.
"""

from __future__ import annotations

import hmac
import os
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from typing import Any

from mcp.server.auth.provider import AccessToken
from mcp.server.auth.settings import AuthSettings
from mcp.server.caching import CacheHint
from mcp.server.mcpserver import MCPServer
from mcp.server.subscriptions import InMemorySubscriptionBus

import runwire
from runwire.actors import RunSystem

from ._changes import ChangeHub
from ._protocol import LogLevels, install_protocol_handlers
from ._resources import register_resources
from ._roots import Roots
from ._state import ServerState
from ._tools import register_tools

__all__ = ["StaticTokenVerifier", "build_server"]

INSTRUCTIONS = (
    "runwire runs pipelines (llms-txt: llms.txt for a repository; demo) as runs with ordered, typed "
    "events. llms_txt waits for its run and reports progress. start_run returns a run_id at once; "
    "follow it with events(run_id, after_seq, wait_s) until done, or subscribe to "
    "runwire://runs/{run_id}/events and re-read from your cursor on each update. Runs outlive "
    "requests and connections: reconnect and read on from your cursor. cancel_run stops a run."
)


class StaticTokenVerifier:
    """Accepts exactly one bearer token (compared in constant time): runwire's optional HTTP auth."""

    def __init__(self, token: str) -> None:
        if not token:
            raise ValueError("the bearer token must be non-empty")
        self._token = token.encode()

    async def verify_token(self, token: str) -> AccessToken | None:
        if hmac.compare_digest(token.encode(), self._token):
            return AccessToken(token=token, client_id="runwire-client", scopes=[])
        return None


def build_server(
    system: RunSystem,
    roots: Roots | Iterable[str | os.PathLike[str]] | None = None,
    *,
    token: str | None = None,
    signal_interval: float = 0.05,
) -> MCPServer[Any]:
    """An MCPServer serving ``system``'s runs; paths confined to ``roots`` (default: the cwd).

    ``token`` (HTTP only) makes every request need ``Authorization: Bearer <token>``.
    ``signal_interval`` is the coalescing window of resource change signals, in seconds.
    """
    allowed = roots if isinstance(roots, Roots) else Roots(roots or [os.getcwd()])
    bus = InMemorySubscriptionBus()
    hub = ChangeHub(system, bus, signal_interval)

    @asynccontextmanager
    async def lifespan(_server: MCPServer[Any]) -> AsyncIterator[dict[str, Any]]:
        async with hub.running():  # entered once per process, for stdio and HTTP alike
            yield {}

    auth: dict[str, Any] = {}
    if token is not None:
        auth = {
            "token_verifier": StaticTokenVerifier(token),
            # The SDK's bearer check needs AuthSettings; there is no OAuth server behind a static token.
            "auth": AuthSettings(issuer_url="http://127.0.0.1/", resource_server_url=None),  # type: ignore[arg-type]
        }
    server: MCPServer[Any] = MCPServer(
        "runwire",
        version=runwire.__version__,
        instructions=INSTRUCTIONS,
        subscriptions=bus,
        lifespan=lifespan,
        log_level="WARNING",
        # run state changes all the time: 2026-07-28 clients must not serve resource reads from a cache
        cache_hints={"resources/read": CacheHint(ttl_ms=0), "resources/list": CacheHint(ttl_ms=0)},
        **auth,
    )
    levels = LogLevels()
    state = ServerState(system=system, roots=allowed, hub=hub, levels=levels)
    register_tools(server, state)
    register_resources(server, state)
    install_protocol_handlers(server, hub, levels)
    return server
