"""What every tool and resource handler of one server shares, and the error mapping they use."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass

from mcp.server.mcpserver.exceptions import ToolError

from runwire.actors import RunSystem, RunwireError

from ._changes import ChangeHub
from ._protocol import LogLevels
from ._roots import Roots

__all__ = ["ServerState", "client_errors"]


@dataclass(frozen=True)
class ServerState:
    system: RunSystem
    roots: Roots
    hub: ChangeHub
    levels: LogLevels


@contextlib.contextmanager
def client_errors() -> Iterator[None]:
    """Errors the client caused (unknown run, bad input, path escape) become a ToolError it can read."""
    try:
        yield
    except (RunwireError, ValueError, TypeError) as exc:
        raise ToolError(str(exc)) from None
