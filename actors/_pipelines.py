"""Named pipelines: what the CLI, the MCP server and the store refer to by name.

Entries are import paths, resolved on first use, so naming a pipeline never imports its
integration (DSPy, git, ...) until a run of it starts.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

__all__ = ["available", "register", "resolve"]

_REGISTRY: dict[str, str | Callable[..., Any]] = {
    "demo": "runwire.actors.cli._demo:demo_pipeline",
    "llms-txt": "runwire.actors.llms_txt.pipeline:llms_txt_pipeline",
}


def register(name: str, pipeline: str | Callable[..., Any]) -> None:
    """Make ``pipeline`` (a callable or a ``"module:attr"`` path) startable by ``name``."""
    if not name:
        raise ValueError("a pipeline name must be non-empty")
    _REGISTRY[name] = pipeline


def available() -> list[str]:
    return sorted(_REGISTRY)


def resolve(name: str) -> Callable[..., Any]:
    """The pipeline callable registered as ``name``; ValueError naming the choices if unknown."""
    entry = _REGISTRY.get(name)
    if entry is None:
        raise ValueError(f"unknown pipeline {name!r}; available: {', '.join(available())}")
    if callable(entry):
        return entry
    module_name, _, attr = entry.partition(":")
    pipeline: Callable[..., Any] = getattr(importlib.import_module(module_name), attr)
    _REGISTRY[name] = pipeline
    return pipeline
