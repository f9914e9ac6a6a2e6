"""Runs over HTTP: a REST + SSE API, its OpenAPI document, a live dashboard and an AG-UI endpoint.

``runwire_app(system)`` is an ASGI app to serve or mount (``app.mount("/runwire", ...)``);
``runwire serve --http`` serves it beside ``/mcp``. Importing this package loads neither FastAPI
nor uvicorn: the names below load them on first use (``pip install 'runwire[http]'``). See docs/http.md.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["ServerThread", "runwire_app", "serve"]

# ServerThread and serve are runwire.actors.serving's (shared with MCP), re-exported here
_WHERE = {"ServerThread": "runwire.actors.serving", "runwire_app": "._app", "serve": "runwire.actors.serving"}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module, __name__), name)
