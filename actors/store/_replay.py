"""Runs that are not in this process's memory, read back from the store.

A finished run expires from memory after its retention, and a restart forgets everything; the
store still has its log, byte for byte. These helpers let ``RunSystem.get/handle/runs`` and
``handle.events()`` fall back to it, and let a subscriber whose cursor is older than the bus's
retained window get the missing events from the store instead of a ``stream.gap``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, Final

from pydantic import JsonValue

from runwire.actors import RunHandle, RunInfo, RunwireError
from runwire.protocol import GAP_REASON_RETENTION, RunEvent, StreamGap

from ._api import RunRecord, RunStore

if TYPE_CHECKING:
    from runwire.actors import RunSystem

__all__ = ["GAP_REASON_NOT_STORED", "PAGE", "StoredRunHandle", "fill_gap", "stored_info", "stored_pages"]

PAGE: Final = 1000  # events per store read: bounds memory however long the run
GAP_REASON_NOT_STORED: Final = "not stored: a write to the run store failed"


def stored_pages(
    store: RunStore, run_id: str, after_seq: int, missing: Exception, settle: Callable[[str], None]
) -> Iterator[list[RunEvent]]:
    """The committed events with ``seq > after_seq``, in pages; raises ``missing`` if the run is unknown.

    ``settle`` first waits for the commit of a run this process just freed from memory. A run in
    flight in another process ends with its last committed event (no live tail).
    """
    settle(run_id)
    if store.get_run(run_id) is None:
        raise missing
    cursor = after_seq
    while True:
        page = store.read_events(run_id, cursor, PAGE)
        if page:
            yield _declare_holes(page, cursor)
            cursor = page[-1].seq
        if len(page) < PAGE:
            return


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


class StoredRunHandle(RunHandle):
    """A handle to a run known only from the store.

    A finished run behaves like any finished run: ``events()`` replays its stored log, ``wait``
    and ``cancel`` return its terminal, late signals change nothing. A run in flight in another
    process sharing the store cannot be waited for or cancelled from here: those raise
    ``RunwireError`` saying so (the SQLite store carries no cross-process signals).
    """

    __slots__ = ("_stored",)

    def __init__(self, system: RunSystem, stored: RunRecord) -> None:  # no runtime RunRecord: nothing runs here
        self._system = system
        self.run_id = stored.run_id
        self._stored = stored

    def __repr__(self) -> str:
        return f"<RunHandle {self.run_id} pipeline={self._stored.pipeline!r} (from the run store)>"

    @property
    def pipeline(self) -> str:
        return self._stored.pipeline

    def _terminal(self, action: str) -> RunEvent:
        terminal = self._stored.terminal
        if terminal is None:  # it may have ended since the handle was made
            store = self._system.store
            fresh = None if store is None else store.get_run(self.run_id)
            terminal = None if fresh is None else fresh.terminal
        if terminal is None:
            raise RunwireError(
                f"cannot {action} run {self.run_id}: it is running in another process that shares the run store; "
                f"{action} it from that process"
            )
        return terminal

    def cancel(self, reason: str = "cancelled", *, timeout: float | None = 10.0) -> RunEvent:
        return self._terminal("cancel")

    def wait(self, timeout: float | None = None) -> RunEvent:
        return self._terminal("wait for")

    async def wait_async(self) -> RunEvent:
        return self._terminal("wait for")

    def on_terminal(self, callback: Callable[[RunEvent], object]) -> None:
        callback(self._terminal("watch"))

    def complete(self, result: JsonValue = None) -> None:
        self._terminal("complete")  # ended: a late signal changes nothing

    def fail(self, error_type: str, message: str) -> None:
        self._terminal("fail")

    def report_finish_reason(self, reason: str) -> None:
        self._terminal("report a finish reason on")

    def _signal(self, signal: Any) -> None:
        self._terminal("signal")
