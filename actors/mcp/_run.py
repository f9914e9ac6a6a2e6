"""Run the MCP server on a transport, owning the RunSystem for the process's lifetime."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import anyio

from runwire.actors import RunSystem
from runwire.actors.serving import warn_if_exposed

from ._http import http_app, serve_http
from ._roots import Roots
from ._server import build_server

__all__ = ["run_http", "run_stdio"]

StoreArg = str | Path | None


def run_stdio(roots: Sequence[str | os.PathLike[str]] = (), *, store: StoreArg = None, executor: Any = "local") -> None:
    """Serve MCP on stdin/stdout until the client closes stdin (then cancel the runs still live).

    With ``store`` (a path), runs persist: a restarted server replays them from their cursor.
    ``executor``: what ``RunSystem(executor=...)`` takes (e.g. a Ray cluster's factory).
    """
    allowed = Roots(roots or [os.getcwd()])
    with RunSystem(store=store, executor=executor) as system:
        server = build_server(system, allowed)
        anyio.run(server.run_stdio_async)


def run_http(
    *,
    host: str = "127.0.0.1",
    port: int = 8765,
    token: str | None = None,
    roots: Sequence[str | os.PathLike[str]] = (),
    allowed_hosts: Sequence[str] = (),
    allowed_origins: Sequence[str] = (),
    store: StoreArg = None,
    executor: Any = "local",
) -> None:
    """Serve MCP over streamable HTTP at ``/mcp`` until interrupted (runs persist in ``store``)."""
    allowed = Roots(roots or [os.getcwd()])
    warn_if_exposed(host, token, allowed_hosts)
    with RunSystem(store=store, executor=executor) as system:
        server = build_server(system, allowed, token=token)
        serve_http(
            http_app(server, host=host, allowed_hosts=allowed_hosts, allowed_origins=allowed_origins), host, port
        )
