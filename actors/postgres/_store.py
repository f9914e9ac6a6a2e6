"""``PostgresRunStore``: the RunStore on a PostgreSQL database, shared by processes and machines.

Writes go through one writer thread and connection per store (group commit, NOTIFY in the
commit's transaction); reads use a psycopg_pool pool; a LISTEN connection wakes followers and
serves cross-process cancels; a lease thread renews this store's owner lease and sweeps owners
that died. See docs/store.md ("PostgreSQL") for the bounds.
"""

from __future__ import annotations

import atexit
import json
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

from runwire.actors.store import (
    RUN_STATES,
    CommitListener,
    Durability,
    RawEvent,
    RunRecord,
    RunState,
    StoreClosedError,
    WriteErrorListener,
)
from runwire.protocol import RunEvent, parse_event

from ._batch import Append, CreateRun, SetState, WriteOp
from ._connect import Target, channel, owner_key, parse_target, wrap_error
from ._follow import request_cancel, wait_for_change
from ._listen import Listener, with_suppress_close
from ._maintenance import GcJob, RecoverJob, cutoff_from
from ._reads import Readers
from ._schema import prepare_schema
from ._writer import STOP, Barrier, Job, Writer

if TYPE_CHECKING:
    from runwire.actors.ext import FailRun, SystemStore

__all__ = ["PostgresRunStore"]

MAX_SEQ = (1 << 32) - 1  # the same per-run bound as the SQLite store
_SYNCHRONOUS = {"off": "off", "normal": "on", "full": "on"}


def _unix(at: datetime | None) -> float:
    if at is None:
        return time.time()
    if at.tzinfo is None:
        raise ValueError("naive datetime: pass a timezone-aware datetime (UTC)")
    return at.timestamp()


def _option(target: Target, name: str, given: float | None, default: float) -> float:
    """A setting: the argument, else the URL's parameter, else the default; ValueError if not a number."""
    if given is not None:
        return given
    raw = target.options.get(name)
    if raw is None:
        return default
    try:
        return float(raw)
    except ValueError:
        raise ValueError(f"the store URL's {name}={raw!r} is not a number") from None


class PostgresRunStore:
    """The RunStore on PostgreSQL (``postgresql://user:password@host:port/dbname[?schema=NAME]``).

    Opening connects (a refused connection or a bad password raises one-line ``StoreError``
    at once), creates or upgrades the schema, registers this store as an owner and starts the
    writer, LISTEN and lease threads. Thread-safe.

    ``schema``: the PostgreSQL schema (namespace) holding the tables (default ``public``, or
    the URL's ``schema`` parameter); stores on different schemas never see each other.
    ``durability``: "off" (``synchronous_commit=off``: a server crash may lose the last
    commits) or "normal"/"full" (``on``: a commit is on the server's disk).
    ``pool_size``: at most this many read connections (default 4); ``pool_timeout``: seconds a
    read waits for one (default 10). ``lease``: seconds (default 10) an owner's lease lasts,
    renewed every lease/3 by this store; a store whose process died is recovered within
    lease/3 by any live store on the database, one that stopped renewing (machine or network
    gone, process frozen) within lease + lease/3. Each may also be a URL parameter
    (``?schema=runs&lease=5&pool_size=8``); an argument wins over the URL.
    """

    def __init__(
        self,
        url: str,
        *,
        schema: str | None = None,
        durability: Durability = "normal",
        pool_size: int | None = None,
        pool_timeout: float | None = None,
        lease: float | None = None,
        on_commit: CommitListener | None = None,
        on_write_error: WriteErrorListener | None = None,
    ) -> None:
        target = parse_target(url, schema)
        pool_size = int(_option(target, "pool_size", pool_size, 4))
        pool_timeout = _option(target, "pool_timeout", pool_timeout, 10.0)
        lease = _option(target, "lease", lease, 10.0)
        if durability not in _SYNCHRONOUS:
            raise ValueError(f"durability must be one of {sorted(_SYNCHRONOUS)}, not {durability!r}")
        if pool_size < 1:
            raise ValueError(f"pool_size must be an int >= 1, not {pool_size!r}")
        if not pool_timeout > 0:
            raise ValueError(f"pool_timeout must be > 0 seconds, not {pool_timeout!r}")
        if not 0.3 <= lease <= 3600:
            raise ValueError(f"lease must be between 0.3 and 3600 seconds, not {lease!r}")
        try:
            import psycopg
            import psycopg_pool
        except ImportError as exc:
            raise ImportError("the PostgreSQL store needs psycopg: pip install 'runwire[postgres]'") from exc
        self._psycopg = psycopg
        self._target = target
        self._durability = durability
        self._lease = float(lease)
        self._token = uuid.uuid4().hex
        self._lock = threading.Lock()
        self._closed = False
        self._stop = threading.Event()
        writer_conn = self._connect("connecting to PostgreSQL", owner_lock=True)  # alive before any row says so
        try:
            prepare_schema(writer_conn, target.schema, target.shown)
            self._renew(writer_conn)
            self._listener = Listener(target, self._token, lambda: self._connect("opening the LISTEN connection"))
            self._listener.open()
        except BaseException as exc:
            with_suppress_close(writer_conn)
            if isinstance(exc, psycopg.Error):
                raise wrap_error(exc, target, "opening the run store") from exc
            raise
        self._channel = channel(target.schema, "commit")
        self._pool = psycopg_pool.ConnectionPool(
            target.url,
            kwargs={"autocommit": True, **target.connect_kwargs(self._token)},
            min_size=1,
            max_size=pool_size,
            timeout=pool_timeout,
            name=f"runwire-pg[{target.schema}]",
            open=True,
        )
        self._readers = Readers(self._pool, target)
        self._listener.send = lambda name, payload: self._readers.query(
            "answering a cancel", "SELECT pg_notify(%s, %s)", (name, payload)
        )
        self._listener.settle = self._settle
        self._writer = Writer(
            writer_conn,
            target,
            self._token,
            self._channel,
            lambda: self._connect("reconnecting the writer", owner_lock=True),
        )
        if on_commit is not None:
            self.add_commit_listener(on_commit)
        if on_write_error is not None:
            self.add_write_error_listener(on_write_error)
        self._writer.start()
        self._leaser = threading.Thread(target=self._lease_loop, name="runwire-pg-lease", daemon=True)
        self._leaser.start()
        atexit.register(self.close)

    # -- connections ---------------------------------------------------------------------------
    def _connect(self, action: str, *, owner_lock: bool = False) -> Any:
        """A connection of our own; ``owner_lock``: it holds this owner's shared advisory lock."""
        psycopg = self._psycopg
        try:
            conn = psycopg.connect(self._target.url, autocommit=True, **self._target.connect_kwargs(self._token))
            if self._durability == "off":
                conn.execute("SET synchronous_commit = off")
            if owner_lock:
                conn.execute("SELECT pg_advisory_lock_shared(%s)", (owner_key(self._token),))
        except psycopg.Error as exc:
            raise wrap_error(exc, self._target, action) from exc
        return conn

    def _renew(self, conn: Any) -> None:
        conn.execute(
            "INSERT INTO owners (token, pid, host, lease_until) VALUES (%s, %s, %s, now() + make_interval(secs => %s)) "
            "ON CONFLICT (token) DO UPDATE SET lease_until = excluded.lease_until",
            (self._token, os.getpid(), socket.gethostname(), self._lease),
        )

    def _lease_loop(self) -> None:
        """Every lease/3: renew our lease, then sweep (recover) owners that died."""
        while not self._stop.wait(self._lease / 3):
            try:
                with self._pool.connection() as conn:
                    self._renew(conn)
                job = RecoverJob(self._token, self._channel, wait=False)
                self._put(Job(job.step))
            except Exception as exc:  # the server is unreachable: try again next round
                if not self._stop.is_set():
                    import logging

                    logging.getLogger("runwire.store.postgres").warning("owner lease renewal failed: %s", exc)

    # -- identity ------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        """The database URL as shown in messages: the password replaced by ``***``."""
        return self._target.shown

    @property
    def path(self) -> Path:
        """The RunStore protocol's location: here the URL (password hidden) as a Path-like name."""
        return Path(self._target.shown)

    @property
    def schema(self) -> str:
        return self._target.schema

    @property
    def owner_token(self) -> str:
        """This store's owner token (recorded on every run it creates)."""
        return self._token

    def attach(self, fail_run: FailRun) -> SystemStore:
        """``RunSystem(store=this)``: bind to that system, which leaves this store open at its close."""
        from runwire.actors.store import StoreBinding

        return StoreBinding.open(self, False, fail_run)

    # -- writes: enqueue only ------------------------------------------------------------------
    def _put(self, item: WriteOp | Barrier | Job) -> None:
        with self._lock:
            if self._closed:
                raise StoreClosedError("the store was closed", self._target.shown)
            self._writer.put(item)

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
        """Enqueue sequenced events (seq >= 1, in seq order per run; several runs may mix)."""
        if encoded is not None and len(encoded) != len(events):
            raise ValueError(f"append: {len(events)} events but {len(encoded)} encoded payloads")
        for ev in events:
            if not 0 < ev.seq <= MAX_SEQ:
                raise ValueError(f"append: event {ev.type} of run {ev.run_id} has seq {ev.seq}; sequence it first")
        if events:
            self._put(Append(list(events), None if encoded is None else list(encoded)))

    def set_state(self, run_id: str, state: RunState, at: datetime | None = None) -> None:
        """Enqueue a state change. Ignored once the run has ended (its terminal state is final)."""
        if state not in RUN_STATES:
            raise ValueError(f"unknown run state {state!r}; expected one of {sorted(RUN_STATES)}")
        self._put(SetState(run_id, state, _unix(at)))

    def flush(self, timeout: float | None = None) -> None:
        """Wait until everything enqueued before this call is committed (TimeoutError, StoreWriteError)."""
        if threading.current_thread() is self._writer:
            raise RuntimeError("flush() called from a store listener: it would wait for itself")
        barrier = Barrier()
        self._put(barrier)
        if not barrier.done.wait(timeout):
            raise TimeoutError(f"run store flush did not complete within {timeout} s [{self._target.shown}]")
        if barrier.error is not None:
            raise barrier.error

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

    # -- maintenance ---------------------------------------------------------------------------
    def _run(self, job: Job, action: str, timeout: float | None) -> None:
        self._put(job)
        try:
            job.future.result(timeout)
        except self._psycopg.Error as exc:
            raise wrap_error(exc, self._target, action) from exc

    def recover(self, timeout: float | None = None) -> list[str]:
        """Close in-flight runs of dead owners (any process, any machine) with ``run.failed``; return them."""
        job = RecoverJob(self._token, self._channel)
        self._run(Job(job.step), "recovering runs", timeout)
        return list(job.recovered)

    def gc(
        self, older_than: timedelta | None = None, keep_last: int | None = None, timeout: float | None = None
    ) -> int:
        """Delete finished runs ended more than ``older_than`` ago and/or beyond the ``keep_last`` newest."""
        if older_than is None and keep_last is None:
            raise ValueError("gc() needs older_than and/or keep_last")
        if keep_last is not None and keep_last < 0:
            raise ValueError("keep_last must be >= 0")
        job = GcJob(cutoff_from(None if older_than is None else older_than.total_seconds()), keep_last or 0)
        self._run(Job(job.step), "deleting old runs", timeout)
        return job.deleted

    # -- reads ---------------------------------------------------------------------------------
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

    # -- across processes: LISTEN/NOTIFY -------------------------------------------------------
    def wait_for_change(self, run_id: str, after_seq: int, timeout: float | None) -> bool:
        """Block until ``run_id`` has a committed event past ``after_seq`` or has ended (a dead
        owner's run is ended by a sweep within the lease bound); False if ``timeout`` passed.

        Wakes on the commit's NOTIFY; holds no connection while it waits."""
        return wait_for_change(self._listener, self._readers, run_id, after_seq, timeout)

    def request_cancel(self, run_id: str, reason: str, timeout: float) -> None:
        """Ask the run's live owner to cancel it; return once its terminal is committed.

        Its owner dead: recover its runs and return. Not confirmed within ``timeout``:
        ``RunTimeoutError`` naming the owner. An ended run returns at once.
        """
        request_cancel(self._listener, self._readers, self.recover, run_id, reason, timeout)

    def serve_cancels(self, cancel: Callable[[str, str], None]) -> Callable[[], None]:
        """Call ``cancel(run_id, reason)`` (on a store thread) for cancels other processes request
        of this store's runs; returns a function that stops serving."""
        self._listener.cancel_handler = cancel

        def stop() -> None:
            if self._listener.cancel_handler is cancel:
                self._listener.cancel_handler = None

        return stop

    # -- lifecycle -----------------------------------------------------------------------------
    def close(self, timeout: float | None = None) -> None:
        """Commit what is queued, stop the threads, drop this owner's lease, close connections.

        Idempotent; also run at exit. Runs still in flight are then recovered by the next sweep.
        """
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._stop.set()  # first: the lease thread then takes a refused sweep for the close it is
            self._writer.put(STOP)
        atexit.unregister(self.close)
        self._writer.join(timeout)
        if self._writer.is_alive():
            raise TimeoutError(f"run store writer did not stop within {timeout} s [{self._target.shown}]")
        self._leaser.join(10)
        try:
            with self._pool.connection(timeout=5) as conn:
                conn.execute("DELETE FROM owners WHERE token = %s", (self._token,))
                self._listener.stop(lambda name: conn.execute("SELECT pg_notify(%s, '')", (name,)))
        except Exception:  # the server is gone: the lease lapses on its own
            self._listener.stop(lambda name: None)
        self._readers.closed = True
        self._pool.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<PostgresRunStore {self._target.shown}>"
