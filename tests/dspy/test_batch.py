"""DeltaBatcher on a real event loop: the first chunk goes at once, a burst is merged, order is kept."""

from __future__ import annotations

import asyncio

from runwire.actors.dspy._batch import DeltaBatcher


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
