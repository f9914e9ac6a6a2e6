"""Plug-ins found the way Python finds them: entry points (``importlib.metadata``).

A separate package adds a store back-end, an executor or a named pipeline by declaring an
entry point in its own pyproject; runwire's built-ins are declared the same way in runwire's.
Nothing is imported until it is used: naming a plug-in never loads its dependencies.
"""

from __future__ import annotations

from importlib.metadata import EntryPoint, entry_points
from typing import Final

__all__ = ["EXECUTORS", "LOOPS", "PIPELINES", "STORES", "load", "names"]

STORES: Final = "runwire.stores"
"""Store back-ends by URL scheme (``sqlite``; ``postgresql`` next): an ``ext.StoreOpener``."""
EXECUTORS: Final = "runwire.executors"
"""Executors by name (``local``): an ``ext.ExecutorFactory``."""
LOOPS: Final = "runwire.loops"
"""The loop runner behind ``RunSystem.loop`` (``oda``): ``start_loop(system, observe, decide, **options)``."""
PIPELINES: Final = "runwire.pipelines"
"""Named pipelines (``demo``, ``llms-txt``): a pipeline callable."""


def _found(group: str) -> dict[str, EntryPoint]:
    return {ep.name: ep for ep in entry_points(group=group)}


def names(group: str) -> list[str]:
    """The plug-in names declared in ``group`` by every installed distribution."""
    return sorted(_found(group))


def load(group: str, name: str, what: str) -> object:
    """The object the entry point ``name`` of ``group`` names; ValueError listing the choices."""
    entry = _found(group).get(name)
    if entry is None:
        choices = ", ".join(names(group)) or "none installed"
        raise ValueError(f"unknown {what} {name!r}; available: {choices}")
    return entry.load()
