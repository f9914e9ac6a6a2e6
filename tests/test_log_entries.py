"""The retained log keeps text deltas as plain values and other events as JSON: replay is exact."""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runwire.actors import RunContext, RunSystem
from runwire.protocol import TextDelta, dump_event, parse_event
from runwire.protocol._fast import assemble_delta

from .helpers import collect
from .strategies import events_of

Op = tuple[str, str, str, str | None]  # ("delta", field, text, artifact_id) | ("milestone", name, note, None)


def _ops(text: st.SearchStrategy[str]) -> st.SearchStrategy[list[Op]]:
    delta = st.tuples(st.just("delta"), st.sampled_from(["answer", "summary"]), text, st.none() | text.filter(bool))
    milestone = st.tuples(st.just("milestone"), text.filter(bool), text, st.none())
    return st.lists(st.one_of(delta, milestone), max_size=40)


# Printable ASCII without the characters JSON escapes: its JSON size is its length.
_plain_ascii = st.text(
    alphabet=st.characters(min_codepoint=32, max_codepoint=126, exclude_characters='"\\'), max_size=30
)


@pytest.fixture(scope="module")
def shared_system() -> Iterator[RunSystem]:
    with RunSystem() as system:
        yield system


def _script(ops: list[Op]) -> Callable[[RunContext], None]:
    def pipeline(ctx: RunContext) -> None:
        for kind, a, b, c in ops:
            if kind == "delta":
                ctx.delta(a, b, artifact_id=c)
            else:
                ctx.milestone(a, note=b)

    return pipeline


@settings(max_examples=60, deadline=None)
@given(ops=_ops(st.text(max_size=30)))
def test_a_replay_from_the_log_equals_what_live_subscribers_got(shared_system: RunSystem, ops: list[Op]) -> None:
    handle = shared_system.start(_script(ops))
    live = collect(handle)  # subscribed as the run starts: mostly live pushes of the producer's objects
    replayed = collect(handle)  # after the terminal: every event decoded from the retained log
    assert replayed == live
    assert [dump_event(e) for e in replayed] == [dump_event(e) for e in live]


@settings(max_examples=40, deadline=None)
@given(ops=_ops(_plain_ascii))
def test_retained_bytes_are_the_json_size_of_the_log_for_ascii_text(shared_system: RunSystem, ops: list[Op]) -> None:
    handle = shared_system.start(_script(ops))
    handle.wait(10)
    info = handle.info()
    assert info.retained_from == 1
    assert info.retained_bytes == sum(len(dump_event(e)) for e in collect(handle))


@given(event=events_of(TextDelta))
def test_a_delta_assembled_from_its_values_is_the_event_its_json_parses_to(event: TextDelta) -> None:
    parsed = parse_event(dump_event(event))
    values = {name: getattr(event, name) for name in TextDelta.model_fields if name != "type"}
    assembled = assemble_delta(**values)
    assert assembled == parsed
    assert assembled.__pydantic_fields_set__ == parsed.__pydantic_fields_set__
    assert dump_event(assembled) == dump_event(event)


def test_the_log_allocates_no_gc_tracked_object_per_event(shared_system: RunSystem) -> None:
    """A per-event container in the log would run the cyclic GC every 700 events (and full
    collections of tens of ms): the log's growth must not count as GC allocations."""
    n = 20_000

    def pipeline(ctx: RunContext) -> None:
        for _ in range(n):
            ctx.delta("answer", "tok ")

    gc.collect()
    before = gc.get_stats()[0]["collections"]
    handle = shared_system.start(pipeline)
    handle.wait(30)
    collections = gc.get_stats()[0]["collections"] - before
    assert handle.info().last_seq == n + 2  # the whole run is retained
    threshold = gc.get_threshold()[0]  # 700: one young collection per that many net allocations
    print(f"young collections during {n} events: {collections}")
    assert collections < n // threshold // 4  # a tracked object per event would make n/700
