"""``runwire_app(system)``: the REST + SSE API, its OpenAPI document, the dashboard and the AG-UI
endpoint as one ASGI app, behind the Host/Origin/token gate.

FastAPI, because it derives request validation and the OpenAPI document from the same pydantic
models the protocol already is (see docs/http.md for the measured cost against bare Starlette).
Mount it anywhere: ``app.mount("/runwire", runwire_app(system))``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

import runwire
from runwire.actors import RunExpiredError, RunSystem, RunTimeoutError, SystemClosedError, UnknownRunError

from ._agui import build_agui
from ._api import BadRequest, InputsHook, build_router
from ._pages import build_pages
from ._security import Gate

__all__ = ["runwire_app"]


def _problem(status: int) -> Any:
    async def handler(_request: Request, exc: Exception) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=status)

    return handler


def runwire_app(
    system: RunSystem,
    *,
    token: str | None = None,
    host: str = "127.0.0.1",
    allowed_hosts: Iterable[str] = (),
    allowed_origins: Iterable[str] = (),
    pipelines: Iterable[str] | None = None,
    prepare_inputs: InputsHook | None = None,
    heartbeat: float = 15.0,
    tracing: bool | Any = False,
) -> Any:
    """The ASGI app serving ``system``'s runs over HTTP (the caller owns and closes the system).

    ``token``: every request needs ``Authorization: Bearer TOKEN`` (or the cookie a page opened
    with ``?token=`` sets). ``host``/``allowed_hosts``/``allowed_origins``: accepted Host and Origin
    headers (loopback always). ``pipelines``: the names clients may start (default: every
    registered one). ``prepare_inputs(pipeline, inputs)``: checks or rewrites a client's inputs
    before a start (raise ValueError to refuse). ``heartbeat``: seconds of silence before an idle
    stream gets a keep-alive. ``tracing``: True, or an OpenTelemetry ``TracerProvider``, to trace
    the runs this app starts (needs the ``otel`` extra).
    """
    if not isinstance(system, RunSystem):
        raise TypeError(f"system must be a RunSystem, got {type(system).__name__}")
    if isinstance(heartbeat, bool) or not isinstance(heartbeat, int | float) or not heartbeat > 0:
        raise ValueError(f"heartbeat must be a number of seconds > 0, got {heartbeat!r}")
    if prepare_inputs is not None and not callable(prepare_inputs):
        raise TypeError("prepare_inputs must be callable(pipeline, inputs) -> inputs")
    allowed = None if pipelines is None else frozenset(pipelines)
    app = FastAPI(
        title="runwire",
        version=runwire.__version__,
        summary="Start, follow, resume and cancel runs; every event carries its seq.",
        docs_url=None,  # the interactive pages load scripts from a CDN: nothing here needs the network
        redoc_url=None,
        openapi_url="/api/openapi.json",
    )
    app.state.tracer = None
    if tracing:
        from ._otel import RunTracer  # the otel extra loads only when tracing is asked for

        app.state.tracer = RunTracer(None if tracing is True else tracing)
    for exc_type, status in (
        (RunExpiredError, 410),
        (UnknownRunError, 404),
        (LookupError, 404),
        (BadRequest, 400),
        (ValueError, 400),
        (TypeError, 400),
        (SystemClosedError, 503),
        (RunTimeoutError, 504),
    ):
        app.add_exception_handler(exc_type, _problem(status))
    app.include_router(build_router(system, heartbeat=float(heartbeat), allowed=allowed, prepare=prepare_inputs))
    app.include_router(build_agui(system, heartbeat=float(heartbeat), allowed=allowed, prepare=prepare_inputs))
    app.include_router(build_pages())
    return Gate(app, host=host, allowed_hosts=allowed_hosts, allowed_origins=allowed_origins, token=token)
