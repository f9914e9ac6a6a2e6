"""RunSystem: the facade that owns the actor shards, the workers, and the run registry."""

from __future__ import annotations

import contextlib
import inspect
import threading
import time
import uuid
import zlib
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any, Literal

import pykka
from pydantic import ConfigDict, JsonValue, TypeAdapter, ValidationError

from runwire.protocol import RUN_STATES, RunEvent, RunState, utc_now
from runwire.protocol._base import JsonObject
from runwire.protocol._frozen import encodable

from ._bus import BusActor
from ._checks import check_run_options, check_text, first_error
from ._completion import CompletionActor
from ._errors import RunExpiredError, RunTimeoutError, SystemClosedError, UnknownRunError
from ._executor import Executor, ExecutorFactory, LocalExecutor
from ._expiry import ExpiryQueue
from ._gc_pace import PACE
from ._handle import RunHandle
from ._info import RunInfo
from ._live_run import LiveRun
from ._messages import Admit, Close, Drain, InfoRequest, Open, Resume, Signal, Start, Subscribe, Unsubscribe
from ._once import TerminalSlot
from ._outbox import Outbox
from ._plugins import EXECUTORS, LOOPS, load
from ._run_actor import RunActor
from ._shard import Box, Shard, tell_quietly
from ._snapshot import snapshot, snapshots
from ._storage import NewRun, SystemStore, open_store
from ._subscription import Sink
from ._throttle import DeltaThrottle
from ._timer import Timer

__all__ = ["RunSystem"]

# finite numbers, encodable text, read-only containers: what RunStarted.inputs will hold
_INPUTS: TypeAdapter[dict[str, JsonValue]] = TypeAdapter(JsonObject, config=ConfigDict(allow_inf_nan=False))
_NO_INPUTS = _INPUTS.validate_python({})
_STORE_CLOSE_FLOOR = 1.0  # seconds close() still gives the store to commit what is queued
_EXPIRED_MEMORY = 100_000  # how many expired run_ids are remembered, to say "expired" not "unknown"


class RunSystem:
    """Starts runs and hands out :class:`RunHandle` s. Use it as a context manager.

    Runs are spread over ``shards`` groups of (RunActor, BusActor, CompletionActor): actors
    cost a thread each, so they are shared by many runs instead of started per run (see
    docs/architecture.md for the figures).

    Args:
        shards: actor groups; each run lives in one, chosen by a hash of its run_id.
        workers: threads for sync pipelines (at most this many run at once; others queue).
        outbox_window: events a sync worker may have in flight before it waits for the bus.
        cancel_deadline: seconds a cancelled worker gets to stop before it is abandoned.
        retention: seconds a finished run stays queryable before its state is freed.
        include_traceback: put a short traceback summary on ``run.failed`` events.
        ask_timeout: bound on every synchronous question to an actor (``get``, ``runs``).
        retain_events, retain_bytes: per-run bound on the in-memory log kept for replay; a
            subscriber whose cursor is older gets one ``stream.gap`` first (bytes are estimated).
        delta_max_rate, delta_max_delay: throttle text deltas to at most this many events/s per
            run, holding none longer than ``delta_max_delay`` s (merged, never lost). None: off.
            Both can be set per run in :meth:`start`.
        store: persist every run (docs/store.md): an open store object (left open at close),
            or a path or URL, opened and closed by the system: a plain path, ``sqlite://...``
            or ``"default"`` (the data dir) for SQLite; other schemes come from the back-ends
            installed (docs/extending.md). Finished runs then stay readable across restarts.
        executor: where pipelines execute: ``"local"`` (threads and an event loop in this
            process), the name of an installed executor (``"ray"`` with the ``ray`` extra), an
            ``ext.Executor`` object, or an ``ext.ExecutorFactory`` called with ``workers``
            (``runwire.actors.ray.ray_executor(address=...)``: a Ray cluster, docs/scale-out.md).
    """

    def __init__(
        self,
        *,
        shards: int = 2,
        workers: int = 8,
        outbox_window: int = 128,
        cancel_deadline: float = 5.0,
        retention: float = 300.0,
        include_traceback: bool = False,
        ask_timeout: float = 5.0,
        retain_events: int = 50_000,
        retain_bytes: int = 32 * 2**20,
        delta_max_rate: float | None = None,
        delta_max_delay: float = 0.05,
        store: object | None = None,
        executor: str | Executor | ExecutorFactory = "local",
    ) -> None:
        if shards < 1 or workers < 1 or outbox_window < 1:
            raise ValueError("shards, workers and outbox_window must be >= 1")
        if retention < 0 or cancel_deadline < 0:
            raise ValueError("retention and cancel_deadline must be >= 0")
        if retain_events < 1 or retain_bytes < 1:
            raise ValueError("retain_events and retain_bytes must be >= 1")
        self._window = outbox_window
        self._delta_max_rate = delta_max_rate
        self._delta_max_delay = delta_max_delay
        self._cancel_deadline = cancel_deadline
        self._retention = retention
        self._ask_timeout = ask_timeout
        self._records: dict[str, LiveRun] = {}
        self._expired: OrderedDict[str, None] = OrderedDict()
        self._executor = _executor(executor, workers)
        self._store: SystemStore | None = None
        if store is not None:  # the back-end loads only when asked for: `import runwire.actors` needs no SQLite
            try:
                self._store = open_store(store, self._fail_from_store)
            except BaseException:
                self._executor.close(0)
                raise
        self._closed = False
        self._close_lock = threading.Lock()
        self._timer = Timer()
        # bound once and shared: each run's terminal callback is this one method (the run_id is
        # the terminal's), not a closure or partial per run for the cyclic GC to walk; expiry is
        # one queue for all runs
        self._on_terminal = self._terminal_logged
        self._expiry = ExpiryQueue(self._timer, retention, self._expire)
        self._shards: list[Shard] = []
        for i in range(shards):
            boxes = bus_box, completion_box, run_box = Box(), Box(), Box()
            bus = bus_box.bind(BusActor.start(i, retain_events, retain_bytes))
            completion = completion_box.bind(CompletionActor.start(i, bus, bus_box))
            run_actor = run_box.bind(
                RunActor.start(i, completion, boxes, self._executor, self._timer, cancel_deadline, include_traceback)
            )
            bus.proxy().completion = completion
            completion.proxy().run_actor = run_actor
            self._shards.append(Shard(i, bus, completion, run_actor, boxes))
        # the proxy attribute writes above are messages: make sure they landed before any run
        for shard in self._shards:
            shard.bus.ask(InfoRequest(""), timeout=ask_timeout)
            shard.completion.ask(InfoRequest(""), timeout=ask_timeout)
        if self._store is not None:  # e.g. serve other processes' cancels of this system's runs
            try:
                self._store.bind(self)
            except BaseException:
                self.close(0)
                raise

    # -- context manager ----------------------------------------------------------------------
    def __enter__(self) -> RunSystem:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- runs ---------------------------------------------------------------------------------
    def start(
        self,
        pipeline: Callable[..., Any],
        inputs: Mapping[str, Any] | None = None,
        *,
        run_id: str | None = None,
        name: str | None = None,
        parent_run_id: str | None = None,
        step: int | None = None,
        delta_max_rate: float | Literal["default"] | None = "default",
        delta_max_delay: float | None = None,
    ) -> RunHandle:
        """Start ``pipeline(ctx)`` as a new run and return its handle at once.

        ``pipeline`` is a plain function (run on a worker thread) or a coroutine function (run
        on the system's event loop); it reads ``ctx.inputs`` and returns a JSON value.
        """
        if self._closed:
            raise SystemClosedError("the RunSystem is closed; start a new one")
        if not callable(pipeline):
            raise TypeError(f"pipeline must be callable, got {type(pipeline).__name__}")
        if inputs is not None and not isinstance(inputs, Mapping):
            raise TypeError(f"inputs must be a mapping (a JSON object), got {type(inputs).__name__}")
        try:  # no inputs: the one read-only empty object, shared (not validated and built per run)
            checked = _NO_INPUTS if not inputs else _INPUTS.validate_python(dict(inputs))
        except ValidationError as exc:
            raise ValueError(f"inputs must be a JSON object: {first_error(exc)}") from None
        rid = uuid.uuid4().hex if run_id is None else check_text(run_id, "run_id")
        if not rid:
            raise ValueError("run_id must be a non-empty string")
        check_run_options(name, parent_run_id, step, delta_max_rate, delta_max_delay)
        binding = self._store
        if binding is not None and run_id is not None:
            binding.check_new(rid)  # a run of an earlier process keeps its id
        shard = self._shards[zlib.crc32(rid.encode()) % len(self._shards)]
        record = self._new_run(pipeline, checked, rid, name, parent_run_id, step, shard)
        rate = self._delta_max_rate if delta_max_rate == "default" else delta_max_rate
        if rate is not None:
            delay = self._delta_max_delay if delta_max_delay is None else delta_max_delay
            outbox = record.outbox
            record.throttle = DeltaThrottle(
                rate, delay, self._timer, lambda event, block: outbox.put(event, record.cancel_requested, block)
            )
        # Under the close lock: a close() either sees this run (and cancels it after its actors
        # know it) or has already flipped `_closed` (and this start refuses). Only tells inside.
        with self._close_lock:
            if self._closed:
                raise SystemClosedError("the RunSystem is closed; start a new one")
            if self._records.setdefault(rid, record) is not record:
                raise ValueError(f"a run with run_id {rid!r} already exists")
            self._expired.pop(rid, None)
            # boxes, not tells: runs started close together reach each actor in one message
            shard.bus_box.put(Open(record))
            shard.completion_box.put(Admit(record))
            if binding is not None:  # after Admit (a write error fails the run), before Start (seq 1 on)
                new = NewRun(rid, record.pipeline_name, record.inputs, parent_run_id, record.created_at)
                self._subscribe(rid, binding.create(new), 0)
            shard.run_box.put(Start(record))
        PACE.started()  # ended by the terminal's callback, which comes exactly once
        record.terminal.add_done_callback(self._on_terminal)
        return RunHandle(self, record)

    def _new_run(
        self,
        pipeline: Callable[..., Any],
        inputs: dict[str, JsonValue],
        run_id: str,
        name: str | None,
        parent_run_id: str | None,
        step: int | None,
        shard: Shard,
    ) -> LiveRun:
        outbox = Outbox(self._window, shard.bus_tell, first=shard.bus_put)
        is_async = inspect.iscoroutinefunction(pipeline) or inspect.iscoroutinefunction(
            getattr(pipeline, "__call__", None)  # noqa: B004 - async callable objects
        )
        pipeline_name = name or str(getattr(pipeline, "__name__", type(pipeline).__name__))
        if not encodable(pipeline_name):  # a __name__ is anybody's text: it goes into run.started
            pipeline_name = pipeline_name.encode("utf-8", "backslashreplace").decode("utf-8")
        record = LiveRun(
            run_id=run_id,
            pipeline_name=pipeline_name,
            pipeline=pipeline,
            inputs=inputs,
            is_async=is_async,
            shard=shard.index,
            outbox=outbox,
            created_at=utc_now(),
            to_completion=shard.completion_tell,
            parent_run_id=parent_run_id,
            step=step,
        )
        outbox.bind(Drain(record))  # the one Drain message this run's outbox sends, made once
        return record

    def loop(self, observe: Callable[..., Any], decide: Callable[..., Any], **options: Any) -> RunHandle:
        """Start an Observe-Decide-Act loop: a run whose steps are child runs (see docs/oda.md).

        The loop runner is a plug-in (entry point group ``runwire.loops``, name ``oda``: the
        ``runwire.actors.oda`` integration's ``start_loop``), loaded on first use.
        """
        start_loop = load(LOOPS, "oda", "loop runner")
        if not callable(start_loop):
            raise TypeError("the 'oda' loop runner entry point is not callable")
        handle: RunHandle = start_loop(self, observe, decide, **options)
        return handle

    def handle(self, run_id: str) -> RunHandle:
        """A handle to a run started earlier (by run_id); with a store, also a stored run."""
        record = self._records.get(run_id)
        if record is not None:
            return RunHandle(self, record)
        stored = None if self._store is None else self._store.handle(self, run_id)
        if stored is None:
            raise self._missing(run_id)
        return stored

    def get(self, run_id: str) -> RunInfo:
        """A snapshot of the run's state, counters and terminal event (from the store if not in memory)."""
        record = self._records.get(run_id)
        if record is not None:
            try:
                return self._info(record)
            except RunExpiredError:
                if self._store is None:
                    raise  # freed meanwhile; with a store, read it there
        stored = None if self._store is None else self._store.info(run_id)
        if stored is None:
            raise self._missing(run_id)
        return stored

    def runs(self, state: RunState | None = None, limit: int | None = None) -> list[RunInfo]:
        """Snapshots of the runs in memory, and with a store the stored ones too: oldest first.

        ``state`` keeps runs in that state; ``limit`` keeps the newest ``limit`` runs. A run that
        expires while it is listed is left out (or read from the store), never an error. Costs
        one ask per shard actor, however many runs there are.
        """
        if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int)):
            raise TypeError(f"limit must be an int or None, got {type(limit).__name__}")
        if limit is not None and limit < 0:
            raise ValueError(f"limit must be >= 0, got {limit}")
        if state is not None and state not in RUN_STATES:
            raise ValueError(f"unknown run state {state!r}; expected one of {', '.join(sorted(RUN_STATES))}")
        records = sorted(self._records.values(), key=lambda r: r.created_at)
        # without a state filter only the newest `limit` can be kept: ask about those alone
        wanted = records if limit is None or state is not None else records[len(records) - limit :]
        infos = self._infos(wanted)
        if state is not None:
            infos = [i for i in infos if i.state == state]
        if self._store is not None:
            listed = {i.run_id for i in infos}
            expired = {r.run_id for r in wanted} - listed  # left memory meanwhile: the store has them
            infos += self._store.runs(state, limit, {r.run_id for r in records} - expired)
            infos.sort(key=lambda i: i.created_at)
        return infos if limit is None else infos[len(infos) - limit :]

    @property
    def store(self) -> Any:
        """The run store object this system persists to (e.g. a ``SqliteRunStore``), or None."""
        return None if self._store is None else self._store.store

    # -- internals used by handles and streams ------------------------------------------------
    def _live_run(self, run_id: str) -> LiveRun:
        record = self._records.get(run_id)
        if record is None:
            raise self._missing(run_id)
        return record

    def _missing(self, run_id: str) -> UnknownRunError:
        return RunExpiredError(run_id) if run_id in self._expired else UnknownRunError(run_id)

    def _fail_from_store(self, run_id: str, message: str) -> None:
        """The store could not persist the run: fail it (called on the store's writer thread)."""
        record = self._records.get(run_id)
        if record is not None and not record.terminal.done():
            with contextlib.suppress(pykka.ActorDeadError):
                record.to_completion(Signal(run_id, "fail", error_type="StoreWriteError", message=message))

    def _subscribe(self, run_id: str, sink: Sink, after_seq: int) -> None:
        record = self._live_run(run_id)
        shard = self._shards[record.shard]
        bus = shard.bus
        sink.on_space = lambda: tell_quietly(bus, Resume(run_id, sink))
        # through the box: in order with what else goes there (a store's sink, subscribed at
        # start, must not be passed by the run.started or the terminal the box carries later)
        shard.bus_box.put(Subscribe(run_id, sink, after_seq))

    def _unsubscribe(self, run_id: str, sink: Sink) -> None:
        record = self._records.get(run_id)
        if record is not None:
            with contextlib.suppress(pykka.ActorDeadError):
                self._shards[record.shard].bus.tell(Unsubscribe(run_id, sink))

    def _info(self, record: LiveRun) -> RunInfo:
        shard = self._shards[record.shard]
        return snapshot(record, (shard.completion, shard.bus, shard.run_actor), self._ask_timeout)

    def _infos(self, records: list[LiveRun]) -> list[RunInfo]:
        refs = [(shard.completion, shard.bus, shard.run_actor) for shard in self._shards]
        return snapshots(records, refs, self._ask_timeout)

    def _terminal_logged(self, slot: TerminalSlot[RunEvent]) -> None:
        """A run's terminal slot is resolved (its callback, exactly once per run)."""
        PACE.ended()
        self._schedule_expiry(slot.result(0).run_id)  # resolved: no wait; its run_id is the run's

    def _schedule_expiry(self, run_id: str) -> None:
        if self._retention == 0:
            self._expire(run_id)
        else:
            self._expiry.add(run_id)

    def _expire(self, run_id: str) -> None:
        record = self._records.pop(run_id, None)
        if record is None:
            return
        self._expired[run_id] = None
        while len(self._expired) > _EXPIRED_MEMORY:
            self._expired.popitem(last=False)
        shard = self._shards[record.shard]
        for ref in (shard.bus, shard.completion, shard.run_actor):
            with contextlib.suppress(pykka.ActorDeadError):
                ref.tell(Close(run_id))

    # -- shutdown -----------------------------------------------------------------------------
    def close(self, timeout: float = 10.0) -> None:
        """Cancel every live run (reason 'system closed'), wait for their terminals, stop all.

        ``timeout`` bounds the whole close, every wait included (plus a small constant for the
        last steps): a worker that ignores its cancel is left behind as a daemon thread.
        """
        if timeout < 0:
            raise ValueError(f"timeout must be >= 0, got {timeout}")
        deadline = time.monotonic() + timeout

        def left() -> float:
            return max(0.0, deadline - time.monotonic())

        with self._close_lock:
            if self._closed:
                return
            self._closed = True
        live = [r for r in list(self._records.values()) if not r.terminal.done()]
        pending: list[TerminalSlot[RunEvent]] = []
        for record in live:
            try:
                RunHandle(self, record).cancel("system closed", timeout=0)
            except RunTimeoutError:
                pending.append(record.terminal)
            except pykka.ActorDeadError:
                pass
        for fut in pending:
            with contextlib.suppress(Exception):
                fut.result(left())
        for shard in self._shards:
            for ref in (shard.run_actor, shard.completion, shard.bus):
                with contextlib.suppress(pykka.Timeout, pykka.ActorDeadError):
                    ref.stop(block=left() > 0, timeout=left())
        # workers had their cancel; those that ignore it are daemon threads, left behind after
        # the same grace a cancelled run gets
        self._executor.close(min(left(), self._cancel_deadline))
        self._timer.stop()
        if self._store is not None:  # after the bus stopped: every terminal is queued for writing
            self._store.close(max(left(), _STORE_CLOSE_FLOOR))

    @property
    def closed(self) -> bool:
        return self._closed


def _executor(spec: str | Executor | ExecutorFactory, workers: int) -> Executor:
    """The executor ``RunSystem(executor=spec)`` names: built-in ``local``, an entry point, an
    object, or a factory called with ``workers``."""
    if isinstance(spec, str):
        if spec == "local":
            return LocalExecutor(workers)
        factory = load(EXECUTORS, spec, "executor")
        if not callable(factory):
            raise TypeError(f"the executor entry point {spec!r} is not callable")
        made: ExecutorFactory = factory
        spec = made(workers)
    elif not isinstance(spec, Executor) and callable(spec):
        spec = spec(workers)
    if not isinstance(spec, Executor):
        raise TypeError(
            f"executor must be 'local', an executor name, an Executor or a factory, got {type(spec).__name__}"
        )
    return spec
