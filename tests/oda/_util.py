"""Helpers for the loop tests: gated steps, scripted decisions, reading a loop and its children."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from runwire.actors import RunContext, RunHandle, RunSystem
from runwire.actors.oda import Act, Finish, LoopHandle, LoopState, Pause
from runwire.protocol import TERMINAL_TYPES, RunEvent

from ..helpers import assert_well_formed

WAIT = 20.0


def ok_step(ctx: RunContext) -> Any:
    """A trivial step: returns its inputs' value (or its index)."""
    return ctx.inputs.get("value", ctx.step)


def failing_step(ctx: RunContext) -> None:
    raise ValueError(f"step {ctx.step} broke")


def script(*decisions: Act | Finish) -> Callable[[LoopState], Act | Finish]:
    """decide() returning ``decisions`` in turn (the last one forever)."""
    queue = list(decisions)

    def decide(state: LoopState) -> Act | Finish:
        return queue.pop(0) if len(queue) > 1 else queue[0]

    return decide


def steps_then_finish(n: int, pipeline: Callable[..., Any] = ok_step) -> Callable[[LoopState], Act | Finish]:
    """decide(): act until ``n`` steps ran, then finish with the last result."""

    def decide(state: LoopState) -> Act | Finish:
        if state.steps >= n:
            return Finish(state.last.result if state.last is not None else None)
        return Act(pipeline, {"value": state.steps}, name=f"step-{state.steps}")

    return decide


class Gate:
    """An async step pipeline that announces itself and waits until the test opens the gate.

    Async, so a cancel of the step interrupts the wait at once (its task is cancelled); no sleeps.
    """

    def __init__(self, result: Any = "done", fail: bool = False) -> None:
        self.entered = threading.Event()
        self.run_ids: list[str] = []
        self._result = result
        self._fail = fail
        self._lock = threading.Lock()
        self._open = False
        self._waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]] = []

    def open(self) -> None:
        with self._lock:
            self._open = True
            waiters, self._waiters = self._waiters, []
        for loop, fut in waiters:
            loop.call_soon_threadsafe(lambda f=fut: f.done() or f.set_result(None))

    async def __call__(self, ctx: RunContext) -> Any:
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[None] = loop.create_future()
        with self._lock:
            self.run_ids.append(ctx.run_id)
            if self._open:
                fut.set_result(None)
            else:
                self._waiters.append((loop, fut))
        self.entered.set()
        await fut
        if self._fail:
            raise RuntimeError("gate failed")
        return self._result


def events_of(handle: RunHandle) -> list[RunEvent]:
    events = list(handle.events(timeout=WAIT))
    assert_well_formed(events)
    return events


def children(system: RunSystem, loop: RunHandle) -> list[RunHandle]:
    """The loop's steps, in step order (read from its step.started events)."""
    return [system.handle(e.child_run_id) for e in events_of(loop) if e.type == "step.started"]


def terminal_types(handles: Iterable[RunHandle]) -> list[str]:
    return [h.wait(WAIT).type for h in handles]


def assert_loop_well_formed(system: RunSystem, loop: LoopHandle) -> list[RunEvent]:
    """The loop's log and each child's are gapless with one terminal; steps are paired and in order."""
    events = events_of(loop)
    started = [e for e in events if e.type == "step.started"]
    finished = [e for e in events if e.type == "step.finished"]
    assert [e.index for e in started] == list(range(len(started)))
    assert [e.index for e in finished] == [e.index for e in started][: len(finished)]
    for i, (s, f) in enumerate(zip(started, finished, strict=False)):
        assert s.child_run_id == f.child_run_id
        assert s.seq < f.seq
        if i + 1 < len(started):
            assert f.seq < started[i + 1].seq  # the next step starts after this one finished
    for s in started:
        child = events_of(system.handle(s.child_run_id))
        assert all(e.parent_run_id == loop.run_id and e.step == s.index for e in child)
        assert child[-1].type in TERMINAL_TYPES
    return events


@contextmanager
def held(loop: LoopHandle) -> Iterator[None]:
    """Hold the loop's StepRunner (it is inside a Pause when this yields) and release it on exit."""
    release, is_held = threading.Event(), threading.Event()
    loop.runner.tell(Pause(release, WAIT, is_held))
    assert is_held.wait(WAIT)
    try:
        yield
    finally:
        release.set()


def wait_for_mail(loop: LoopHandle, count: int) -> None:
    """Wait until the held StepRunner's mailbox holds ``count`` messages (woken by each put, no polling)."""
    inbox: Any = loop.runner.actor_inbox  # a queue.Queue: its not_empty condition is notified on every put
    with inbox.not_empty:  # holds the queue's mutex, so read its deque directly (qsize() would re-lock)
        while len(inbox.queue) < count:
            assert inbox.not_empty.wait(WAIT), f"mailbox never reached {count} messages"


def wait_for_event(handle: RunHandle, kind: str, count: int = 1) -> RunEvent:
    """Read the run's stream until its ``count``-th event of type ``kind`` (then unsubscribe)."""
    seen = 0
    for event in handle.events(timeout=WAIT):
        if event.type == kind:
            seen += 1
            if seen == count:
                return event
    raise AssertionError(f"run {handle.run_id} ended without {count} {kind} events")
