"""Serving an ASGI app with uvicorn, for every transport alike (the HTTP API, MCP, both at once).

One piece so the integrations that serve HTTP do not each carry a copy: they may share only
public names, and neither owns the other. uvicorn is the ``http`` (or ``mcp``) extra's and is
imported on first use, so importing this module costs nothing.

- ``serve``: in the foreground until Ctrl-C / SIGTERM (the CLI), announcing where it listens;
- ``ServerThread``: on a background thread, its socket listening before the thread starts
  (tests, benchmarks, embedding);
- ``host_patterns``/``LOOPBACK``: which ``Host`` values a server bound to a host accepts;
- ``warn_if_exposed``: the operator's warning for a server reachable beyond loopback.
"""

from __future__ import annotations

import socket
import sys
import threading
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, Final, Literal

if TYPE_CHECKING:
    import uvicorn

__all__ = ["LOOPBACK", "Lifespan", "ServerThread", "base_url", "host_patterns", "serve", "warn_if_exposed"]

LOOPBACK: Final = frozenset({"127.0.0.1", "localhost", "::1"})
"""Bind addresses only this machine can reach."""
_LOOPBACK_PATTERNS = ("127.0.0.1:*", "localhost:*", "[::1]:*")
_ANY = ("0.0.0.0", "::")
Lifespan = Literal["auto", "on", "off"]
"""uvicorn's lifespan mode: ``on`` when the app's lifespan must run (MCP's session manager)."""


def host_patterns(host: str, allowed_hosts: Iterable[str] = ()) -> list[str]:
    """Accepted ``Host`` values for a server bound to ``host``: loopback, the bind name, the extras
    (``"name:*"`` matches any port)."""
    patterns = list(_LOOPBACK_PATTERNS)
    if host not in LOOPBACK and host not in _ANY:
        patterns.append(f"[{host}]:*" if ":" in host and not host.startswith("[") else f"{host}:*")
    patterns.extend(allowed_hosts)
    return patterns


def warn_if_exposed(host: str, token: str | None, allowed_hosts: Sequence[str]) -> None:
    """Tell the operator on stderr when others can reach the server without a token, or when the
    Host check will refuse the names clients use for a wildcard bind."""
    if host not in LOOPBACK and not token:
        sys.stderr.write(
            f"runwire: WARNING: serving on {host} without a token: anyone who can reach this port can "
            "start and cancel runs. Pass --token (or set RUNWIRE_TOKEN).\n"
        )
    if host in _ANY and not allowed_hosts:
        sys.stderr.write(
            "runwire: note: Host headers are checked; add the names clients use with --allowed-host NAME:*\n"
        )


def _check(host: str, port: int, lifespan: str) -> None:
    if not isinstance(host, str) or not host:
        raise ValueError(f"host must be a non-empty string, got {host!r}")
    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
        raise ValueError(f"port must be an int from 0 to 65535, got {port!r}")
    if lifespan not in ("auto", "on", "off"):
        raise ValueError(f"lifespan must be 'auto', 'on' or 'off', got {lifespan!r}")


def _config(app: Any, host: str, port: int, lifespan: Lifespan) -> uvicorn.Config:
    import uvicorn

    return uvicorn.Config(
        app, host=host, port=port, log_level="warning", lifespan=lifespan, timeout_graceful_shutdown=3, access_log=False
    )


def base_url(host: str, port: int) -> str:
    """``http://host:port``, an IPv6 host in brackets."""
    return f"http://{f'[{host}]' if ':' in host and not host.startswith('[') else host}:{port}"


def serve(
    app: Any, host: str = "127.0.0.1", port: int = 8765, announce: Sequence[str] = (), lifespan: Lifespan = "auto"
) -> None:
    """Serve ``app`` until Ctrl-C / SIGTERM (blocking). Once the socket listens, each ``announce``
    line goes to stderr (``{base}`` is the server's ``http://host:port``), so a supervisor can wait
    for it."""
    _check(host, port, lifespan)
    import uvicorn

    class Announcing(uvicorn.Server):
        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets)
            if self.started:
                base = base_url(self.config.host, self.config.port)
                for line in announce:
                    sys.stderr.write(line.format(base=base) + "\n")
                sys.stderr.flush()

    Announcing(_config(app, host, port, lifespan)).run()


class ServerThread:
    """Serve ``app`` on ``port`` of ``host`` (0: a free one) from a background thread.

    The socket is bound and listening before the thread starts, so a client may connect at once:
    the kernel queues the connection until uvicorn accepts it, no startup wait needed. ``url`` is
    the base URL plus ``path`` (e.g. ``/mcp``).
    """

    def __init__(
        self, app: Any, host: str = "127.0.0.1", port: int = 0, *, path: str = "", lifespan: Lifespan = "auto"
    ) -> None:
        _check(host, port, lifespan)
        if not isinstance(path, str) or (path and not path.startswith("/")):
            raise ValueError(f"path must be empty or start with '/', got {path!r}")
        import uvicorn

        # IPPROTO_TCP: asyncio sets TCP_NODELAY on accepted sockets only then (else a ~40 ms
        # Nagle/delayed-ACK stall hits every keep-alive response written in two parts)
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind((host, port))
        self._sock.listen(128)
        self.port: int = self._sock.getsockname()[1]
        self.url = base_url(host, self.port) + path
        self._server = uvicorn.Server(_config(app, host, self.port, lifespan))
        self._thread = threading.Thread(target=self._run, name="runwire-serve", daemon=True)

    def _run(self) -> None:
        self._server.run(sockets=[self._sock])

    def __enter__(self) -> ServerThread:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self, timeout: float = 10.0) -> None:
        """Ask uvicorn to exit, wait up to ``timeout`` seconds for its thread, close the socket."""
        self._server.should_exit = True
        if self._thread.is_alive():
            self._thread.join(timeout)
        self._sock.close()
