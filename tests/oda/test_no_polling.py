"""The chain is driven by messages, never by a timer: no periodic wake-up anywhere in the runtime while
a loop runs, and step N+1's run.started follows step N's terminal with no timed wait in between.

Instrument: a profile hook on every thread the RunSystem and the loop start records each call that
can wait on a clock — ``Condition.wait``/``Event.wait`` and ``Queue.get`` with a timeout, the event
loop's ``select(timeout)`` and ``call_at``, the runtime Timer's ``call_later``, ``time.sleep``. A
positive control (a naive poller) shows the instrument does catch polling when there is some.
"""

from __future__ import annotations

import asyncio.base_events
import queue
import selectors
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from types import FrameType
from typing import Any

import pytest

from runwire.actors import RunSystem, _timer
from runwire.actors.oda import loop_events

from ._util import WAIT, steps_then_finish

STEPS = 30
RETENTION = 3600.0  # the runtime's only timer in this test: each run's retention TTL, far away

_WATCHED: dict[Any, tuple[str, str]] = {
    threading.Condition.wait.__code__: ("Condition.wait", "timeout"),
    queue.Queue.get.__code__: ("Queue.get", "timeout"),
    selectors.EpollSelector.select.__code__: ("selector.select", "timeout"),
    asyncio.base_events.BaseEventLoop.call_at.__code__: ("loop.call_at", "when"),
    _timer.Timer.call_later.__code__: ("Timer.call_later", "delay"),
}


@dataclass
class Waits:
    """What the profile hook saw: (thread, call, timeout) for every call that may wait on a clock."""

    calls: list[tuple[str, str, Any]] = field(default_factory=list)
    threads: set[str] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def hook(self, frame: FrameType, event: str, arg: Any) -> None:
        if event == "call":
            self.threads.add(threading.current_thread().name)  # which threads the instrument covers
            spec = _WATCHED.get(frame.f_code)
            if spec is None:
                return
            name, param = spec
            record = (threading.current_thread().name, name, frame.f_locals.get(param))
        elif event == "c_call" and arg is time.sleep:
            record = (threading.current_thread().name, "time.sleep", None)
        else:
            return
        with self._lock:
            self.calls.append(record)

    def timed(self, prefix: str = "") -> list[tuple[str, str, Any]]:
        """Calls that wait on a clock: a positive timeout, a scheduled call, or a sleep."""
        out = []
        for thread, name, value in self.calls:
            if not thread.startswith(prefix):
                continue
            if (
                name == "time.sleep"
                or name in ("loop.call_at", "Timer.call_later")
                or (value is not None and value > 0)
            ):
                out.append((thread, name, value))
        return out


@pytest.fixture
def waits() -> Iterator[Waits]:
    recorder = Waits()
    threading.setprofile(recorder.hook)  # every thread started from now on runs the hook
    try:
        yield recorder
    finally:
        threading.setprofile(None)  # type: ignore[arg-type]


def test_no_periodic_wake_up_and_no_timer_between_a_terminal_and_the_next_start(waits: Waits) -> None:
    with RunSystem(retention=RETENTION) as system:
        loop = system.loop(None, steps_then_finish(STEPS))
        assert loop.wait(WAIT).type == "run.completed"
        events = list(loop_events(system, loop, timeout=WAIT))
        snapshot = list(waits.calls)

    # the instrument covered the whole chain: actors, the loop's runner and thinker, workers, event loop
    for prefix in ("StepRunnerActor", "runwire-oda-", "BusActor", "CompletionActor", "runwire-loop"):
        assert any(t.startswith(prefix) for t in waits.threads), (prefix, sorted(waits.threads))

    timed = Waits(calls=snapshot).timed()
    # the only clock in the runtime during the loop: each run's retention TTL on the Timer thread,
    # scheduled once per run at its terminal and an hour away; never a short, repeated wait
    ttl_only = [c for c in timed if not (c[0] == "runwire-timer" or c[1] == "Timer.call_later")]
    assert ttl_only == [], ttl_only
    assert all(value >= RETENTION / 2 for _, name, value in timed if name in ("Condition.wait", "Timer.call_later"))
    assert not [c for c in snapshot if c[1] == "time.sleep"]
    # and the Timer thread waited again only when a new TTL was scheduled (woken by it), never on its own
    timer_waits = [c for c in timed if c[0] == "runwire-timer"]
    assert len(timer_waits) <= sum(1 for c in timed if c[1] == "Timer.call_later")

    # step N+1 starts after step N's terminal, and the loop's step.finished(N) comes before step.started(N+1)
    started: dict[int, Any] = {}
    ended: dict[int, Any] = {}
    for event in events:
        if event.run_id != loop.run_id and event.step is not None:
            if event.type == "run.started":
                started[event.step] = event.ts
            elif event.type == "run.completed":
                ended[event.step] = event.ts
    assert sorted(started) == sorted(ended) == list(range(STEPS))
    assert all(started[n + 1] >= ended[n] for n in range(STEPS - 1))
    loop_steps = [(e.type, e.index) for e in events if e.run_id == loop.run_id and e.type.startswith("step.")]  # type: ignore[union-attr]
    assert loop_steps == [(kind, n) for n in range(STEPS) for kind in ("step.started", "step.finished")]


def test_the_instrument_does_see_a_poller(waits: Waits) -> None:
    """Positive control: the design the loop rules out (check a status every few ms) is caught."""
    with RunSystem(retention=RETENTION) as system:
        release = threading.Event()
        handle = system.start(lambda ctx: release.wait(WAIT))

        def poller() -> None:
            tick, polls = threading.Event(), 0
            while handle.info().terminal is None:
                polls += 1
                if polls == 3:
                    release.set()  # let the run end after a few polls
                tick.wait(0.002)  # the naive chain's status check, deliberately

        thread = threading.Thread(target=poller, name="naive-poller")
        thread.start()
        thread.join(WAIT)
    assert any(value == 0.002 for _, _, value in waits.timed("naive-poller"))
