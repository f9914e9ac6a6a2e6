"""A RunStore wired into a RunSystem: recovery at start, and a durable subscriber per run.

Why a subscriber: the bus already gives every sink each event once, in seq order, from seq 1
if it subscribes right after the run's log is opened. Persisting is then one more sink, with no
new path through the actors. Its ``push`` runs on the bus thread and only enqueues on the
store's writer, so the bus never waits for the disk. It is lossless and bounded: once ``WINDOW``
events of a run are enqueued but not committed it answers FULL (the ``block`` policy: the run's
producer waits) until the store's commit listener reports progress.

A write the store could not commit fails its run (``run.failed``, ``StoreWriteError``) through
the completion side; the system goes on serving other runs. Later events of that run are not
stored, except its terminal: a run the store shows as ended always has its terminal stored (the
terminal alone, small, is written once more when the run ends; it also marks the run ended, in
one transaction). A replay declares the events in between with one ``stream.gap``.

The system finds it through the ``runwire.stores`` entry point (``open_system_store``) or a
store's ``attach``: ``import runwire.actors`` loads no SQLite. It is the one implementation of
``runwire.actors.ext.SystemStore`` today; any ``RunStore`` (e.g. PostgreSQL) can reuse it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final

from runwire.actors import RunHandle, RunInfo, RunTimeoutError, UnknownRunError
from runwire.actors.ext import FULL, OK, FailRun, NewRun, RemoteRunHandle, Sink
from runwire.protocol import TERMINAL_TYPES, RunEvent, RunState

from ._api import RunStore
from ._errors import StoreError
from ._replay import StoredRunHandle, fill_gap, stored_info, stored_pages

if TYPE_CHECKING:
    from runwire.actors import RunSystem

__all__ = ["WINDOW", "DurableSink", "StoreBinding", "open_system_store"]

_log = logging.getLogger("runwire.store")

WINDOW: Final = 16_384  # events of one run enqueued but not yet committed before its producer waits
GAP_WAIT: Final = 10.0  # seconds a gap fill waits for the events it needs to be committed


class DurableSink(Sink):
    """Persists one run's events. ``push``/``close`` on the bus thread, ``acked`` on the writer."""

    __slots__ = ("_acked", "_binding", "_cond", "_final", "_pushed", "broken", "run_id", "terminal")

    def __init__(self, binding: StoreBinding, run_id: str) -> None:
        super().__init__(None, "block")
        self._binding = binding
        self.run_id = run_id
        self._pushed = 0  # highest seq handed to the store
        self._acked = 0  # highest seq the store committed
        self._final = 0  # seq of the terminal, once pushed
        self.terminal: tuple[RunEvent, bytes | None] | None = None  # the terminal (and its JSON), once pushed
        self._cond: threading.Condition | None = None  # created when a gap fill waits
        self.broken = False

    wants_encoded = True

    def push(self, events: Sequence[Any]) -> int:
        return self.push_encoded(events, None)

    def push_encoded(self, events: Sequence[Any], encoded: Sequence[bytes] | None) -> int:
        # Live events only: subscribed before the run's first event, it never gets a replay block.
        last: RunEvent = events[-1]
        if last.type in TERMINAL_TYPES:
            self.terminal = (last, None if encoded is None else encoded[-1])
        if self.broken:
            return OK  # a write failed: storing later events would leave a hole
        try:
            self._binding.store.append(events, encoded)  # the bus's JSON: dumped once per event
        except Exception as exc:  # closed store, unsequenced event: never raise on the bus thread
            self._binding.write_failed([self.run_id], exc)
            return OK
        with self._lock:
            self._pushed = last.seq
            if self._pushed - self._acked > WINDOW:
                self._held = True
                return FULL
        return OK

    def close(self, error: BaseException | None = None) -> None:
        """After the terminal (the bus closes every sink then): forget the run once it is committed."""
        with self._lock:
            self._final = max(self._pushed, 1)
            done = self._acked >= self._final or self.broken
            if self._cond is not None:
                self._cond.notify_all()
        if done:
            self._binding.forget(self)

    def acked(self, seq: int) -> None:
        """The store committed this run's events up to ``seq`` (writer thread)."""
        with self._lock:
            self._acked = seq
            resume = self._held and self._pushed - seq <= WINDOW // 2
            if resume:
                self._held = False
            if self._cond is not None:
                self._cond.notify_all()
            done = self._final != 0 and seq >= self._final
        if resume and self.on_space is not None:
            self.on_space()
        if done:
            self._binding.forget(self)

    def broke(self) -> bool:
        """Mark the run's stored log as ended by a write error; True if it was not already."""
        with self._lock:
            if self.broken:
                return False
            self.broken = True
            resume, self._held = self._held, False
            closed = self._final != 0
            if self._cond is not None:
                self._cond.notify_all()
        if resume and self.on_space is not None:
            self.on_space()
        if closed:
            self._binding.forget(self)
        return True

    def wait_acked(self, seq: int | None, timeout: float) -> bool:
        """Wait until events up to ``seq`` (None: the terminal) are committed; False on timeout or failure."""

        def committed() -> bool:
            target = self._final if seq is None else seq
            return target != 0 and self._acked >= target

        with self._lock:
            if self._cond is None:
                self._cond = threading.Condition(self._lock)
            return self._cond.wait_for(lambda: committed() or self.broken, timeout) and committed()


class StoreBinding:
    """What a RunSystem holds of its store: the store, its listeners, the durable sinks."""

    def __init__(self, store: RunStore, owned: bool, fail_run: FailRun) -> None:
        self.store = store
        self.owned = owned
        self._fail_run = fail_run
        self._sinks: dict[str, DurableSink] = {}
        self._removers = [
            store.add_commit_listener(self._committed),
            store.add_write_error_listener(self._write_error),
        ]

    @classmethod
    def open(cls, store: RunStore, owned: bool, fail_run: FailRun) -> StoreBinding:
        """Bind ``store`` to one system (``owned``: closed with it), and recover dead runs once."""
        if not isinstance(store, RunStore):
            raise TypeError(f"store must be a RunStore, got {type(store).__name__}")
        binding = cls(store, owned, fail_run)
        try:
            recovered = store.recover()
        except StoreError as exc:  # e.g. a read-only file: runs will fail clearly when they write
            _log.warning("run store recovery skipped: %s", exc)
        except BaseException:
            binding.close()
            raise
        else:
            if recovered:
                _log.info("closed %d run(s) a dead process left in flight: %s", len(recovered), recovered[:5])
        return binding

    def bind(self, system: RunSystem) -> None:
        """Serve other processes' cancel requests for this system's runs (through its handles)."""

        def cancel(run_id: str, reason: str) -> None:  # on a store thread
            handle = system.handle(run_id)  # UnknownRunError (a KeyError): not ours, ask the next
            if isinstance(handle, RemoteRunHandle):
                raise UnknownRunError(run_id)
            with contextlib.suppress(RunTimeoutError):
                handle.cancel(reason, timeout=0)  # the requester waits for the terminal's commit

        try:
            self._removers.append(self.store.serve_cancels(cancel))
        except StoreError as exc:  # a read-only store owns no runs
            _log.debug("not serving cancels: %s", exc)

    # -- writing ------------------------------------------------------------------------------
    def check_new(self, run_id: str) -> None:
        if self.store.get_run(run_id) is not None:
            raise ValueError(f"a run with run_id {run_id!r} already exists in the run store")

    def create(self, run: NewRun) -> DurableSink:
        """Record the run (before any of its events) and return the sink to subscribe for it.

        Call it after the run is admitted: a store that cannot take the run fails it.
        """
        sink = DurableSink(self, run.run_id)
        self._sinks[run.run_id] = sink  # first: a failed create is reported on the writer thread
        try:
            self.store.create_run(run.run_id, run.pipeline, run.inputs, run.parent_run_id, run.created_at)
        except Exception as exc:  # e.g. the store was closed under the system
            self.write_failed([run.run_id], exc)
        return sink

    def forget(self, sink: DurableSink) -> None:
        if self._sinks.get(sink.run_id) is sink:
            del self._sinks[sink.run_id]
        if sink.broken and sink.terminal is not None:  # its terminal may be lost with a failed write:
            event, encoded = sink.terminal  # store it again (a no-op if it is stored); it ends the run
            try:
                self.store.append([event], None if encoded is None else [encoded])
            except StoreError as exc:  # closed: then it stays in flight, and recover() closes it
                _log.debug("could not store the terminal of run %s: %s", sink.run_id, exc)

    def _committed(self, acks: Mapping[str, int]) -> None:
        sinks = self._sinks
        for run_id, seq in acks.items():
            sink = sinks.get(run_id)
            if sink is not None:
                sink.acked(seq)

    def _write_error(self, run_ids: Sequence[str], exc: StoreError) -> None:
        self.write_failed(run_ids, exc)

    def write_failed(self, run_ids: Sequence[str], exc: BaseException) -> None:
        """Fail the runs whose writes were not committed (any thread; never blocks)."""
        for run_id in run_ids:
            sink = self._sinks.get(run_id)
            if sink is not None and sink.broke():
                _log.error("run %s: %s", run_id, exc)
                self._fail_run(run_id, f"the run store could not persist this run: {exc}")

    # -- reading: runs that are not in memory -------------------------------------------------
    def settle(self, run_id: str) -> None:
        """A run of ours that just left memory: wait (bounded) until its whole log is committed."""
        sink = self._sinks.get(run_id)
        if sink is not None:
            sink.wait_acked(None, GAP_WAIT)

    def handle(self, system: RunSystem, run_id: str) -> RunHandle | None:
        self.settle(run_id)
        stored = self.store.get_run(run_id)
        return None if stored is None else StoredRunHandle(system, self.store, stored)

    def info(self, run_id: str) -> RunInfo | None:
        self.settle(run_id)
        stored = self.store.get_run(run_id)
        return None if stored is None else stored_info(self.store, stored)

    def runs(self, state: RunState | None, limit: int | None, skip: set[str]) -> list[RunInfo]:
        """Stored runs not in ``skip`` (those in memory), newest first."""
        wanted = (2**62 if limit is None else limit) + len(skip)  # room for the skipped ones
        return [
            stored_info(self.store, rec) for rec in self.store.list_runs(state, None, wanted) if rec.run_id not in skip
        ]

    def replay(
        self, run_id: str, after_seq: int, missing: Exception, timeout: float | None = None
    ) -> Iterator[list[RunEvent]]:
        """A stored run's events after ``after_seq``, in pages, a run of another process followed
        live to its terminal; raises ``missing`` if not stored."""
        return stored_pages(self.store, run_id, after_seq, missing, self.settle, timeout)

    def fill(self, batch: list[RunEvent]) -> Iterator[list[RunEvent]]:
        """``batch`` with a leading retention ``stream.gap`` replaced by the stored events it stands for."""
        return fill_gap(self.store, batch, self._wait_committed)

    def _wait_committed(self, run_id: str, seq: int) -> None:
        sink = self._sinks.get(run_id)
        if sink is not None:  # no sink: the run's log is committed already (or broken)
            sink.wait_acked(seq, GAP_WAIT)

    # -- shutdown -----------------------------------------------------------------------------
    def close(self, timeout: float | None = None) -> None:
        """Let go of the store; one the system opened is closed (which commits what is queued,
        waiting at most ``timeout`` s: a writer still busy then keeps the file's owner lock).

        A store the caller passed in stays open, unflushed: its ``flush()`` errors are the caller's.
        """
        for remove in self._removers:
            remove()
        if self.owned:
            try:
                self.store.close(timeout)
            except (StoreError, TimeoutError) as exc:
                _log.warning("closing the run store: %s", exc)


def _open_path(path: str | os.PathLike[str] | None) -> RunStore:
    """The SQLite store at ``path``; a store that cannot be written (a read-only mount or file)
    is opened read-only instead, with a warning: its runs stay readable, new runs fail with
    ``StoreWriteError`` when they write. Any other error (corrupt, empty, foreign file) raises."""
    from ._connect import is_unwritable
    from ._sqlite import SqliteRunStore

    try:
        return SqliteRunStore(path)
    except StoreError as exc:
        if exc.path is None or not exc.path.is_file() or not is_unwritable(exc):
            raise
        try:
            store = SqliteRunStore(exc.path, read_only=True)
        except StoreError:
            raise exc from None
        _log.warning("run store opened read-only (%s): stored runs are readable, new runs will fail", exc)
        return store


def open_system_store(target: str, fail_run: FailRun) -> StoreBinding:
    """The ``runwire.stores`` entry point for ``sqlite``: a path, ``sqlite://PATH`` or ``"default"``.

    ``sqlite:///abs/file.db`` and ``sqlite://rel/file.db`` name files; ``sqlite://`` alone or
    ``"default"`` is the data dir's file. The system owns the store: it is closed at ``close()``.
    """
    path = target.removeprefix("sqlite://") if target.lower().startswith("sqlite://") else target
    store = _open_path(None if path in ("", "default") else os.path.expanduser(path))
    return StoreBinding.open(store, True, fail_run)
