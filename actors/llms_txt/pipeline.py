"""The run-system entry point: read the run's inputs, generate, return a JSON summary.

``llms_txt_pipeline`` is a plain sync function; the runtime runs it on a worker thread and hands it
a run context, which is all the generator reports to (and the only way it learns of a cancel).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from .context import PipelineContext
from .describer import Describer
from .errors import LlmsTxtError
from .generate import (
    DEFAULT_FULL_TOKENS,
    DEFAULT_INDEX_TOKENS,
    DEFAULT_MAX_FILE_BYTES,
    DEFAULT_PARTIAL_LIMIT,
    Options,
    generate,
)

if TYPE_CHECKING:  # annotations only: importing the package stays light
    from pydantic import JsonValue


__all__ = ["INPUT_KEYS", "llms_txt_pipeline", "options_from_inputs", "pipeline_with"]

INPUT_KEYS: tuple[str, ...] = (
    "source",
    "out",
    "base_url",
    "exclude",
    "max_file_bytes",
    "default_excludes",
    "include_vendored",
    "secret_scan",
    "max_index_tokens",
    "max_full_tokens",
)


def _bool(inputs: Mapping[str, JsonValue], key: str, default: bool) -> bool:
    value = inputs.get(key, default)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise LlmsTxtError(f"input '{key}' must be true or false")
    return value


def _str(inputs: Mapping[str, JsonValue], key: str, default: str | None) -> str | None:
    value = inputs.get(key, default)
    if value is not None and not isinstance(value, str):
        raise LlmsTxtError(f"input '{key}' must be a string, got {type(value).__name__}")
    return value


def _int(inputs: Mapping[str, JsonValue], key: str, default: int) -> int:
    value = inputs.get(key, default)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        raise LlmsTxtError(f"input '{key}' must be an integer, got {type(value).__name__}")
    return value


def options_from_inputs(inputs: Mapping[str, JsonValue]) -> Options:
    """Validate the run's inputs into :class:`Options`; :class:`LlmsTxtError` names the bad key."""
    unknown = sorted(set(inputs) - set(INPUT_KEYS))
    if unknown:
        raise LlmsTxtError(f"unknown input(s) {', '.join(unknown)}; expected some of {', '.join(INPUT_KEYS)}")
    source = _str(inputs, "source", None)
    if not source:
        raise LlmsTxtError("input 'source' is required: a directory or a git URL")
    exclude = inputs.get("exclude") or []
    if isinstance(exclude, str):
        exclude = [exclude]
    if not isinstance(exclude, list) or not all(isinstance(item, str) for item in exclude):
        raise LlmsTxtError("input 'exclude' must be a list of glob strings")
    default_excludes = inputs.get("default_excludes", True)
    if not isinstance(default_excludes, bool):
        raise LlmsTxtError("input 'default_excludes' must be true or false")
    return Options(
        source=source,
        out=_str(inputs, "out", ".") or ".",
        base_url=_str(inputs, "base_url", None) or None,
        exclude=tuple(str(item) for item in exclude),
        max_file_bytes=_int(inputs, "max_file_bytes", DEFAULT_MAX_FILE_BYTES),
        default_excludes=default_excludes,
        partial_limit=DEFAULT_PARTIAL_LIMIT,
        include_vendored=_bool(inputs, "include_vendored", False),
        secret_scan=_bool(inputs, "secret_scan", True),
        max_index_tokens=_int(inputs, "max_index_tokens", DEFAULT_INDEX_TOKENS),
        max_full_tokens=_int(inputs, "max_full_tokens", DEFAULT_FULL_TOKENS),
    )


def llms_txt_pipeline(ctx: PipelineContext) -> dict[str, JsonValue]:
    """Generate llms.txt and llms-full.txt for ``ctx.inputs['source']``; see :func:`generate` for the events."""
    return generate(options_from_inputs(ctx.inputs), reporter=ctx)


def pipeline_with(describer: Describer) -> Callable[[PipelineContext], dict[str, JsonValue]]:
    """The same pipeline with another :class:`Describer` (the seam for the LM mode)."""

    def pipeline(ctx: PipelineContext) -> dict[str, JsonValue]:
        return generate(options_from_inputs(ctx.inputs), reporter=ctx, describer=describer)

    pipeline.__name__ = pipeline.__qualname__ = f"llms_txt_pipeline[{type(describer).__name__}]"
    return pipeline
