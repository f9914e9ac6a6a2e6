"""Subscribers cannot harm a run (1): values JSON cannot carry never enter a run's log.

A lone surrogate (``"\\ud800"``) is a ``str`` pydantic accepts but UTF-8 JSON cannot encode;
NaN/inf are floats JSON has no spelling for. Either one in a log used to break the bus (a run
with no terminal, events live but not replayed, ``nan`` live and ``'NaN'`` replayed). They are
refused where they enter, so live == replay == store, byte for byte.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from runwire.actors import RunContext, RunSystem
from runwire.protocol import RunLog, dump_event

from .helpers import assert_well_formed, collect

BAD = "ok\ud800"
NAN = float("nan")

_EMITS: dict[str, Callable[[RunContext], None]] = {
    "log": lambda ctx: ctx.log(BAD),
    "delta text": lambda ctx: ctx.delta("answer", BAD),
    "delta field": lambda ctx: ctx.delta(BAD, "x"),
    "delta artifact": lambda ctx: ctx.delta("answer", "x", BAD),
    "milestone name": lambda ctx: ctx.milestone(BAD),
    "milestone data": lambda ctx: ctx.milestone("m", where=[{"k": BAD}]),
    "milestone key": lambda ctx: ctx.milestone("m", **{BAD: 1}),
    "progress message": lambda ctx: ctx.progress(0.5, message=BAD),
    "artifact partial": lambda ctx: ctx.artifact_partial("a", BAD),
    "artifact content": lambda ctx: ctx.artifact("a", content=BAD),
    "emit": lambda ctx: ctx.emit(RunLog.model_construct(run_id="x", message=BAD, level="info")),
    "milestone nan": lambda ctx: ctx.milestone("m", x=NAN),
    "milestone inf": lambda ctx: ctx.milestone("m", x=[1, {"y": float("inf")}]),
    "finish reason": lambda ctx: ctx.report_finish_reason(BAD),
}


def _live_and_replay(system: RunSystem, pipeline: Callable[[RunContext], Any]) -> tuple[list[Any], list[Any]]:
    """What a live subscriber got, and the replay after the end, as JSON bytes."""
    handle = system.start(pipeline)
    live = collect(handle)
    replay = collect(handle)
    assert_well_formed(live)
    return [dump_event(e) for e in live], [dump_event(e) for e in replay]


@pytest.mark.parametrize("emit", list(_EMITS), ids=list(_EMITS))
def test_a_value_json_cannot_encode_is_refused_at_the_emit_and_the_log_stays_whole(
    system: RunSystem, emit: str
) -> None:
    refused: list[BaseException] = []

    def pipeline(ctx: RunContext) -> str:
        for i in range(10):
            ctx.log(f"before {i}")
        try:
            _EMITS[emit](ctx)
        except ValueError as exc:  # pydantic's ValidationError is one
            refused.append(exc)
        for i in range(10):
            ctx.log(f"after {i}")
        return "done"

    live, replay = _live_and_replay(system, pipeline)
    assert len(refused) == 1, "the emit must raise at the call"
    assert live == replay  # byte for byte
    assert len(live) == 1 + 20 + 1  # run.started, every log line, the terminal
    assert b'"run.completed"' in live[-1]


@pytest.mark.parametrize(
    "result",
    [BAD, {"k": BAD}, [1, [BAD]], {BAD: 1}, NAN, {"x": float("-inf")}],
    ids=["str", "nested", "list", "key", "nan", "inf"],
)
def test_a_result_json_cannot_encode_fails_the_run_clearly(system: RunSystem, result: Any) -> None:
    live, replay = _live_and_replay(system, lambda ctx: result)
    assert live == replay
    assert b'"run.failed"' in live[-1] and b"not JSON" in live[-1]


def test_an_error_message_json_cannot_encode_still_ends_the_run(system: RunSystem) -> None:
    def pipeline(ctx: RunContext) -> None:
        raise ValueError(f"bad {BAD}")

    live, replay = _live_and_replay(system, pipeline)
    assert live == replay
    assert b'"run.failed"' in live[-1] and b"\\\\ud800" in live[-1]  # written as its escape


def test_inputs_or_ids_json_cannot_encode_are_refused_at_start(system: RunSystem) -> None:
    for inputs in ({"k": BAD}, {BAD: 1}, {"k": [NAN]}, {"k": float("inf")}):
        with pytest.raises(ValueError, match="inputs"):
            system.start(lambda ctx: 1, inputs)
    for kwargs in ({"run_id": BAD}, {"name": BAD}, {"parent_run_id": BAD}):
        with pytest.raises(ValueError, match="lone surrogate"):
            system.start(lambda ctx: 1, **kwargs)
    assert system.runs() == []  # nothing was started
    assert system.start(lambda ctx: 1).wait(10).type == "run.completed"


def test_outcome_signals_json_cannot_encode_are_refused_at_the_call(system: RunSystem) -> None:
    import threading

    release = threading.Event()
    handle = system.start(lambda ctx: release.wait(10) and 1)
    with pytest.raises(ValueError, match="lone surrogate"):
        handle.cancel(BAD)
    with pytest.raises(ValueError, match="lone surrogate"):
        handle.fail("E", BAD)
    with pytest.raises(ValueError, match="not a JSON value"):
        handle.complete({"x": NAN})
    with pytest.raises(ValueError, match="lone surrogate"):
        handle.report_finish_reason(BAD)
    release.set()
    events = collect(handle)
    assert_well_formed(events)
    assert events[-1].type == "run.completed" and events[-1].finish_reason is None
