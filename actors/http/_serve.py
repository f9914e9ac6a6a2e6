"""Serve an ASGI app with uvicorn: in the foreground (the CLI) or on a background thread (tests).

The lifespans of apps served side by side (the MCP app's session manager) run in one.
"""

from __future__ import annotations

import socket
import sys
import threading
from collections.abc import Sequence
from typing import Any

import uvicorn

__all__ = ["ServerThread", "serve"]


def _config(app: Any, host: str, port: int) -> uvicorn.Config:
    return uvicorn.Config(
        app, host=host, port=port, log_level="warning", lifespan="auto", timeout_graceful_shutdown=3, access_log=False
    )


class _Announcing(uvicorn.Server):
    """Says where it serves once the socket listens, so a supervisor can wait for those lines."""

    announce: Sequence[str] = ()

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started:
            host, port = self.config.host, self.config.port
            base = f"http://{f'[{host}]' if ':' in host else host}:{port}"
            for line in self.announce:
                sys.stderr.write(line.format(base=base) + "\n")
            sys.stderr.flush()


def serve(app: Any, host: str = "127.0.0.1", port: int = 8765, announce: Sequence[str] = ()) -> None:
    """Serve ``app`` until Ctrl-C / SIGTERM (blocking); ``announce`` lines may use ``{base}``."""
    server = _Announcing(_config(app, host, port))
    server.announce = announce
    server.run()


class ServerThread:
    """Serve ``app`` on ``port`` of ``host`` (0: a free one) from a background thread (tests, benchmarks).

    The socket listens before the thread starts, so a client may connect at once.
    """

    def __init__(self, app: Any, host: str = "127.0.0.1", port: int = 0) -> None:
        # IPPROTO_TCP: asyncio sets TCP_NODELAY on accepted sockets only then (no Nagle stall)
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind((host, port))
        self._sock.listen(128)
        self.port: int = self._sock.getsockname()[1]
        self.url = f"http://{host}:{self.port}"
        self._server = uvicorn.Server(_config(app, host, self.port))
        self._thread = threading.Thread(target=self._run, name="runwire-http", daemon=True)

    def _run(self) -> None:
        self._server.run(sockets=[self._sock])

    def __enter__(self) -> ServerThread:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self, timeout: float = 10.0) -> None:
        self._server.should_exit = True
        self._thread.join(timeout)
        self._sock.close()
