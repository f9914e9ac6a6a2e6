"""DSPy programs as runwire runs: streamed text as ``text.delta``, the Prediction as the result.

``run_dspy(system, program, **inputs)`` starts any DSPy program as a run; ``dspy_pipeline``
builds the pipeline for ``system.start``; ``lm_pipeline(model)`` is the LM mode of the llms.txt
job. Importing this package does not import DSPy (each name loads its module on first use), so
``runwire.actors.dspy.scripted`` — a scripted OpenAI-compatible server — works without it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._config import LMConfigError, check_lm_config
    from ._describer import AnalyzeRepository, DescribeFile, LMDescriber
    from ._llms import lm_pipeline, make_lm
    from ._run import dspy_pipeline, prediction_json, run_dspy
    from ._stream import StreamOptions, stream_program

__all__ = [
    "AnalyzeRepository",
    "DescribeFile",
    "LMConfigError",
    "LMDescriber",
    "StreamOptions",
    "check_lm_config",
    "dspy_pipeline",
    "lm_pipeline",
    "make_lm",
    "prediction_json",
    "run_dspy",
    "stream_program",
]

_HOME = {
    "DescribeFile": "._describer",
    "LMDescriber": "._describer",
    "LMConfigError": "._config",
    "check_lm_config": "._config",
    "AnalyzeRepository": "._describer",
    "lm_pipeline": "._llms",
    "make_lm": "._llms",
    "dspy_pipeline": "._run",
    "prediction_json": "._run",
    "run_dspy": "._run",
    "StreamOptions": "._stream",
    "stream_program": "._stream",
}


def __getattr__(name: str) -> Any:
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    try:
        module = importlib.import_module(home, __name__)
    except ModuleNotFoundError as exc:
        if (exc.name or "").split(".")[0] == "dspy":
            raise ImportError("runwire's DSPy integration needs DSPy: pip install 'runwire[dspy]'") from exc
        raise
    value = getattr(module, name)
    globals()[name] = value
    return value
