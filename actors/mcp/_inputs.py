"""Check a client's pipeline inputs before a run starts: names, JSON shape, and confined paths.

Only inputs the server knows to be paths are confined (the ``llms-txt`` pipeline's ``source``
and ``out``). A pipeline an operator registers with other path inputs must confine them itself.
Nothing here imports mcp.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from runwire.actors.ext import pipelines as available
from runwire.actors.ext import resolve_pipeline as resolve

from ._roots import Roots, is_remote_url

__all__ = ["LLMS_TXT", "prepare_inputs", "resolve_pipeline"]

LLMS_TXT = "llms-txt"


def resolve_pipeline(name: str) -> Callable[..., Any]:
    """The registered pipeline; ValueError naming the choices if ``name`` is not one.

    ``resolve`` first: listing the choices scans every installed distribution's entry points
    (~9 ms per start_run when it was checked first); only an unknown name pays for that.
    """
    try:
        return resolve(name)
    except ValueError:
        shown = name if len(name) <= 80 else name[:80] + "..."
        raise ValueError(f"unknown pipeline {shown!r}; available: {', '.join(available())}") from None


def prepare_inputs(pipeline: str, inputs: Mapping[str, Any], roots: Roots) -> dict[str, Any]:
    """A copy of ``inputs`` with the paths it names confined to ``roots`` (PathError if one escapes)."""
    prepared = dict(inputs)
    if pipeline != LLMS_TXT:
        return prepared
    source = prepared.get("source")
    if isinstance(source, str):
        prepared["source"] = roots.confine_source(source)
    out = prepared.get("out")
    if isinstance(out, str):
        prepared["out"] = str(roots.confine(out, what="out"))
    elif out is None and isinstance(source, str):
        # llms.txt belongs at the repository's root; a remote clone writes into the primary root
        prepared["out"] = str(roots.primary) if is_remote_url(source) else prepared["source"]
    return prepared
