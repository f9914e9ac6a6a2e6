"""Guarantee 3: the terminal fence. Nothing is delivered after the terminal; late publishes are
dropped and counted on the run's info."""

from __future__ import annotations

import threading
from typing import Any

from runwire.actors import RunContext, RunSystem

from .helpers import assert_well_formed, collect


def test_emits_after_the_terminal_are_dropped_and_counted(system: RunSystem) -> None:
    kept: list[RunContext] = []

    def pipeline(ctx: RunContext) -> str:
        kept.append(ctx)
        ctx.log("inside")
        return "done"

    handle = system.start(pipeline)
    live = iter(handle.events(timeout=10))
    terminal = handle.wait(10)
    for i in range(7):
        kept[0].log(f"late {i}")  # a stray thread holding ctx after the run ended
    events = list(live)
    assert_well_formed(events)
    assert events[-1] == terminal
    assert handle.info().late_events_dropped == 7
    assert handle.info().last_seq == terminal.seq
    assert collect(handle) == events


def test_background_thread_racing_the_end_never_passes_the_fence(system: RunSystem) -> None:
    for _ in range(50):
        go = threading.Event()
        stop = threading.Event()
        counts = {"emitted": 0}

        def pipeline(
            ctx: RunContext, go: threading.Event = go, stop: threading.Event = stop, counts: dict[str, int] = counts
        ) -> str:
            def spam() -> None:
                go.set()
                while not stop.is_set():
                    ctx.log("bg")
                    counts["emitted"] += 1

            threading.Thread(target=spam, daemon=True).start()
            go.wait(10)
            return "done"

        handle = system.start(pipeline)
        events: list[Any] = collect(handle)
        stop.set()
        assert_well_formed(events)
        info = handle.info()
        logged = sum(1 for e in events if e.type == "run.log")
        assert logged + info.late_events_dropped <= counts["emitted"] + 1
