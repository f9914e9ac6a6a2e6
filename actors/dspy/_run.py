"""Any DSPy program as a runwire run: a pipeline factory and a one-call ``run_dspy``.

Why a factory: a run's pipeline only gets ``ctx``; the program, its listeners and its LM are
bound here, and the run's inputs (``ctx.inputs``, JSON) are the program's keyword arguments. The
pipeline is ``async``, so the runtime runs it on its event loop and a cancel cancels its task:
the DSPy stream (and its HTTP request) is closed at once, not at the next chunk.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import fields
from typing import Any, Literal, Unpack

from pydantic import JsonValue

from runwire.actors import RunContext, RunHandle, RunSystem

from ._stream import StreamArgs, StreamOptions, stream_program
from ._text import jsonable

__all__ = ["dspy_pipeline", "prediction_json", "run_dspy"]

DSPyPipeline = Callable[[RunContext], Awaitable[JsonValue]]
_OPTION_NAMES = frozenset(field.name for field in fields(StreamOptions))


def prediction_json(result: Any) -> JsonValue:
    """The ``run.completed`` result: a Prediction's fields as a JSON object (else the value as JSON)."""
    import dspy  # type: ignore[import-untyped]

    if isinstance(result, dspy.Prediction):
        return {key: jsonable(value) for key, value in result.items()}
    value: JsonValue = jsonable(result)
    return value


def dspy_pipeline(program: Any, **options: Unpack[StreamArgs]) -> DSPyPipeline:
    """An async pipeline that calls ``program(**ctx.inputs)`` with streaming (see :class:`StreamOptions`).

    Events: ``text.delta`` per streamed chunk (field = the output field, or ``predictor.field``
    where two listened predictors share a name), a last delta with whatever the listeners missed,
    ``run.milestone`` ``predict_finished`` per listened predictor call, ``run.log`` per DSPy status
    message; the result is the final Prediction's fields; finish_reason is on the terminal.
    """
    stream = StreamOptions(**options)

    async def dspy_run(ctx: RunContext) -> JsonValue:
        return prediction_json(await stream_program(ctx, program, ctx.inputs, stream))

    dspy_run.__name__ = dspy_run.__qualname__ = f"dspy[{type(program).__name__}]"
    return dspy_run


def run_dspy(
    system: RunSystem,
    program: Any,
    *,
    inputs: Mapping[str, Any] | None = None,
    name: str | None = None,
    delta_max_rate: float | Literal["default"] | None = "default",
    delta_max_delay: float | None = None,
    **options_and_inputs: Any,
) -> RunHandle:
    """Start ``program(**inputs, **program_inputs)`` as a run on ``system``; return its handle at once.

    A keyword argument named like a :class:`StreamOptions` field (``lm``, ``listeners``, ...) is
    that option, as for :func:`dspy_pipeline`; every other one is a program input. ``inputs``
    must be JSON (they are the run's inputs); pass them in ``inputs=`` when a name clashes with an
    option. Plus ``name`` and the per-run delta throttling of ``system.start``.
    """
    options = {key: options_and_inputs.pop(key) for key in _OPTION_NAMES & options_and_inputs.keys()}
    pipeline = dspy_pipeline(program, **options)
    return system.start(
        pipeline,
        {**(inputs or {}), **options_and_inputs},
        name=name,
        delta_max_rate=delta_max_rate,
        delta_max_delay=delta_max_delay,
    )
