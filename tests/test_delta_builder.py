"""DeltaBuilder (the token-streaming fast path) builds exactly what the validated constructor builds."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from runwire.actors import RunContext, RunSystem
from runwire.protocol import DeltaBuilder, TextDelta, dump_event, parse_event

from .strategies import aware_datetimes, ids, texts


class _Str(str):
    """A str subclass: not an exact ``str``, so it must take the validated path."""


def _validated(ids_: dict[str, Any], field: Any, text: Any, artifact_id: Any, ts: datetime) -> TextDelta:
    return TextDelta(field=field, text=text, artifact_id=artifact_id, ts=ts, **ids_)


def _same(fast: TextDelta, slow: TextDelta) -> None:
    assert type(fast) is TextDelta
    assert fast == slow
    assert fast.__dict__ == slow.__dict__
    assert fast.__pydantic_fields_set__ == slow.__pydantic_fields_set__
    assert fast.model_dump() == slow.model_dump()
    assert fast.model_dump(exclude_unset=True) == slow.model_dump(exclude_unset=True)
    assert dump_event(fast) == dump_event(slow)
    assert parse_event(dump_event(fast)) == slow


@given(
    run_id=ids,
    parent=st.none() | ids,
    step=st.none() | st.integers(min_value=0, max_value=10_000),
    field=texts,
    text=st.text(max_size=200),
    artifact_id=st.none() | texts,
    ts=aware_datetimes,
    subclass=st.sampled_from(["none", "field", "text", "artifact_id"]),
)
def test_the_fast_path_builds_the_event_the_validated_constructor_builds(
    run_id: str,
    parent: str | None,
    step: int | None,
    field: str,
    text: str,
    artifact_id: str | None,
    ts: datetime,
    subclass: str,
) -> None:
    args: dict[str, Any] = {"field": field, "text": text, "artifact_id": artifact_id}
    if subclass != "none" and args[subclass] is not None:
        args[subclass] = _Str(args[subclass])  # exercises the fallback: same result
    ids_: dict[str, Any] = {"run_id": run_id}
    if parent is not None:
        ids_["parent_run_id"] = parent
    if step is not None:
        ids_["step"] = step
    build = DeltaBuilder(run_id, parent, step)
    _same(build(ts=ts, **args), _validated(ids_, ts=ts, **args))


def test_each_event_owns_its_fields_set() -> None:
    build = DeltaBuilder("r1")
    first, second = build("a", "x"), build("a", "y")
    # events are frozen (nobody may change one for the other subscribers); each still owns its
    # own state, so the runtime's internal stamping of one never shows on another
    with pytest.raises(ValidationError, match="frozen"):
        first.first_seq = 1
    assert first.__pydantic_fields_set__ is not second.__pydantic_fields_set__
    assert first.__dict__ is not second.__dict__


@pytest.mark.parametrize(
    ("field", "text", "artifact_id"),
    [(1, "x", None), ("f", None, None), ("f", "x", 3)],
)
def test_a_bad_argument_raises_the_validation_error(field: Any, text: Any, artifact_id: Any) -> None:
    with pytest.raises(ValidationError):
        DeltaBuilder("r1")(field, text, artifact_id)


def test_naive_timestamps_are_rejected_as_by_the_model() -> None:
    with pytest.raises(ValidationError, match="timezone"):
        DeltaBuilder("r1")("f", "x", ts=datetime(2026, 1, 1))


@pytest.mark.parametrize(("run_id", "step"), [("", None), ("r1", -1)])
def test_bad_run_ids_are_refused_when_the_builder_is_made(run_id: str, step: int | None) -> None:
    with pytest.raises(ValidationError):
        DeltaBuilder(run_id, None, step)


def test_ctx_delta_events_reach_subscribers_as_validated_events(system: RunSystem) -> None:
    def pipeline(ctx: RunContext) -> None:
        ctx.delta("answer", "tok ")
        ctx.delta("answer", "ok", artifact_id="llms.txt")

    handle = system.start(pipeline)
    events = [e for e in handle.events() if e.type == "text.delta"]
    assert [(e.field, e.text, e.artifact_id, e.seq) for e in events] == [
        ("answer", "tok ", None, 2),
        ("answer", "ok", "llms.txt", 3),
    ]
    for event in events:
        assert parse_event(dump_event(event)) == event
