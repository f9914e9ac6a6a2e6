"""runwire's MCP server facade: runs as MCP tools and resources, over stdio and streamable HTTP.

Importing this package does not import the ``mcp`` SDK; ``build_server`` and the other names load
it on first use (``pip install 'runwire[mcp]'``). See docs/mcp.md.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    "HTTPServerThread",
    "PathError",
    "Roots",
    "build_server",
    "http_app",
    "prepare_inputs",
    "run_http",
    "run_stdio",
]

_WHERE = {
    "HTTPServerThread": "._http",
    "PathError": "._roots",
    "Roots": "._roots",
    "prepare_inputs": "._inputs",
    "build_server": "._server",
    "http_app": "._http",
    "run_http": "._run",
    "run_stdio": "._run",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module, __name__), name)
