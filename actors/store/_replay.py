"""Runs that are not in this process's memory, read back from the store.

A finished run expires from memory after its retention, and a restart forgets everything; the
store still has its log, byte for byte. These helpers let ``RunSystem.get/handle/runs`` and
``handle.events()`` fall back to it, and let a subscriber whose cursor is older than the bus's
retained window get the missing events from the store instead of a ``stream.gap``.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Final

from pydantic import JsonValue

from runwire.actors import RunInfo, RunTimeoutError, RunwireError
from runwire.actors.ext import RemoteRunHandle
from runwire.protocol import GAP_REASON_RETENTION, TERMINAL_TYPES, RunEvent, StreamGap

from ._api import RunRecord, RunStore

if TYPE_CHECKING:
    from runwire.actors import RunSystem

__all__ = ["GAP_REASON_NOT_STORED", "PAGE", "StoredRunHandle", "fill_gap", "stored_info", "stored_pages"]

PAGE: Final = 1000  # events per store read: bounds memory however long the run
FOREVER: Final = threading.TIMEOUT_MAX / 2  # "no timeout" for a store call that needs a number
GAP_REASON_NOT_STORED: Final = "not stored: a write to the run store failed"


def stored_pages(
    store: RunStore,
    run_id: str,
    after_seq: int,
    missing: Exception,
    settle: Callable[[str], None],
    timeout: float | None = None,
) -> Iterator[list[RunEvent]]:
    """The committed events with ``seq > after_seq``, in pages, to the run's terminal; raises
    ``missing`` if the run is unknown.

    ``settle`` first waits for the commit of a run this process just freed from memory. A run
    in flight in another process is followed live: read the committed pages, then
    ``store.wait_for_change`` (a notice from the owner, no polling), repeat; each wait is
    bounded by ``timeout`` (``RunTimeoutError``). The cursor is the last seq yielded, so no
    event comes twice and none is skipped. An owner that dies mid-run: its ``run.failed``
    (recovery) ends the stream.
    """
    settle(run_id)
    rec = store.get_run(run_id)
    if rec is None:
        raise missing
    cursor = after_seq
    while True:
        page = store.read_events(run_id, cursor, PAGE)
        if page:
            yield _declare_holes(page, cursor)
            cursor = page[-1].seq
        if len(page) == PAGE:
            continue
        if rec.ended_at is not None or (page and page[-1].type in TERMINAL_TYPES):
            return  # ended before this read began (or it read the terminal): nothing follows
        if not store.wait_for_change(run_id, cursor, timeout):
            raise RunTimeoutError(f"no event of run {run_id} within {timeout} s")
        fresh = store.get_run(run_id)
        if fresh is None:
            return  # deleted meanwhile (gc only deletes ended runs)
        rec = fresh  # read before the next pages: if it has ended, they hold its terminal


def _declare_holes(page: list[RunEvent], cursor: int) -> list[RunEvent]:
    """``page`` with a ``stream.gap`` before each event that does not follow the one before it.

    A stored log has a hole only where a write failed: the run's terminal was stored afterwards
    (see ``_attach``). The gap takes the next event's time, so every read of the log is the same.
    """
    if page[-1].seq - cursor == len(page):
        return page  # contiguous: the usual case, checked in O(1)
    out: list[RunEvent] = []
    expected = cursor + 1
    for event in page:
        if event.seq > expected:
            out.append(
                StreamGap(
                    run_id=event.run_id,
                    seq=event.seq - 1,
                    ts=event.ts,
                    from_seq=expected,
                    to_seq=event.seq - 1,
                    reason=GAP_REASON_NOT_STORED,
                )
            )
        out.append(event)
        expected = event.seq + 1
    return out


def fill_gap(
    store: RunStore, batch: list[RunEvent], wait_committed: Callable[[str, int], None]
) -> Iterator[list[RunEvent]]:
    """``batch`` with a leading retention gap replaced by the stored events ``from_seq..to_seq``.

    The gap's events went to the store before the bus trimmed them, but may not be committed
    yet: ``wait_committed`` waits for that (bounded). What the store does not have (a failed
    write, gc) is still declared by a ``stream.gap`` for that part, never silently skipped.
    """
    gap = batch[0] if batch else None
    if not isinstance(gap, StreamGap) or gap.reason != GAP_REASON_RETENTION:
        yield batch
        return
    wait_committed(gap.run_id, gap.to_seq)
    cursor = gap.from_seq - 1
    while cursor < gap.to_seq:
        page = store.read_events(gap.run_id, cursor, min(PAGE, gap.to_seq - cursor))
        kept = _contiguous(page, cursor, gap.to_seq)  # a failed write leaves a hole: stop there
        if kept:
            yield kept
            cursor = kept[-1].seq
        if len(kept) < len(page) or not kept:
            yield [gap.model_copy(update={"from_seq": cursor + 1})]
            break
    yield batch[1:]


def _contiguous(page: list[RunEvent], cursor: int, last: int) -> list[RunEvent]:
    """The leading events of ``page`` that follow ``cursor`` one by one, up to seq ``last``."""
    if page and page[-1].seq - cursor == len(page) and page[-1].seq <= last:
        return page
    n = 0
    while n < len(page) and page[n].seq == cursor + 1 + n and page[n].seq <= last:
        n += 1
    return page[:n]


def stored_info(store: RunStore, rec: RunRecord) -> RunInfo:
    """A ``RunInfo`` from the stored row: nothing of it is in memory (``retained_from`` = last_seq + 1)."""
    terminal = rec.terminal
    step = terminal.step if terminal is not None else _first_step(store, rec.run_id)
    return RunInfo(
        run_id=rec.run_id,
        pipeline=rec.pipeline,
        state=rec.state,
        created_at=rec.created_at,
        parent_run_id=rec.parent_run_id,
        step=step,
        terminal=terminal,
        last_seq=rec.last_seq,
        retained_from=rec.last_seq + 1,
        subscribers=0,
        late_events_dropped=0,
        discarded_signals=0,
        finish_reason=getattr(terminal, "finish_reason", None),
        worker_active=False,
        worker_abandoned=False,
        from_store=True,
    )


def _first_step(store: RunStore, run_id: str) -> int | None:
    first = store.read_events(run_id, 0, 1)
    return first[0].step if first else None


class StoredRunHandle(RemoteRunHandle):
    """A handle to a run known only from the store: finished, or in flight in another process.

    A finished run behaves like any finished run: ``events()`` replays its stored log, ``wait``
    and ``cancel`` return its terminal, late signals change nothing. A run another live process
    owns is followed through the store: ``events()`` tails it live, ``wait`` blocks on the
    store's change notices, ``cancel`` asks its owner (``request_cancel``), which commits the
    terminal before ``cancel`` returns. An owner that dies has its run closed with
    ``run.failed`` (recovery), which every waiter then gets.
    """

    __slots__ = ("_store", "_stored")

    def __init__(self, system: RunSystem, store: RunStore, stored: RunRecord) -> None:
        super().__init__(system, stored.run_id, stored.pipeline)
        self._store = store
        self._stored = stored

    def __repr__(self) -> str:
        return f"<RunHandle {self.run_id} pipeline={self._stored.pipeline!r} (from the run store)>"

    def _ended(self) -> RunEvent | None:
        terminal = self._stored.terminal
        if terminal is None:  # it may have ended since the handle was made
            fresh = self._store.get_run(self.run_id)
            if fresh is None:
                raise RunwireError(f"run {self.run_id} was deleted from the run store")
            if fresh.terminal_json is not None:
                self._stored = fresh
                terminal = fresh.terminal
        return terminal

    def wait(self, timeout: float | None = None) -> RunEvent:
        """Block until the run's terminal is committed (by its owner, or by recovery); return it."""
        check_wait(timeout)
        deadline = None if timeout is None else time.monotonic() + timeout
        while (terminal := self._ended()) is None:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            if left == 0.0 or not self._store.wait_for_change(self.run_id, self._stored_seq(), left):
                raise RunTimeoutError(f"run {self.run_id} did not end within {timeout} s")
        return terminal

    def _stored_seq(self) -> int:
        fresh = self._store.get_run(self.run_id)
        return 0 if fresh is None else fresh.last_seq

    def cancel(self, reason: str = "cancelled", *, timeout: float | None = 10.0) -> RunEvent:
        """Cancel through the run's owner; returns the terminal, committed (whichever won)."""
        if not isinstance(reason, str):
            raise TypeError(f"reason must be a str, got {type(reason).__name__}")
        check_wait(timeout)
        terminal = self._ended()
        if terminal is not None:
            return terminal
        started = time.monotonic()
        self._store.request_cancel(self.run_id, reason, FOREVER if timeout is None else timeout)
        left = None if timeout is None else max(0.0, timeout - (time.monotonic() - started))
        return self.wait(left)

    def on_terminal(self, callback: Callable[[RunEvent], object]) -> None:
        terminal = self._ended()
        if terminal is not None:
            callback(terminal)  # ended: at once, here, like any finished run
        else:
            super().on_terminal(callback)

    def complete(self, result: JsonValue = None) -> None:
        if self._ended() is None:  # ended: a late signal changes nothing
            super().complete(result)

    def fail(self, error_type: str, message: str) -> None:
        if self._ended() is None:
            super().fail(error_type, message)

    def report_finish_reason(self, reason: str) -> None:
        if self._ended() is None:
            super().report_finish_reason(reason)


def check_wait(timeout: object) -> None:
    """A wait's timeout: None or a finite number of seconds >= 0."""
    if timeout is None:
        return
    if not isinstance(timeout, int | float) or isinstance(timeout, bool):
        raise TypeError(f"timeout must be a number of seconds or None, got {type(timeout).__name__}")
    if not math.isfinite(timeout) or timeout < 0:
        raise ValueError(f"timeout must be a finite number >= 0, got {timeout}")
