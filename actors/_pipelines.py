"""Named pipelines: what the CLI, the MCP server and the store refer to by name.

Built-in and third-party pipelines are entry points (group ``runwire.pipelines``), loaded on
first use, so naming a pipeline never imports its integration (DSPy, git, ...) until a run of
it starts. ``register`` adds one in-process (it wins over an entry point of the same name).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ._plugins import PIPELINES, load, names

__all__ = ["available", "register", "resolve"]

_REGISTERED: dict[str, Callable[..., Any]] = {}


def register(name: str, pipeline: Callable[..., Any]) -> None:
    """Make ``pipeline`` startable by ``name`` in this process."""
    if not isinstance(name, str) or not name:
        raise ValueError("a pipeline name must be a non-empty string")
    if not callable(pipeline):
        raise TypeError(f"pipeline must be callable, got {type(pipeline).__name__}")
    _REGISTERED[name] = pipeline


def available() -> list[str]:
    """Every pipeline name: registered here, or declared by an installed distribution."""
    return sorted({*_REGISTERED, *names(PIPELINES)})


def resolve(name: str) -> Callable[..., Any]:
    """The pipeline callable named ``name``; ValueError naming the choices if unknown."""
    pipeline = _REGISTERED.get(name)
    if pipeline is not None:
        return pipeline
    try:
        found = load(PIPELINES, name, "pipeline")
    except ValueError:
        raise ValueError(f"unknown pipeline {name!r}; available: {', '.join(available())}") from None
    if not callable(found):
        raise TypeError(f"the entry point for pipeline {name!r} is not callable: {type(found).__name__}")
    _REGISTERED[name] = found
    return found
