"""Toy back-ends: an in-memory run store, a thread-per-run executor, a pipeline plug-in."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from runwire.actors import RunContext, RunHandle, RunInfo, RunSystem, RunwireError
from runwire.actors.ext import OK, FailRun, Job, LocalExecutor, NewRun, RemoteRunHandle, Sink, register_pipeline
from runwire.protocol import GAP_REASON_RETENTION, TERMINAL_STATE_OF, RunEvent, RunState, StreamGap


class MemoryStore:
    """A store back-end (``StoreSource`` and ``SystemStore`` in one): runs and events in dicts.

    It outlives the systems attached to it, so a later system serves the runs of an earlier one.
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()  # push runs on the bus thread, reads on callers' threads
        self.stored: dict[str, NewRun] = {}
        self.logs: dict[str, list[RunEvent]] = {}

    def attach(self, fail_run: FailRun) -> MemoryStore:
        return self  # nothing can fail to persist here, so fail_run is never called

    @property
    def store(self) -> MemoryStore:
        return self

    def bind(self, system: RunSystem) -> None:
        pass  # one process only: no other process asks this store to cancel a run

    def check_new(self, run_id: str) -> None:
        if run_id in self.stored:
            raise ValueError(f"a run with run_id {run_id!r} already exists in the run store")

    def create(self, run: NewRun) -> Sink:
        with self.lock:
            self.stored[run.run_id] = run
            log = self.logs[run.run_id] = []
        return _Persist(self.lock, log)

    def _terminal(self, run_id: str) -> RunEvent | None:
        log = self.logs[run_id]
        return log[-1] if log and log[-1].type in TERMINAL_STATE_OF else None

    def handle(self, system: RunSystem, run_id: str) -> RunHandle | None:
        with self.lock:
            if run_id not in self.stored:
                return None
            return StoredHandle(system, run_id, self.stored[run_id].pipeline, self._terminal(run_id))

    def info(self, run_id: str) -> RunInfo | None:
        with self.lock:
            return self._info(run_id) if run_id in self.stored else None

    def _info(self, run_id: str) -> RunInfo:
        run, log, terminal = self.stored[run_id], self.logs[run_id], self._terminal(run_id)
        last_seq = log[-1].seq if log else 0
        return RunInfo(
            run_id=run_id,
            pipeline=run.pipeline,
            state=TERMINAL_STATE_OF[terminal.type] if terminal else "running",
            created_at=run.created_at,
            parent_run_id=run.parent_run_id,
            step=log[0].step if log else None,
            terminal=terminal,
            last_seq=last_seq,
            retained_from=last_seq + 1,  # nothing of it is in memory
            subscribers=0,
            late_events_dropped=0,
            discarded_signals=0,
            finish_reason=getattr(terminal, "finish_reason", None),
            worker_active=False,
            worker_abandoned=False,
            from_store=True,
        )

    def runs(self, state: RunState | None, limit: int | None, skip: set[str]) -> list[RunInfo]:
        with self.lock:
            infos = [self._info(run_id) for run_id in self.stored if run_id not in skip]
        wanted = [info for info in infos if state is None or info.state == state]
        return wanted if limit is None else wanted[-limit:]

    def replay(
        self, run_id: str, after_seq: int, missing: Exception, timeout: float | None = None
    ) -> Iterator[list[RunEvent]]:
        with self.lock:
            if run_id not in self.stored:
                raise missing
            page = [event for event in self.logs[run_id] if event.seq > after_seq]
        if page:
            yield page

    def fill(self, batch: list[RunEvent]) -> Iterator[list[RunEvent]]:
        gap = batch[0] if batch else None
        if isinstance(gap, StreamGap) and gap.reason == GAP_REASON_RETENTION:
            with self.lock:  # pushed before the bus trimmed them: stored already
                log = self.logs.get(gap.run_id, [])
                stored = [event for event in log if gap.from_seq <= event.seq <= gap.to_seq]
            if len(stored) == gap.to_seq - gap.from_seq + 1:
                yield stored
                batch = batch[1:]
        yield batch

    def close(self, timeout: float | None = None) -> None:
        pass  # the data stays for the next system


class _Persist(Sink):
    """The durable subscriber of one run: appends each batch the bus pushes (on the bus thread)."""

    def __init__(self, lock: threading.Lock, log: list[RunEvent]) -> None:
        super().__init__(None, "block")
        self._store_lock = lock
        self._log = log

    def push(self, events: Sequence[Any]) -> int:
        with self._store_lock:
            self._log.extend(events)
        return OK

    def close(self, error: BaseException | None = None) -> None:
        pass


class StoredHandle(RemoteRunHandle):
    """A handle to a stored run that is not in memory: its events replay from the store.

    ``RemoteRunHandle(system, run_id, pipeline)`` is the public base: ``events()`` and
    ``info()`` work as on any handle; a back-end says how to wait for and cancel the run.
    """

    def __init__(self, system: RunSystem, run_id: str, pipeline: str, terminal: RunEvent | None) -> None:
        super().__init__(system, run_id, pipeline)
        self._end = terminal

    def wait(self, timeout: float | None = None) -> RunEvent:
        if self._end is None:
            raise RunwireError(f"run {self.run_id} is in flight in another system")
        return self._end

    def cancel(self, reason: str = "cancelled", *, timeout: float | None = 10.0) -> RunEvent:
        return self.wait()

    async def wait_async(self) -> RunEvent:
        return self.wait()

    def on_terminal(self, callback: Callable[[RunEvent], object]) -> None:
        callback(self.wait())


class ThreadExecutor:
    """An executor: one new thread per sync job; async jobs go to a LocalExecutor's event loop."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._threads: dict[str, threading.Thread] = {}
        self._async = LocalExecutor(1)

    def start(self, job: Job) -> None:
        if job.is_async:
            self._async.start(job)
            return
        thread = threading.Thread(target=self._run, args=(job,), name=f"run-{job.run_id}", daemon=True)
        with self._lock:
            self._threads[job.run_id] = thread
        thread.start()

    def _run(self, job: Job) -> None:
        try:
            job.call()  # reports the run's outcome itself, never raises
        finally:
            with self._lock:
                self._threads.pop(job.run_id, None)

    def cancel(self, run_id: str) -> None:
        self._async.cancel(run_id)  # a sync job sees its cancel flag at its next emit or check

    def abandon(self, run_id: str) -> bool:
        with self._lock:
            thread = self._threads.pop(run_id, None)  # it runs on, no longer ours to wait for
        return True if thread is not None else self._async.abandon(run_id)

    def close(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        with self._lock:
            threads = list(self._threads.values())
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        self._async.close(max(0.0, deadline - time.monotonic()))


def shout(ctx: RunContext) -> str:
    """A pipeline plug-in: startable by name (``resolve_pipeline("shout")``, the CLI, MCP)."""
    text = str(ctx.inputs.get("text", "hello"))
    ctx.progress(1.0, message=text)
    return text.upper()


register_pipeline("shout", shout)
