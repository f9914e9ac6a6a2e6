"""Delta throttling: merged, rate-limited, never losing text, first delta not delayed, and all
pending text out before any non-delta event and before the terminal."""

from __future__ import annotations

import time
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runwire.actors import RunContext, RunSystem

from .helpers import assert_well_formed, collect

# a script step: ("delta", field, text) or ("milestone",)
steps = st.lists(
    st.one_of(
        st.tuples(st.just("delta"), st.sampled_from(["answer", "notes"]), st.text(min_size=1, max_size=6)),
        st.tuples(st.just("milestone")),
    ),
    min_size=1,
    max_size=60,
)


@pytest.fixture(scope="module")
def throttled() -> Any:
    with RunSystem(delta_max_rate=200.0, delta_max_delay=0.01) as system:
        yield system


@settings(max_examples=2000)
@given(script=steps, rate=st.sampled_from([None, 20.0, 500.0, 1e6]), is_async=st.booleans())
def test_text_is_never_lost_and_never_after_a_later_event(
    throttled: RunSystem, script: list[tuple[Any, ...]], rate: float | None, is_async: bool
) -> None:
    def body(ctx: RunContext) -> int:
        for step in script:
            if step[0] == "delta":
                ctx.delta(step[1], step[2])
            else:
                ctx.milestone("m")
        return len(script)

    async def async_body(ctx: RunContext) -> int:
        return body(ctx)

    handle = throttled.start(async_body if is_async else body, delta_max_rate=rate)
    events = collect(handle)
    assert_well_formed(events)
    for field in ("answer", "notes"):
        sent = "".join(s[2] for s in script if s[0] == "delta" and s[1] == field)
        assert "".join(e.text for e in events if e.type == "text.delta" and e.field == field) == sent

    # between two milestones, delivered text is exactly what was emitted between them
    def segments(items: list[Any]) -> list[str]:
        out, cur = [], ""
        for item in items:
            if item == "milestone":
                out.append(cur)
                cur = ""
            else:
                cur += item
        return [*out, cur]

    emitted = ["milestone" if s[0] == "milestone" else f"{s[1]}:{s[2]}" for s in script]
    delivered = [
        "milestone" if e.type == "run.milestone" else f"{e.field}:{e.text}"
        for e in events
        if e.type in ("run.milestone", "text.delta")
    ]
    assert [s.replace("answer:", "").replace("notes:", "") for s in segments(delivered)] == [
        s.replace("answer:", "").replace("notes:", "") for s in segments(emitted)
    ]
    last_delta = max((e.seq for e in events if e.type == "text.delta"), default=0)
    assert last_delta < events[-1].seq  # the terminal comes after the last delta


def test_rate_is_honoured_and_first_delta_goes_out_at_once() -> None:
    with RunSystem(delta_max_rate=50.0, delta_max_delay=0.05) as system:

        def producer(ctx: RunContext) -> None:
            t_end = time.monotonic() + 0.5
            while time.monotonic() < t_end:  # a fast token stream for half a second
                ctx.delta("answer", "t")

        handle = system.start(producer)
        events = collect(handle)
        deltas = [e for e in events if e.type == "text.delta"]
        assert deltas[0].text == "t"  # the first one was not held back or merged
        span = (deltas[-1].ts - deltas[0].ts).total_seconds()
        rate = (len(deltas) - 1) / max(span, 1e-9)
        assert rate <= 50.0 * 1.5, rate  # within tolerance of the configured rate
        assert len(deltas) >= 10  # but it did stream, not one lump at the end


def test_max_delay_bounds_how_long_text_is_held() -> None:
    with RunSystem(delta_max_rate=1.0, delta_max_delay=0.05) as system:
        gate_events: list[Any] = []

        def producer(ctx: RunContext) -> None:
            ctx.delta("answer", "first")
            ctx.delta("answer", "held")  # within the 1 s interval: held, at most 50 ms
            ctx.wait_cancelled(1.0)  # idle for a while: the timer must flush it, not the end
            return None

        handle = system.start(producer)
        for event in handle.events():
            gate_events.append(event)
            if event.type == "text.delta" and event.text == "held":
                break
        held_for = (gate_events[-1].ts - gate_events[-2].ts).total_seconds()
        assert held_for < 0.5, held_for
        handle.cancel()


def test_no_delta_after_cancel(throttled: RunSystem) -> None:
    def producer(ctx: RunContext) -> None:
        while True:
            ctx.delta("answer", "x")

    handle = throttled.start(producer, delta_max_rate=10.0)
    it = iter(handle.events())
    next(it)
    handle.cancel()
    events = list(it)
    assert events[-1].type == "run.cancelled"
    assert_well_formed(collect(handle))
