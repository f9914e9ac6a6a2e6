"""Streamable HTTP: the SDK's ASGI app with Host/Origin checks always on, served by uvicorn.

The SDK turns DNS-rebinding protection on by itself only for loopback hosts; for any other bind
address it would accept every Host and Origin. runwire always passes explicit settings: the
bind address and loopback names are allowed, plus whatever the operator adds.
"""

from __future__ import annotations

import socket
import sys
import threading
from collections.abc import Iterable
from typing import Any

import uvicorn
from mcp.server.mcpserver import MCPServer
from mcp.server.transport_security import TransportSecuritySettings
from starlette.applications import Starlette

__all__ = ["LOOPBACK", "HTTPServerThread", "http_app", "security_settings", "serve_http"]

LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
_LOOPBACK_HOSTS = ("127.0.0.1:*", "localhost:*", "[::1]:*")


def _host_pattern(host: str) -> str:
    return f"[{host}]:*" if ":" in host and not host.startswith("[") else f"{host}:*"


def security_settings(
    host: str, allowed_hosts: Iterable[str] = (), allowed_origins: Iterable[str] = ()
) -> TransportSecuritySettings:
    """Host/Origin validation for a server bound to ``host`` (plus the operator's extra values)."""
    hosts = list(_LOOPBACK_HOSTS)
    if host not in LOOPBACK and host not in ("0.0.0.0", "::"):
        hosts.append(_host_pattern(host))
    hosts.extend(allowed_hosts)
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


def _config(app: Starlette, host: str, port: int) -> uvicorn.Config:
    return uvicorn.Config(
        app, host=host, port=port, log_level="warning", lifespan="on", timeout_graceful_shutdown=3, access_log=False
    )


class _AnnouncingServer(uvicorn.Server):
    """Says where it serves once the socket listens, so a supervisor can wait for that line."""

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started:
            host, port = self.config.host, self.config.port
            shown = f"[{host}]" if ":" in host else host
            sys.stderr.write(f"runwire: serving MCP over streamable HTTP at http://{shown}:{port}/mcp\n")
            sys.stderr.flush()


def serve_http(app: Starlette, host: str, port: int) -> None:
    """Serve ``app`` until Ctrl-C / SIGTERM (blocking)."""
    _AnnouncingServer(_config(app, host, port)).run()


class HTTPServerThread:
    """Serve an app on a free loopback port from a background thread (tests, benchmarks).

    The socket is bound and listening before the thread starts, so a client may connect at once:
    the kernel queues the connection until uvicorn accepts it — no startup wait needed.
    """

    def __init__(self, app: Starlette, host: str = "127.0.0.1") -> None:
        # proto=IPPROTO_TCP: asyncio sets TCP_NODELAY on accepted sockets only then (else a ~40 ms
        # Nagle/delayed-ACK stall hits every keep-alive response written in two parts)
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind((host, 0))
        self._sock.listen(128)
        self.port: int = self._sock.getsockname()[1]
        self.url = f"http://{host}:{self.port}/mcp"
        self._server = uvicorn.Server(_config(app, host, self.port))
        self._thread = threading.Thread(target=self._run, name="runwire-mcp-http", daemon=True)

    def _run(self) -> None:
        self._server.run(sockets=[self._sock])

    def __enter__(self) -> HTTPServerThread:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self, timeout: float = 10.0) -> None:
        self._server.should_exit = True
        self._thread.join(timeout)
        self._sock.close()
