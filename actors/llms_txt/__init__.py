"""llms.txt for a repository: the library behind the ``llms_txt`` pipeline.

:func:`generate` is the plain library call (no runtime needed); :func:`llms_txt_pipeline` is the
run-system entry point. Bad input raises :class:`LlmsTxtError` (a ``ValueError``) before anything
is written. Descriptions come from a :class:`Describer`: :class:`ExtractiveDescriber` by default.
"""

from __future__ import annotations

from .context import NullReporter, PipelineContext, Reporter
from .describer import Describer, ExtractiveDescriber, FileDescription, Overview, describe_all, overview_of
from .errors import LlmsTxtError, OutputError, SourceError
from .generate import (
    DEFAULT_FULL_TOKENS,
    DEFAULT_INDEX_TOKENS,
    DEFAULT_MAX_FILE_BYTES,
    LLMS_FULL_TXT,
    LLMS_TXT,
    Options,
    generate,
)
from .pipeline import llms_txt_pipeline, options_from_inputs, pipeline_with
from .project import ProjectFacts

__all__ = [
    "DEFAULT_FULL_TOKENS",
    "DEFAULT_INDEX_TOKENS",
    "DEFAULT_MAX_FILE_BYTES",
    "LLMS_FULL_TXT",
    "LLMS_TXT",
    "Describer",
    "ExtractiveDescriber",
    "FileDescription",
    "LlmsTxtError",
    "NullReporter",
    "Options",
    "OutputError",
    "Overview",
    "PipelineContext",
    "ProjectFacts",
    "Reporter",
    "SourceError",
    "describe_all",
    "generate",
    "llms_txt_pipeline",
    "options_from_inputs",
    "overview_of",
    "pipeline_with",
]
