"""``SqliteRunStore``: the embedded RunStore (one SQLite file in WAL mode, one writer thread)."""

from __future__ import annotations

import atexit
import json
import logging
import os
import sqlite3
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

from runwire.protocol import RunEvent, parse_event

from ._api import RUN_STATES, CommitListener, Durability, RawEvent, RunRecord, RunState, WriteErrorListener
from ._batch import CreateRun, Dump, SetState, WriteOp, columns
from ._connect import configure_writer, connect_writer, is_unwritable, wrap_error
from ._errors import StoreClosedError, StoreError
from ._follow import Follower
from ._maintenance import GcJob, RecoverJob, cutoff_from
from ._notices import NoticeServer
from ._owner import OwnerLock, opening_lock, owners_dir, socket_path
from ._paths import resolve_db_path
from ._reads import Readers
from ._schema import MAX_SEQ, prepare_schema
from ._writer import STOP, Barrier, Job, Writer

if TYPE_CHECKING:
    from runwire.actors.ext import FailRun

    from ._attach import StoreBinding

__all__ = ["SqliteRunStore"]

log = logging.getLogger("runwire.store")


def _unix(at: datetime | None) -> float:
    if at is None:
        return time.time()
    if at.tzinfo is None:
        raise ValueError("naive datetime: pass a timezone-aware datetime (UTC)")
    return at.timestamp()


def _is_empty_file(path: Path) -> bool:
    try:
        return path.is_file() and path.stat().st_size == 0
    except OSError:
        return False


def _empty_file_error(path: Path) -> StoreError:
    return StoreError(
        "the database file is empty (0 bytes): a truncated run store, or a file that is not one; "
        "it is left as it is. Restore it from a backup, or delete it to start a new store there",
        path,
    )


class SqliteRunStore:
    """The RunStore on one SQLite file.

    Opening checks the file (a foreign or corrupt file raises ``StoreError`` naming it), brings
    the schema up to date and starts the writer thread. Call ``recover()`` once after opening
    to close runs a dead process left in flight. All methods are thread-safe.

    ``durability``: "normal" (default; WAL + synchronous=NORMAL: a commit survives the process
    dying, the last commits may roll back on power loss), "full" (fsync per commit: survives
    power loss), "off" (no fsync at all; survives the process dying, not the OS).
    ``max_db_bytes`` caps the file; a write past it fails like a full disk.
    ``read_only`` opens the file read-only: reads work, writes fail through the listeners (on a
    read-only mount, where SQLite cannot create the WAL's ``-shm`` file, it is read as immutable).
    An empty (0-byte) file is refused: it is what a truncated store looks like, and opening it
    would silently start an empty one in its place.
    """

    def __init__(
        self,
        path: str | os.PathLike[str] | None = None,
        *,
        data_dir: str | os.PathLike[str] | None = None,
        durability: Durability = "normal",
        busy_timeout: float = 5.0,
        read_only: bool = False,
        max_db_bytes: int | None = None,
        on_commit: CommitListener | None = None,
        on_write_error: WriteErrorListener | None = None,
    ) -> None:
        self._path = resolve_db_path(path, data_dir).absolute()
        self._lock = threading.Lock()
        self._closed = False
        self._owner: OwnerLock | None = None
        self._immutable = False  # set when a read-only file is on a read-only mount
        conn = self._open(durability, busy_timeout, read_only, max_db_bytes)
        self._writer = Writer(conn, self._path, self._owner.token if self._owner else "")
        self._readers = Readers(self._path, busy_timeout=busy_timeout, read_only=read_only, immutable=self._immutable)
        token = self._owner.token if self._owner else ""
        self._notices: NoticeServer | None = None
        if self._owner is not None and sys.platform != "win32":  # followers elsewhere hear of its commits
            try:
                self._notices = NoticeServer(socket_path(self._owner.directory, token))
            except OSError as exc:  # e.g. a filesystem without sockets: the store works, unfollowed
                log.warning("no cross-process notices for %s: %s", self._path, exc)
            else:
                self._writer.commit_listeners = (self._notices.committed,)
                self._notices.settle = self._settle
                self._notices.start()
        self._follower = Follower(self, owners_dir(self._path), token)
        if on_commit is not None:
            self.add_commit_listener(on_commit)
        if on_write_error is not None:
            self.add_write_error_listener(on_write_error)
        self._writer.start()
        atexit.register(self.close)

    def attach(self, fail_run: FailRun) -> StoreBinding:
        """``RunSystem(store=this)``: bind to that system, which leaves this store open at its close."""
        from ._attach import StoreBinding

        return StoreBinding.open(self, False, fail_run)

    def _open(
        self, durability: Durability, busy_timeout: float, read_only: bool, max_db_bytes: int | None
    ) -> sqlite3.Connection:
        path = self._path
        if path.is_dir():
            raise StoreError("the store path is a directory, not a database file", path)
        if read_only:
            if _is_empty_file(path):
                raise _empty_file_error(path)
            ro = self._connect(path, durability, busy_timeout, True, max_db_bytes)
            try:
                prepare_schema(ro, path, read_only=True)
            except BaseException as exc:
                ro.close()
                if isinstance(exc, sqlite3.Error | OSError):
                    raise wrap_error(exc, path, "opening the run store") from exc
                raise
            return ro
        # A file with content is checked before anything is created next to it (a foreign file
        # stays untouched). A missing or 0-byte file is connected to under the opening lock:
        # connecting creates a 0-byte file, and the first opener switches it to WAL (4 KiB)
        # before it lets go, so a 0-byte file seen there was truncated, not just created by a
        # concurrent opener.
        has_content = path.is_file() and not _is_empty_file(path)
        conn = self._connect(path, durability, busy_timeout, False, max_db_bytes) if has_content else None
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with opening_lock(owners_dir(path)):
                if conn is None:
                    if _is_empty_file(path):
                        raise _empty_file_error(path)
                    conn = self._connect(path, durability, busy_timeout, False, max_db_bytes)
                configure_writer(conn, path, durability)
                prepare_schema(conn, path)
            self._owner = OwnerLock.acquire(owners_dir(path))
        except BaseException as exc:
            if conn is not None:
                conn.close()
            if isinstance(exc, sqlite3.Error | OSError):
                raise wrap_error(exc, path, "opening the run store") from exc
            raise
        return conn

    def _connect(
        self, path: Path, durability: Durability, busy_timeout: float, read_only: bool, max_db_bytes: int | None
    ) -> sqlite3.Connection:
        try:
            return connect_writer(
                path, durability=durability, busy_timeout=busy_timeout, read_only=read_only, max_db_bytes=max_db_bytes
            )
        except sqlite3.Error as exc:
            if not (read_only and is_unwritable(exc) and path.is_file()):
                raise wrap_error(exc, path, "opening the run store") from exc
            return self._open_immutable(busy_timeout)  # a read-only mount: no -shm file possible
        except OSError as exc:
            raise wrap_error(exc, path, "opening the run store") from exc

    def _open_immutable(self, busy_timeout: float) -> sqlite3.Connection:
        try:
            conn = connect_writer(
                self._path, durability="normal", busy_timeout=busy_timeout, read_only=True, immutable=True
            )
        except sqlite3.Error as exc:
            raise wrap_error(exc, self._path, "opening the run store read-only") from exc
        self._immutable = True
        return conn

    # -- writes: enqueue only --------------------------------------------------------------

    def _put(self, item: WriteOp | Barrier | Job) -> None:
        with self._lock:
            if self._closed:
                raise StoreClosedError("the store was closed", self._path)
            self._writer.put(item)

    @property
    def path(self) -> Path:
        """The database file."""
        return self._path

    def create_run(
        self,
        run_id: str,
        pipeline: str,
        inputs: Mapping[str, Any] | None = None,
        parent_run_id: str | None = None,
        created_at: datetime | None = None,
    ) -> None:
        """Enqueue a new run in state ``pending``. Raises TypeError at once if inputs are not JSON."""
        if not run_id:
            raise ValueError("run_id must be a non-empty string")
        try:
            inputs_json = json.dumps(dict(inputs or {}), ensure_ascii=False, separators=(",", ":"), allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"run {run_id}: inputs are not JSON-serializable: {exc}") from exc
        self._put(CreateRun(run_id, pipeline, inputs_json, parent_run_id, _unix(created_at)))

    def append(self, events: Sequence[RunEvent], encoded: Sequence[bytes] | None = None) -> None:
        """Enqueue sequenced events (seq >= 1, in seq order per run; several runs may mix).

        ``encoded`` optionally gives each event's ``dump_event`` bytes when the caller already has
        them; otherwise the writer thread dumps them. Events must not be mutated afterwards.
        """
        if encoded is not None and len(encoded) != len(events):
            raise ValueError(f"append: {len(events)} events but {len(encoded)} encoded payloads")
        if not events:
            return
        op: WriteOp
        seqs: Sequence[int]
        if encoded is None:
            op, seqs = Dump(list(events)), [ev.seq for ev in events]
        else:  # as columns: the queue then holds no model object per event for the GC to walk
            op = cols = columns(events, list(encoded))
            seqs = cols.seqs
        if not (min(seqs) > 0 and max(seqs) <= MAX_SEQ):
            ev = next(ev for ev in events if not 0 < ev.seq <= MAX_SEQ)
            raise ValueError(f"append: event {ev.type} of run {ev.run_id} has seq {ev.seq}; sequence it first")
        self._put(op)

    def set_state(self, run_id: str, state: RunState, at: datetime | None = None) -> None:
        """Enqueue a state change. Ignored once the run has ended (its terminal state is final)."""
        if state not in RUN_STATES:
            raise ValueError(f"unknown run state {state!r}; expected one of {sorted(RUN_STATES)}")
        self._put(SetState(run_id, state, _unix(at)))

    def _settle(self) -> None:
        """Wait (up to 5 s) until what is queued now is committed, taking no write failure a
        caller's flush is owed: done before refusing a cancel, so a run that just ended here
        is seen ended by the requester."""
        barrier = Barrier(reports=False)
        try:
            self._put(barrier)
        except StoreClosedError:  # closed: nothing more will be committed
            return
        barrier.done.wait(5)

    def flush(self, timeout: float | None = None) -> None:
        """Wait until everything enqueued before this call is committed.

        Raises ``TimeoutError`` if that takes longer than ``timeout`` seconds, and
        ``StoreWriteError`` (naming the runs) if writes failed since the previous flush.
        Must not be called from a listener (it runs on the writer thread).
        """
        if threading.current_thread() is self._writer:
            raise RuntimeError("flush() called from a store listener: it would wait for itself")
        self._check_writer()
        barrier = Barrier()
        self._put(barrier)
        if not barrier.done.wait(timeout):
            raise TimeoutError(f"run store flush did not complete within {timeout} s [{self._path}]")
        if barrier.error is not None:
            raise barrier.error

    def add_commit_listener(self, listener: CommitListener) -> Callable[[], None]:
        """Call ``listener({run_id: highest committed seq})`` on the writer thread after each commit."""
        with self._lock:
            self._writer.commit_listeners = (*self._writer.commit_listeners, listener)

        def remove() -> None:
            with self._lock:
                self._writer.commit_listeners = tuple(x for x in self._writer.commit_listeners if x is not listener)

        return remove

    def add_write_error_listener(self, listener: WriteErrorListener) -> Callable[[], None]:
        """Call ``listener(run_ids, error)`` on the writer thread when writes are not committed."""
        with self._lock:
            self._writer.error_listeners = (*self._writer.error_listeners, listener)

        def remove() -> None:
            with self._lock:
                self._writer.error_listeners = tuple(x for x in self._writer.error_listeners if x is not listener)

        return remove

    # -- maintenance: run on the writer thread, the caller waits ---------------------------

    def _check_writer(self) -> None:
        if not self._closed and not self._writer.is_alive():  # pragma: no cover - only after a writer bug
            raise StoreError("the store's writer thread stopped; reopen the store", self._path)

    def _run(self, job: Job, action: str, timeout: float | None) -> None:
        self._check_writer()
        self._put(job)
        try:
            job.future.result(timeout)
        except sqlite3.Error as exc:
            raise wrap_error(exc, self._path, action) from exc

    def recover(self, timeout: float | None = None) -> list[str]:
        """Close runs left pending/running by a process that is gone; return their run_ids.

        Each gets one ``run.failed`` (error_type ``ProcessExited``) with the next seq after its
        last stored event. Runs of live processes sharing the file are left alone.
        """
        if self._owner is None:
            raise StoreError("recover() needs a writable store (opened read_only)", self._path)
        job = RecoverJob(owners_dir(self._path), self._owner.token)
        self._run(Job(job.step), "recovering runs", timeout)
        return list(job.recovered)

    def gc(
        self, older_than: timedelta | None = None, keep_last: int | None = None, timeout: float | None = None
    ) -> int:
        """Delete finished runs ended more than ``older_than`` ago and/or beyond the ``keep_last`` newest.

        Both limits apply when both are given. Deletes in transactions of 500 runs, letting
        queued writes commit between them; returns the number of runs deleted.
        """
        if older_than is None and keep_last is None:
            raise ValueError("gc() needs older_than and/or keep_last")
        if keep_last is not None and keep_last < 0:
            raise ValueError("keep_last must be >= 0")
        job = GcJob(cutoff_from(None if older_than is None else older_than.total_seconds()), keep_last or 0)
        self._run(Job(job.step), "deleting old runs", timeout)
        return job.deleted

    # -- reads: pooled connections, committed data -------------------------------------

    def get_run(self, run_id: str) -> RunRecord | None:
        """The run as committed, or None."""
        return self._readers.get_run(run_id)

    def list_runs(
        self, state: RunState | None = None, parent_run_id: str | None = None, limit: int = 100
    ) -> list[RunRecord]:
        """Committed runs, newest first, filtered by state and/or parent run."""
        return self._readers.list_runs(state, parent_run_id, limit)

    def read_events_raw(self, run_id: str, after_seq: int = 0, limit: int | None = None) -> list[RawEvent]:
        """Committed events with ``seq > after_seq`` in seq order, as the exact bytes appended."""
        return self._readers.events(run_id, after_seq, limit)

    def read_events(self, run_id: str, after_seq: int = 0, limit: int | None = None) -> list[RunEvent]:
        """Committed events with ``seq > after_seq`` in seq order, parsed into protocol models."""
        return [parse_event(raw.data) for raw in self._readers.events(run_id, after_seq, limit)]

    def owner_of(self, run_id: str) -> str | None:
        """The owner token recorded on the run (which open store created it), or None."""
        return self._readers.owner_of(run_id)

    # -- across processes: notices from the owner, never polling ---------------------------

    def wait_for_change(self, run_id: str, after_seq: int, timeout: float | None) -> bool:
        """Block until run ``run_id`` has a committed event with seq > ``after_seq``, or ended, or
        its owner died (then it is recovered: ``run.failed``), or ``timeout`` passed; False only then.

        Wakes on the owning store's notice over its local socket (or this store's own commits),
        never a sleep-and-query loop. Any thread may call it; it holds no connection meanwhile.
        """
        return self._follower.wait_for_change(run_id, after_seq, timeout)

    def request_cancel(self, run_id: str, reason: str, timeout: float) -> None:
        """Ask the live owner of ``run_id`` to cancel it; return once its terminal is committed.

        The run already ended: returns at once. Its owner dead: recovers it (``run.failed``).
        Not confirmed within ``timeout`` s: ``RunTimeoutError`` naming the owner (pid, host).
        """
        self._follower.request_cancel(run_id, reason, timeout)

    def serve_cancels(self, cancel: Callable[[str, str], None]) -> Callable[[], None]:
        """Owner side: call ``cancel(run_id, reason)`` (on a store thread) for each cancel request of
        another process; it raises KeyError for a run that is not its own. Returns the stop function."""
        if not callable(cancel):
            raise TypeError(f"cancel must be callable, got {type(cancel).__name__}")
        if self._notices is None:
            raise StoreError("serve_cancels() needs a writable store (opened read_only)", self._path)
        return self._notices.serve_cancels(cancel)

    def cancel_here(self, run_id: str, reason: str, reply: Callable[[str], None]) -> None:
        """A cancel request of a run this very store object owns (another system sharing it)."""
        if self._notices is None:
            reply("this store is read-only: it owns no runs")
        else:
            self._notices.cancel_here(run_id, reason, reply)

    def page_stats(self) -> tuple[int, int]:
        """(page_count, freelist_count) of the file: how big it is and how much of it is free."""
        return self._readers.scalar("PRAGMA page_count"), self._readers.scalar("PRAGMA freelist_count")

    # -- lifecycle -------------------------------------------------------------------------

    def close(self, timeout: float | None = None) -> None:
        """Commit what is queued, stop the writer, close connections and release the owner lock.

        Idempotent. Also registered with ``atexit`` so queued writes are committed at exit.
        Failures of the last writes go to the write-error listeners (no flush follows).
        """
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._writer.put(STOP)
        atexit.unregister(self.close)
        self._writer.join(timeout)
        if self._writer.is_alive():  # still writing: keep the owner lock, or others would recover our runs
            raise TimeoutError(f"run store writer did not stop within {timeout} s [{self._path}]")
        self._follower.close()
        if self._notices is not None:
            self._notices.close()
        self._readers.close()
        if self._owner is not None:
            self._owner.release()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
