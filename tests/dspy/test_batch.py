"""DeltaBatcher on a real event loop: the first chunk goes at once, a burst is merged, order is kept.

The adaptive window (widening in a burst, back to base after a pause) is driven on a virtual
clock: the loop's ``time`` and ``call_later`` in virtual seconds, so every decision is exact.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runwire.actors.dspy._batch import DeltaBatcher, PieceBatcher


def test_a_burst_is_merged_per_field_in_order_and_flushed_by_the_loop() -> None:
    async def main() -> list[tuple[str, str]]:
        sent: list[tuple[str, str]] = []
        done = asyncio.Event()

        def emit(field: str, text: str) -> None:
            sent.append((field, text))
            if text.endswith("!"):
                done.set()

        batch = DeltaBatcher(emit, 0.01, asyncio.get_running_loop())
        for field, text in [("a", "1"), ("a", "2"), ("a", "3"), ("b", "x"), ("a", "4!")]:
            batch.add(field, text)
        assert sent == [("a", "1")]  # the first goes at once, the rest waits for the window
        await asyncio.wait_for(done.wait(), 5)  # flushed by loop.call_later, no thread involved
        return sent

    assert asyncio.run(main()) == [("a", "1"), ("a", "23"), ("b", "x"), ("a", "4!")]


def test_flush_sends_pending_text_now_and_drop_forgets_it() -> None:
    async def main() -> list[tuple[str, str]]:
        sent: list[tuple[str, str]] = []
        batch = DeltaBatcher(lambda f, t: sent.append((f, t)), 60.0, asyncio.get_running_loop())
        batch.add("a", "1")
        batch.add("a", "2")
        batch.flush()
        batch.add("a", "3")
        batch.drop()
        batch.flush()
        return sent

    assert asyncio.run(main()) == [("a", "1"), ("a", "2")]


def test_without_a_window_every_chunk_is_its_own_delta() -> None:
    sent: list[tuple[str, str]] = []
    batch = DeltaBatcher(lambda f, t: sent.append((f, t)), 0.0, None)
    for text in "abc":
        batch.add("f", text)
    assert sent == [("f", "a"), ("f", "b"), ("f", "c")]


class _Timer:
    def __init__(self, loop: VirtualLoop, at: float, callback: Callable[[], object]) -> None:
        self.loop, self.at, self.callback, self.cancelled = loop, at, callback, False

    def cancel(self) -> None:
        self.cancelled = True


class VirtualLoop:
    """A clock and timers in virtual seconds: the batcher's decisions without the machine's timing."""

    def __init__(self) -> None:
        self.now = 0.0
        self.timers: list[_Timer] = []

    def time(self) -> float:
        return self.now

    def call_later(self, delay: float, callback: Callable[[], object], /) -> _Timer:
        assert delay >= 0
        timer = _Timer(self, self.now + delay, callback)
        self.timers.append(timer)
        return timer

    def advance_to(self, at: float) -> None:
        """Run every timer due by ``at`` at its own time, in time order, then stand at ``at``."""
        while True:
            due = [t for t in self.timers if not t.cancelled and t.at <= at]
            if not due:
                break
            timer = min(due, key=lambda t: t.at)
            self.timers.remove(timer)
            self.now = max(self.now, timer.at)
            timer.callback()
        self.timers = [t for t in self.timers if not t.cancelled]
        self.now = max(self.now, at)


class _Recorder:
    """``emit`` for a PieceBatcher: each batch with the virtual time it went out."""

    def __init__(self, loop: VirtualLoop) -> None:
        self.loop = loop
        self.batches: list[tuple[float, str, list[str]]] = []

    def __call__(self, key: str, pieces: list[str]) -> bool:
        self.batches.append((self.loop.now, key, list(pieces)))
        return True


def test_the_window_widens_while_a_burst_fills_batches_and_returns_to_base_after_a_pause() -> None:
    loop = VirtualLoop()
    sent = _Recorder(loop)
    batch = PieceBatcher(sent, 0.002, loop, window_max=0.016)
    at = 0.0
    for _ in range(400):  # a burst: a chunk every 0.1 ms for 40 ms
        loop.advance_to(at)
        batch.add("a", "x")
        at += 0.0001
    loop.advance_to(at)
    windows = [b - a for (a, *_), (b, *_) in itertools.pairwise(sent.batches)]
    assert sent.batches[0][0] == 0.0 and sent.batches[0][2] == ["x"]  # the first chunk at once
    assert windows[:4] == pytest.approx([0.002, 0.004, 0.008, 0.016])  # doubles per full batch
    assert max(windows) == pytest.approx(0.016)  # never past the cap
    assert batch.window == pytest.approx(0.016)
    loop.advance_to(at + 0.05)  # the held tail goes out by its timer
    assert sum(len(pieces) for _, _, pieces in sent.batches) == 400
    pause_end = loop.now + 0.02  # more than the widened window since the last emit
    loop.advance_to(pause_end)
    batch.add("a", "after")
    assert sent.batches[-1] == (pause_end, "a", ["after"])  # the first chunk after a pause: at once
    assert batch.window == 0.002  # and the window is back to base
    loop.advance_to(pause_end + 0.001)
    batch.add("a", "next")
    loop.advance_to(pause_end + 0.01)
    assert sent.batches[-1] == (pytest.approx(pause_end + 0.002), "a", ["next"])


def test_a_lone_piece_in_a_widened_batch_brings_the_window_back_to_base() -> None:
    loop = VirtualLoop()
    sent = _Recorder(loop)
    batch = PieceBatcher(sent, 0.002, loop, window_max=0.016)
    for i in range(100):  # a burst widens the window to the cap
        loop.advance_to(i * 0.0001)
        batch.add("a", "x")
    loop.advance_to(0.0145)  # batches closed at 2, 6 and 14 ms
    assert [t for t, *_ in sent.batches] == pytest.approx([0.0, 0.002, 0.006, 0.014])
    assert batch.window == pytest.approx(0.016)
    last = sent.batches[-1][0]
    loop.advance_to(last + 0.01)  # an LM slowing to 100 tokens/s: held once, to the widened window's end
    batch.add("a", "slow")
    loop.advance_to(last + 0.03)
    assert sent.batches[-1] == (pytest.approx(last + 0.016), "a", ["slow"])
    assert batch.window == 0.002


@pytest.mark.parametrize("window_max", [None, 0.0, 0.002])
def test_a_cap_at_or_below_the_window_keeps_the_window_fixed(window_max: float | None) -> None:
    loop = VirtualLoop()
    sent = _Recorder(loop)
    batch = PieceBatcher(sent, 0.002, loop, window_max=window_max)
    for i in range(200):
        loop.advance_to(i * 0.0001)
        batch.add("a", "x")
    loop.advance_to(0.05)
    times = [t for t, *_ in sent.batches]
    assert [b - a for a, b in itertools.pairwise(times)] == pytest.approx([0.002] * (len(times) - 1))


_ARRIVALS = st.lists(
    st.tuples(
        st.sampled_from([0.0, 0.00005, 0.0005, 0.0019, 0.003, 0.009, 0.02, 0.1]),  # gap before the chunk
        st.sampled_from(["a", "b"]),
        st.sampled_from(["add", "add", "add", "flush"]),  # a flush: another event (a log, a call's end)
    ),
    max_size=120,
)


@given(
    arrivals=_ARRIVALS,
    window=st.sampled_from([0.0, 0.001, 0.002, 0.005]),
    window_max=st.sampled_from([None, 0.0, 0.002, 0.008, 0.016]),
    nothing_at=st.frozensets(st.integers(0, 119), max_size=10),
)
@settings(max_examples=400)
def test_any_arrival_schedule_sends_every_piece_once_in_order_and_holds_no_batch_past_the_cap(
    arrivals: list[tuple[float, str, str]], window: float, window_max: float | None, nothing_at: frozenset[int]
) -> None:
    """Every piece exactly once, in order; adjacent pieces of one key only; no batch older than the cap."""
    loop = VirtualLoop()
    cap = max(window, window_max or 0.0)
    arrived: dict[int, float] = {}
    sent: list[tuple[str, list[str]]] = []

    def emit(key: str, pieces: list[str]) -> bool:
        first = int(pieces[0].split(":")[1])
        assert loop.now - arrived[first] <= cap + 1e-12  # held no longer than the cap after its first piece
        sent.append((key, list(pieces)))
        return not all(int(p.split(":")[1]) in nothing_at for p in pieces)  # held whitespace: sends nothing

    batch = PieceBatcher(emit, window, loop, window_max)
    pieces: list[tuple[str, str]] = []
    for gap, key, action in arrivals:
        loop.advance_to(loop.now + gap)
        if action == "flush":
            batch.flush()
            continue
        piece = f"{key}:{len(pieces)}"
        arrived[len(pieces)] = loop.now
        pieces.append((key, piece))
        batch.add(key, piece)
    loop.advance_to(loop.now + 1.0)  # every timer fires
    assert not loop.timers
    assert [(key, p) for key, ps in sent for p in ps] == pieces  # each once, in arrival order
    assert all(len({p.split(":")[0] for p in ps}) == 1 and ps[0].startswith(key) for key, ps in sent)
