"""Protocol methods MCPServer leaves to the application, added through the SDK's lower layer.

- ``resources/subscribe`` / ``resources/unsubscribe`` (2025-11-25 sessions): MCPServer registers
  no handler for them; ours records the session with the ChangeHub.
- ``subscriptions/listen`` (2026-07-28): the SDK's ListenHandler serves the stream; we wrap it to
  count interest in the URIs it listens to, so the hub watches those runs while it is open.
- ``logging/setLevel`` (2025-11-25): MCPServer has no handler, so a client setting a level would
  get "method not found"; ours records the level per connection and the log relay honours it.
  (At 2026-07-28 the method does not exist; the client opts in per request instead.)
"""

from __future__ import annotations

import weakref
from typing import Any, get_args

import mcp_types as types
from mcp.server.context import ServerRequestContext
from mcp.server.mcpserver import MCPServer
from mcp.server.subscriptions import ListenHandler
from mcp_types import LoggingLevel
from mcp_types.version import MODERN_PROTOCOL_VERSIONS

from ._changes import ChangeHub, connection_of

__all__ = ["LogLevels", "install_protocol_handlers"]

_ORDER: tuple[LoggingLevel, ...] = get_args(LoggingLevel)


class LogLevels:
    """The minimum log level each 2025-era connection asked for (all levels until it asks)."""

    def __init__(self) -> None:
        self._levels: weakref.WeakKeyDictionary[Any, LoggingLevel] = weakref.WeakKeyDictionary()

    def set(self, session: Any, level: LoggingLevel) -> None:
        self._levels[connection_of(session)] = level

    def allows(self, session: Any, protocol_version: str | None, level: LoggingLevel) -> bool:
        if protocol_version in MODERN_PROTOCOL_VERSIONS:
            return True  # the SDK applies the request's own opt-in
        floor = self._levels.get(connection_of(session))
        return floor is None or _ORDER.index(level) >= _ORDER.index(floor)


def install_protocol_handlers(server: MCPServer[Any], hub: ChangeHub, levels: LogLevels) -> None:
    """Register the handlers above on ``server``'s low-level server."""
    lowlevel = server._lowlevel_server
    inner_listen = lowlevel.get_request_handler("subscriptions/listen")

    async def on_subscribe(ctx: ServerRequestContext[Any], params: types.SubscribeRequestParams) -> types.EmptyResult:
        uri = str(params.uri)
        if hub.add_legacy(uri, ctx.session):
            await hub.watch([uri])
        return types.EmptyResult()

    async def on_unsubscribe(
        ctx: ServerRequestContext[Any], params: types.UnsubscribeRequestParams
    ) -> types.EmptyResult:
        uri = str(params.uri)
        if hub.remove_legacy(uri, ctx.session):
            hub.unwatch([uri])
        return types.EmptyResult()

    async def on_set_level(ctx: ServerRequestContext[Any], params: types.SetLevelRequestParams) -> types.EmptyResult:
        levels.set(ctx.session, params.level)
        return types.EmptyResult()

    lowlevel.add_request_handler("resources/subscribe", types.SubscribeRequestParams, on_subscribe)
    lowlevel.add_request_handler("resources/unsubscribe", types.UnsubscribeRequestParams, on_unsubscribe)
    lowlevel.add_request_handler("logging/setLevel", types.SetLevelRequestParams, on_set_level)

    if inner_listen is not None and isinstance(inner_listen.handler, ListenHandler):
        listen = inner_listen.handler

        async def on_listen(
            ctx: ServerRequestContext[Any], params: types.SubscriptionsListenRequestParams
        ) -> types.SubscriptionsListenResult:
            uris = list(params.notifications.resource_subscriptions or ())
            await hub.watch(uris)
            try:
                return await listen(ctx, params)
            finally:
                hub.unwatch(uris)

        lowlevel.add_request_handler("subscriptions/listen", types.SubscriptionsListenRequestParams, on_listen)
