"""``runwire serve --http``: MCP at ``/mcp`` and, with the ``http`` extra, the REST + SSE API,
the dashboard and the AG-UI endpoint on the same port, over one RunSystem.

Both apps get the same bind address, Host/Origin allow-lists and bearer token; inputs a client
sends over either are confined to the same roots. Without the ``http`` extra only MCP is served.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.routing import Mount, Route

from runwire.actors import RunSystem
from runwire.actors.mcp import Roots, build_server, http_app, prepare_inputs
from runwire.actors.serving import serve, warn_if_exposed

__all__ = ["serve_http"]


def _rest_app(system: RunSystem, roots: Roots, **security: Any) -> Any | None:
    try:
        from runwire.actors.http import runwire_app  # loads fastapi: the extra may be missing
    except ModuleNotFoundError as exc:
        if (exc.name or "").split(".")[0] not in ("fastapi", "uvicorn", "httpx"):
            raise
        sys.stderr.write(
            f"runwire: note: serving MCP only; the HTTP API needs the 'http' extra ({exc.name} is missing)\n"
        )
        return None

    def confine(pipeline: str, inputs: Mapping[str, Any]) -> Mapping[str, Any]:
        prepared: Mapping[str, Any] = prepare_inputs(pipeline, inputs, roots)
        return prepared

    return runwire_app(system, prepare_inputs=confine, **security)


def serve_http(
    *,
    host: str,
    port: int,
    token: str | None,
    roots: Sequence[str | os.PathLike[str]],
    allowed_hosts: Sequence[str],
    allowed_origins: Sequence[str],
    store: str | Path | None,
    executor: Any = "local",
) -> None:
    """Serve until interrupted (runs persist in ``store``, pipelines execute on ``executor``)."""
    allowed = Roots(roots or [os.getcwd()])
    warn_if_exposed(host, token, allowed_hosts)
    http_log = logging.getLogger("runwire.http")  # starts and cancels over HTTP go to the server's log
    if not http_log.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("runwire: %(message)s"))
        http_log.addHandler(handler)
        http_log.setLevel(logging.INFO)

    with RunSystem(store=store, executor=executor) as system:
        mcp = http_app(
            build_server(system, allowed, token=token),
            host=host,
            allowed_hosts=allowed_hosts,
            allowed_origins=allowed_origins,
        )
        rest = _rest_app(
            system, allowed, token=token, host=host, allowed_hosts=allowed_hosts, allowed_origins=allowed_origins
        )
        announce = ["runwire: serving MCP over streamable HTTP at {base}/mcp"]
        app: Any = mcp
        if rest is not None:
            announce.append("runwire: serving the HTTP API at {base}/api and the dashboard at {base}/")
            app = beside(rest, mcp)
        serve(app, host, port, announce, lifespan="on")


def beside(rest: Any, mcp: Starlette) -> Starlette:
    """One app: ``/mcp`` to the MCP app (its lifespan runs its session manager), the rest to ``rest``."""

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            await stack.enter_async_context(mcp.router.lifespan_context(mcp))
            yield

    return Starlette(routes=[Route("/mcp", mcp), Mount("/", rest)], lifespan=lifespan)
