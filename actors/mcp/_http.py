"""Streamable HTTP: the SDK's ASGI app with Host/Origin checks always on, served by uvicorn.

The SDK turns DNS-rebinding protection on by itself only for loopback hosts; for any other bind
address it would accept every Host and Origin. runwire always passes explicit settings: the
bind address and loopback names are allowed, plus whatever the operator adds. Serving itself is
``runwire.actors.serving``'s, shared with the HTTP API.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from mcp.server.mcpserver import MCPServer
from mcp.server.transport_security import TransportSecuritySettings
from starlette.applications import Starlette

from runwire.actors.serving import ServerThread, host_patterns, serve

__all__ = ["HTTPServerThread", "http_app", "security_settings", "serve_http"]

ANNOUNCE = "runwire: serving MCP over streamable HTTP at {base}/mcp"


def security_settings(
    host: str, allowed_hosts: Iterable[str] = (), allowed_origins: Iterable[str] = ()
) -> TransportSecuritySettings:
    """Host/Origin validation for a server bound to ``host`` (plus the operator's extra values)."""
    hosts = host_patterns(host, allowed_hosts)
    origins = [f"http://{pattern}" for pattern in hosts] + [f"https://{pattern}" for pattern in hosts]
    origins.extend(allowed_origins)
    return TransportSecuritySettings(enable_dns_rebinding_protection=True, allowed_hosts=hosts, allowed_origins=origins)


def http_app(
    server: MCPServer[Any],
    *,
    host: str = "127.0.0.1",
    allowed_hosts: Iterable[str] = (),
    allowed_origins: Iterable[str] = (),
) -> Starlette:
    """The ASGI app serving MCP at ``/mcp`` (its lifespan runs the SDK's session manager)."""
    return server.streamable_http_app(
        streamable_http_path="/mcp",
        host=host,
        transport_security=security_settings(host, allowed_hosts, allowed_origins),
    )


def serve_http(app: Starlette, host: str, port: int) -> None:
    """Serve ``app`` until Ctrl-C / SIGTERM (blocking), saying where once it listens."""
    serve(app, host, port, [ANNOUNCE], lifespan="on")


def HTTPServerThread(app: Starlette, host: str = "127.0.0.1") -> ServerThread:
    """``runwire.actors.serving.ServerThread`` for an MCP app: a free port, ``url`` ends in ``/mcp``."""
    return ServerThread(app, host, path="/mcp", lifespan="on")
