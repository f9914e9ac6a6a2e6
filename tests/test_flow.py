"""Flow control: bounded subscriber buffers and their policies, retained-log bounds and gaps."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runwire.actors import Cancelled, RunContext, RunSystem, SubscriberTooSlowError
from runwire.actors._coalesce import coalesce
from runwire.protocol import RunMilestone, StreamGap, TextDelta

from .helpers import assert_well_formed, collect


def _deltas(n: int, gate: threading.Event | None = None, milestone_every: int = 0):  # type: ignore[no-untyped-def]
    def pipeline(ctx: RunContext) -> int:
        if gate is not None:
            gate.wait(30)
        for i in range(n):
            ctx.delta("answer", f"<{i}>")
            if milestone_every and i % milestone_every == 0:
                ctx.milestone("tick", i=i)
        return n

    return pipeline


def _text(events: list[Any]) -> str:
    return "".join(e.text for e in events if e.type == "text.delta")


def test_block_policy_is_lossless_and_holds_the_producer() -> None:
    with RunSystem(outbox_window=8, shards=1) as system:
        emitted = [0]

        def producer(ctx: RunContext) -> None:
            for i in range(600):
                ctx.delta("answer", f"<{i}>")
                emitted[0] += 1

        handle = system.start(producer)
        seen: list[Any] = []
        max_lead = 0
        for event in handle.events(buffer=10, policy="block", timeout=10):
            seen.append(event)
            deltas_seen = sum(1 for e in seen if e.type == "text.delta")
            max_lead = max(max_lead, emitted[0] - deltas_seen)
        assert_well_formed(seen)
        assert _text(seen) == "".join(f"<{i}>" for i in range(600))
        # the producer never got further ahead than buffer + in-flight window (+ one batch)
        assert max_lead <= 10 + 2 * 8 + 2, max_lead


def test_cancel_while_a_block_subscriber_holds_the_producer() -> None:
    with RunSystem(outbox_window=8, shards=1) as system:
        gate, waiting, saw_cancel = threading.Event(), threading.Event(), threading.Event()
        count = [0]

        def producer(ctx: RunContext) -> None:
            gate.wait(10)
            try:
                while True:
                    ctx.delta("answer", "x")
                    count[0] += 1
            except Cancelled:
                saw_cancel.set()
                raise

        handle = system.start(producer)
        handle._record.outbox.on_wait = waiting.set
        stalled = iter(handle.events(buffer=4, policy="block"))
        next(stalled)  # run.started: subscribed, then never reads again
        gate.set()
        assert waiting.wait(10)  # the worker waits on its window: backpressure reached the producer
        terminal = handle.cancel("held")
        assert saw_cancel.wait(10)  # and the cancel reached it at once
        assert terminal.type == "run.cancelled"
        rest = list(stalled)
        assert rest[-1].type == "run.cancelled"  # terminals pass a full block subscriber
        assert count[0] <= 4 + 2 * 8  # buffer + the batch that crossed it + the outbox window


def test_coalesce_merges_deltas_then_declares_drops_with_a_gap(system: RunSystem) -> None:
    gate = threading.Event()
    handle = system.start(_deltas(300, gate, milestone_every=50))
    slow = iter(handle.events(buffer=20, policy="coalesce"))
    full = iter(handle.events(buffer=None))
    first = next(slow)  # run.started: now this subscriber stops reading until the run ends
    gate.set()
    terminal = handle.wait(10)
    got = [first, *slow]
    everything = list(full)
    assert_well_formed(everything)
    assert got[-1] == terminal
    seqs = [e.seq for e in got]
    assert seqs == sorted(seqs)
    assert len(got) < len(everything)
    milestones = [e for e in everything if e.type == "run.milestone"]
    assert [e for e in got if e.type == "run.milestone"] == milestones  # never dropped or merged
    # text is recoverable: delivered deltas + the gap ranges replayed from the log == the whole text
    by_seq = {e.seq: e for e in everything}
    rebuilt = ""
    for e in got:
        if e.type == "text.delta":
            rebuilt += e.text
            if e.first_seq is not None:
                assert (
                    "".join(
                        by_seq[s].text
                        for s in range(e.first_seq, e.seq + 1)
                        if s in by_seq and by_seq[s].type == "text.delta"
                    )
                    == e.text
                )
        elif e.type == "stream.gap":
            rebuilt += "".join(
                by_seq[s].text for s in range(e.from_seq, e.to_seq + 1) if by_seq[s].type == "text.delta"
            )
    assert rebuilt == _text(everything)


def test_disconnect_policy_closes_only_the_slow_subscriber(system: RunSystem) -> None:
    gate = threading.Event()
    handle = system.start(_deltas(200, gate))
    slow = iter(handle.events(buffer=10, policy="disconnect"))
    healthy = iter(handle.events())
    next(slow)
    gate.set()
    assert handle.wait(10).type == "run.completed"
    with pytest.raises(SubscriberTooSlowError, match=r"after_seq=1\)") as info:
        list(slow)
    assert info.value.last_seq == 1
    events = list(healthy)
    assert_well_formed(events)
    assert len(events) == 202
    resumed = collect(handle, after_seq=info.value.last_seq)  # resume from the cursor: nothing lost
    assert [e.seq for e in resumed] == list(range(2, 203))


def test_old_cursor_gets_one_gap_then_the_retained_log() -> None:
    with RunSystem(retain_events=20) as system:
        handle = system.start(_deltas(100))
        handle.wait(10)
        info = handle.info()
        assert info.retained_from > 1
        events = collect(handle)
        gap = events[0]
        assert isinstance(gap, StreamGap)
        assert (gap.from_seq, gap.to_seq) == (1, info.retained_from - 1)
        assert [e.seq for e in events[1:]] == list(range(info.retained_from, info.last_seq + 1))
        assert len(events) - 1 <= 20
        assert collect(handle, after_seq=info.retained_from - 1)[0].seq == info.retained_from  # no gap


def test_retained_log_is_bounded_by_bytes_too() -> None:
    with RunSystem(retain_bytes=50_000) as system:

        def big(ctx: RunContext) -> None:
            for _ in range(200):
                ctx.delta("answer", "x" * 2_000)

        handle = system.start(big)
        handle.wait(10)
        events = collect(handle)
        assert events[0].type == "stream.gap"
        assert sum(len(getattr(e, "text", "")) for e in events) <= 50_000


def test_bad_buffer_or_policy_is_a_clear_error(system: RunSystem) -> None:
    handle = system.start(lambda ctx: 1)
    with pytest.raises(ValueError, match="policy must be one of"):
        handle.events(policy="drop-everything")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="buffer must be >= 1"):
        handle.events(buffer=0)


_kinds = st.sampled_from(["a", "a", "a", "b", "milestone"])


@settings(max_examples=500)
@given(st.lists(_kinds, min_size=1, max_size=80), st.integers(min_value=1, max_value=30))
def test_coalesce_never_drops_what_it_must_keep(kinds: list[str], limit: int) -> None:
    events: list[Any] = []
    for seq, kind in enumerate(kinds, start=1):
        if kind == "milestone":
            events.append(RunMilestone(run_id="r", seq=seq, name="m"))
        else:
            events.append(TextDelta(run_id="r", seq=seq, field=kind, text=f"{kind}{seq};"))
    out = coalesce(events, limit)
    assert [e.seq for e in out] == sorted(e.seq for e in out)  # still in order
    assert [e for e in out if e.type == "run.milestone"] == [e for e in events if e.type == "run.milestone"]
    assert len(out) <= limit or all(e.type != "text.delta" for e in out)
    covered: set[int] = set()
    for e in out:
        if e.type == "text.delta":
            covered |= set(range(e.first_seq or e.seq, e.seq + 1))
        elif e.type == "stream.gap":
            covered |= set(range(e.from_seq, e.to_seq + 1))
    assert {e.seq for e in events if e.type == "text.delta"} <= covered  # every delta delivered or declared
    for e in out:  # merged deltas carry exactly the text of what they cover, of one field
        if e.type == "text.delta" and e.first_seq is not None:
            parts = [x for x in events if e.first_seq <= x.seq <= e.seq and x.type == "text.delta"]
            assert {p.field for p in parts} == {e.field}
            assert "".join(p.text for p in parts) == e.text
