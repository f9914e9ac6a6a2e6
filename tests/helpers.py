"""Small helpers for runtime tests (no mocks: they drive the real system)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

from runwire.actors import RunContext, RunHandle, RunSystem
from runwire.actors.ext import Pause
from runwire.protocol import TERMINAL_TYPES, RunEvent


def collect(handle: RunHandle, after_seq: int = 0, timeout: float = 10.0) -> list[RunEvent]:
    return list(handle.events(after_seq, timeout=timeout))


def assert_well_formed(events: list[RunEvent], after_seq: int = 0) -> None:
    """seq from after_seq+1, +1, no gaps; exactly one terminal, and it is last."""
    assert [e.seq for e in events] == list(range(after_seq + 1, after_seq + 1 + len(events)))
    terminals = [e for e in events if e.type in TERMINAL_TYPES]
    assert len(terminals) == 1, [e.type for e in events]
    assert events[-1] is terminals[0]


def every_kind(ctx: RunContext) -> dict[str, Any]:
    """A sync pipeline that emits one event of each kind a pipeline can emit (non-ASCII text too)."""
    ctx.milestone("begin", n=3)
    for i in range(3):
        ctx.progress((i + 1) / 3, current=i + 1, total=3, message=f"step {i + 1} é✓")
        ctx.delta("answer", f"tok{i} ")
    ctx.log("a log line", level="warning")
    ctx.artifact("out.txt", size=3, sha256="0" * 64, content="abc")
    return {"ok": True, "inputs": ctx.inputs}


def blocker(release: threading.Event, started: threading.Event | None = None) -> Callable[[RunContext], Any]:
    """A sync pipeline that waits until ``release`` is set, then returns 'done'."""

    def pipeline(ctx: RunContext) -> str:
        if started is not None:
            started.set()
        release.wait(30)
        return "done"

    return pipeline


@contextmanager
def paused(ref: Any) -> Iterator[threading.Event]:
    """Hold a shard actor so that the messages sent meanwhile queue up in its mailbox.

    Built on the debug seam (``runwire.actors.ext.Pause``, handled by ``ShardActor._shared`` for the
    bus, completion and runner actors alike, and by the ODA StepRunnerActor)."""
    release = threading.Event()
    ref.tell(Pause(release))
    try:
        yield release
    finally:
        release.set()


@contextmanager
def completions_paused(system: RunSystem) -> Iterator[None]:
    """Hold every shard's CompletionActor: a run's Started (and so its run.started) waits behind
    the pause while its worker runs and a cancel decides on the caller's thread."""
    with ExitStack() as stack:
        for shard in system._shards:
            stack.enter_context(paused(shard.completion))
        yield


class LogWatcher(logging.Handler):
    """Sets ``seen`` when a record containing ``needle`` is logged (wait on it, never sleep)."""

    def __init__(self, needle: str) -> None:
        super().__init__()
        self.needle = needle
        self.seen = threading.Event()

    def emit(self, record: logging.LogRecord) -> None:
        if self.needle in record.getMessage():
            self.seen.set()
