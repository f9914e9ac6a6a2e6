"""The single writer thread: drains its queue, commits each drain once, reports outcomes.

Every write to the database file from this process goes through here, so transactions never
contend inside the process and a drain of N messages costs one commit (group commit).
"""

from __future__ import annotations

import logging
import queue
import sqlite3
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from pathlib import Path
from typing import Final

from ._api import CommitListener, WriteErrorListener
from ._batch import Append, BatchResult, CreateRun, Dump, SetState, WriteOp, apply_writes, op_run_ids
from ._connect import describe
from ._errors import StoreClosedError, StoreError, StoreWriteError

__all__ = ["MAX_DRAIN", "Barrier", "Job", "Writer"]

log = logging.getLogger("runwire.store")

MAX_DRAIN: Final = 8192  # messages per transaction: bounds a commit's size and a flush's wait
_WRITE_TYPES: Final = frozenset({CreateRun, Append, Dump, SetState})
_KEEP_UNREPORTED: Final = 64


class Barrier:
    """A flush marker: set once every message queued before it has been committed or failed."""

    __slots__ = ("done", "error", "reports")

    def __init__(self, reports: bool = True) -> None:
        self.done = threading.Event()
        self.error: StoreError | None = None
        # False: a wait of the store's own (before it refuses a cancel) that must not take the
        # write failures a caller's next flush() is owed
        self.reports = reports


class Job:
    """Maintenance (gc, recover) run on the writer between drains, one bounded step at a time.

    ``step`` does one transaction's worth and returns True when the job is finished; the writer
    queues an unfinished job again, so queued writes are committed between its steps.
    """

    __slots__ = ("future", "step")

    def __init__(self, step: Callable[[sqlite3.Connection, dict[str, int]], bool]) -> None:
        self.step = step
        self.future: Future[None] = Future()


class _Stop:
    __slots__ = ()


STOP: Final = _Stop()
_Item = WriteOp | Barrier | Job | _Stop


def _preview(run_ids: Sequence[str]) -> str:
    shown = ", ".join(run_ids[:5])
    return shown + (f" and {len(run_ids) - 5} more" if len(run_ids) > 5 else "")


class Writer(threading.Thread):
    """Owns the write connection; fed only through ``put``."""

    def __init__(self, conn: sqlite3.Connection, path: Path, owner: str) -> None:
        super().__init__(name=f"runwire-store-writer[{path.name}]", daemon=True)
        self.conn = conn
        self.path = path
        self.owner = owner
        self.queue: queue.SimpleQueue[_Item] = queue.SimpleQueue()
        self.keys: dict[str, int] = {}  # run_id -> runs.id of runs still taking events
        self.commit_listeners: tuple[CommitListener, ...] = ()
        self.error_listeners: tuple[WriteErrorListener, ...] = ()
        self._unreported: list[StoreWriteError] = []  # failures the next flush raises (the first few)
        self._unreported_count = 0  # all of them, so nobody flushing never grows memory

    def put(self, item: _Item) -> None:
        self.queue.put(item)

    def run(self) -> None:
        try:
            self._loop()
        finally:
            self._shutdown()

    def _loop(self) -> None:
        get, get_nowait = self.queue.get, self.queue.get_nowait
        while True:
            item = get()
            writes: list[WriteOp] = []
            barriers: list[Barrier] = []
            tail: Job | _Stop | None = None
            for _ in range(MAX_DRAIN):
                if type(item) in _WRITE_TYPES:
                    writes.append(item)  # type: ignore[arg-type]
                elif isinstance(item, Barrier):
                    barriers.append(item)
                else:
                    tail = item  # type: ignore[assignment]
                    break
                try:
                    item = get_nowait()
                except queue.Empty:
                    break
            if writes:
                self._commit(writes)
            self._release(barriers)
            if isinstance(tail, Job):
                self._run_job(tail)
            elif tail is not None:
                return

    # -- commits ---------------------------------------------------------------------------

    def _transaction(self, ops: Sequence[WriteOp]) -> BatchResult:
        self.conn.execute("BEGIN IMMEDIATE")
        result = apply_writes(self.conn, ops, self.keys, self.owner)
        self.conn.execute("COMMIT")
        return result

    def _rollback(self) -> None:
        self.keys.clear()  # the cache may name rows the rollback removed
        try:
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
        except sqlite3.Error as exc:  # pragma: no cover - SQLite already rolled back
            log.debug("rollback after a failed commit: %s", exc)

    def _commit(self, ops: Sequence[WriteOp]) -> None:
        try:
            result = self._transaction(ops)
        except Exception as exc:
            self._rollback()
            run_ids = list(dict.fromkeys(rid for op in ops for rid in op_run_ids(op)))
            if isinstance(exc, sqlite3.OperationalError) or len(run_ids) <= 1:
                # Disk full, read-only, busy, I/O: every run of the drain is affected alike.
                self._record_runs(ops)
                self._fail(run_ids, exc)
                return
            self._commit_per_run(ops)  # a constraint broken by one run: isolate it
            return
        self._done(result)

    def _record_runs(self, ops: Sequence[WriteOp]) -> None:
        """After a failed drain, still record its new runs (small rows) so they can be marked failed.

        A drain that created a run and then appended a huge event rolls back both; without this
        retry the failed run would vanish from the store instead of showing as ``failed``.
        """
        creates = [op for op in ops if isinstance(op, CreateRun)]
        if not creates or len(creates) == len(ops):
            return
        try:
            self._done(self._transaction(creates))
        except Exception as exc:
            self._rollback()
            log.debug("could not record the runs of a failed drain either: %s", exc)

    def _commit_per_run(self, ops: Sequence[WriteOp]) -> None:
        groups: dict[str, list[WriteOp]] = {}
        for op in ops:
            if isinstance(op, Append):
                per_run: dict[str, list[int]] = {}
                for i, rid in enumerate(op.run_ids):
                    per_run.setdefault(rid, []).append(i)
                for rid, idx in per_run.items():
                    rids, seqs, types, ts, data = op
                    part = Append(
                        [rids[i] for i in idx],
                        [seqs[i] for i in idx],
                        [types[i] for i in idx],
                        [ts[i] for i in idx],
                        [data[i] for i in idx],
                    )
                    groups.setdefault(rid, []).append(part)
            elif isinstance(op, Dump):
                for ev in op.events:
                    groups.setdefault(ev.run_id, []).append(Dump([ev]))
            else:
                groups.setdefault(op.run_id, []).append(op)
        for rid, group in groups.items():
            try:
                result = self._transaction(group)
            except Exception as exc:
                self._rollback()
                self._fail([rid], exc)
            else:
                self._done(result)

    def _done(self, result: BatchResult) -> None:
        for rid, reasons in result.rejected.items():
            self._report(StoreWriteError(f"run {rid}: {'; '.join(reasons)}", self.path, [rid]))
        if result.acks:
            for listener in self.commit_listeners:
                self._call(listener, result.acks)

    def _fail(self, run_ids: list[str], exc: BaseException) -> None:
        err = StoreWriteError(
            f"writes of run {_preview(run_ids)} were not committed: {describe(exc)}", self.path, run_ids
        )
        err.__cause__ = exc
        self._report(err)

    def _report(self, err: StoreWriteError) -> None:
        self._unreported_count += 1
        if len(self._unreported) < _KEEP_UNREPORTED:
            self._unreported.append(err)
        if not self.error_listeners:
            log.error("%s", err)
        for listener in self.error_listeners:
            self._call(listener, err.run_ids, err)

    @staticmethod
    def _call(listener: Callable[..., object], *args: object) -> None:
        try:
            listener(*args)
        except Exception:  # a listener's bug must not stop the writer
            log.exception("store listener %r raised", listener)

    def _release(self, barriers: list[Barrier]) -> None:
        if not barriers:
            return
        if not any(barrier.reports for barrier in barriers):
            for barrier in barriers:
                barrier.done.set()
            return
        failures, count = self._unreported, self._unreported_count
        self._unreported, self._unreported_count = [], 0
        error = _combine(failures, count, self.path) if failures else None
        for barrier in barriers:
            barrier.error = error
            barrier.done.set()

    # -- jobs and shutdown -----------------------------------------------------------------

    def _run_job(self, job: Job) -> None:
        try:
            finished = job.step(self.conn, self.keys)
        except BaseException as exc:
            self._rollback()
            job.future.set_exception(exc)
            return
        if finished:
            job.future.set_result(None)
        else:
            self.queue.put(job)

    def _shutdown(self) -> None:
        closed = StoreClosedError("the store was closed", self.path)
        while True:
            try:
                item = self.queue.get_nowait()
            except queue.Empty:
                break
            if isinstance(item, Job):
                item.future.set_exception(closed)
            elif isinstance(item, Barrier):
                item.error = closed
                item.done.set()
        try:
            self.conn.close()
        except sqlite3.Error as exc:  # pragma: no cover
            log.warning("closing %s: %s", self.path, exc)


def _combine(failures: list[StoreWriteError], count: int, path: Path) -> StoreWriteError:
    """One error for a flush: the failure itself, or a summary chaining the first one."""
    if count == 1:
        return failures[0]
    run_ids = list(dict.fromkeys(rid for err in failures for rid in err.run_ids))
    err = StoreWriteError(
        f"{count} writes failed since the last flush (runs {_preview(run_ids)}"
        f"{'' if count == len(failures) else ', and more'}); first: {failures[0].message}",
        path,
        run_ids,
    )
    err.__cause__ = failures[0]
    return err
