"""The run context a pipeline receives: emit helpers, inputs, and cancellation checks."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import JsonValue

from runwire.protocol import (
    TERMINAL_TYPES,
    Artifact,
    ArtifactPartial,
    DeltaBuilder,
    EventBase,
    LogLevel,
    RunEvent,
    RunLog,
    RunMilestone,
    RunProgress,
    utc_now,
)

from ._checks import check_text
from ._errors import Cancelled
from ._live_run import LiveRun
from ._messages import Signal

__all__ = ["RunContext"]


class RunContext:
    """Handed to the pipeline as ``ctx``. Every emit is non-blocking for async pipelines; a sync
    pipeline may wait at an emit when it is far ahead of the bus (backpressure), and raises
    :class:`Cancelled` there once its run is cancelled.
    """

    __slots__ = ("_block", "_cancel", "_delta", "_ids", "_outbox", "_record", "_throttle", "inputs", "run_id")

    def __init__(self, record: LiveRun, *, blocking: bool) -> None:
        self._record = record
        self._outbox = record.outbox
        self._cancel = record.cancel_requested
        self._block = blocking
        self._throttle = record.throttle
        self._delta: DeltaBuilder | None = None  # made at the first delta: most runs stream none
        self._ids: dict[str, Any] = {"run_id": record.run_id}
        if record.parent_run_id is not None:
            self._ids["parent_run_id"] = record.parent_run_id
        if record.step is not None:
            self._ids["step"] = record.step
        self.run_id = record.run_id
        self.inputs: dict[str, JsonValue] = record.inputs

    @property
    def parent_run_id(self) -> str | None:
        return self._record.parent_run_id

    @property
    def step(self) -> int | None:
        return self._record.step

    @property
    def cancelled(self) -> bool:
        """True once the run was cancelled (its ``run.cancelled`` may already be published)."""
        return self._cancel.is_set()

    def check_cancelled(self) -> None:
        """Raise :class:`Cancelled` if the run was cancelled: call it in long loops that emit nothing."""
        if self._cancel.is_set():
            raise Cancelled

    def wait_cancelled(self, timeout: float | None = None) -> bool:
        """Block a sync pipeline until the run is cancelled (True) or ``timeout`` passes (False).

        A cancel wakes it once ``run.cancelled`` is in the log (``cancelled`` is True before).

        Use it instead of ``time.sleep`` between retries, so a cancel interrupts the wait.
        """
        return self._cancel.wait(timeout)

    def on_cancel(self, callback: Callable[[], object]) -> Callable[[], None]:
        """Call ``callback`` once when the run is cancelled, on the cancelling thread, right after
        ``run.cancelled`` is in the log (at once if it already is cancelled); returns a function
        that unregisters it.

        For blocking calls that cannot check :attr:`cancelled` (a subprocess, a socket read): the
        callback aborts them, e.g. kills the process. Keep it short and non-blocking.
        """
        return self._cancel.add_callback(callback)

    def _put(self, event: RunEvent) -> None:
        if self._cancel.is_set():
            raise Cancelled
        if self._throttle is not None:
            self._throttle.flush(self._block)  # pending text goes before any other event
        self._outbox.put(event, self._cancel, self._block)

    def flush(self) -> None:
        """Emit text held by the delta throttle now (the runtime also does it before the terminal)."""
        if self._throttle is not None and not self._cancel.is_set():
            self._throttle.flush(self._block)

    # -- emit helpers -------------------------------------------------------------------------
    def progress(
        self,
        fraction: float | None = None,
        *,
        current: int | None = None,
        total: int | None = None,
        message: str | None = None,
    ) -> None:
        """Emit ``run.progress``: how far the run is, as a ``fraction`` in [0, 1] and/or
        ``current`` of ``total`` units, with an optional ``message`` saying what it does now.

        Never dropped or merged for a slow subscriber. Like every emit: raises
        :class:`Cancelled` once the run is cancelled, and a sync pipeline waits here while its
        outbox window is full (backpressure)."""
        self._put(
            RunProgress(fraction=fraction, current=current, total=total, message=message, ts=utc_now(), **self._ids)
        )

    def milestone(self, name: str, **data: JsonValue) -> None:
        """Emit ``run.milestone``: a named step reached (``"repo_fetched"``) with JSON facts about
        it as keyword arguments. Never dropped or merged: consumers may act on it."""
        self._put(RunMilestone(name=name, data=data, ts=utc_now(), **self._ids))

    def log(self, message: str, level: LogLevel = "info") -> None:
        """Emit ``run.log``: a human-readable line at ``level`` (debug, info, warning, error).
        It goes into the run's log, not Python's logging; never dropped or merged."""
        self._put(RunLog(message=message, level=level, ts=utc_now(), **self._ids))

    def delta(self, field: str, text: str, artifact_id: str | None = None) -> None:
        """Emit ``text.delta``: the next piece of generated text for output ``field`` (token
        streaming), optionally for the section ``artifact_id``. The hot path: kept lean.

        The run's delta throttle (``delta_max_rate`` of ``system.start``) may merge adjacent
        deltas before the log (their text joined, in order), and a slow ``coalesce`` subscriber
        may merge them or drop the oldest behind a ``stream.gap`` whose range the log replays."""
        if self._cancel._flag:  # is_set(), without the call: this runs once per token
            raise Cancelled
        build = self._delta
        if build is None:
            build = self._delta = DeltaBuilder(self.run_id, self._record.parent_run_id, self._record.step)
        event = build(field, text, artifact_id)
        if self._throttle is not None:
            self._throttle.add(event, self._block)
        elif artifact_id is None:  # this run's identity (its builder), no artifact: the log's hot path
            self._outbox.put(event, self._cancel, self._block, True)
        else:
            self._outbox.put(event, self._cancel, self._block)

    def artifact_partial(self, artifact_id: str, text: str) -> None:
        """Emit ``artifact.partial``: the next chunk of ``artifact_id``'s content, in order."""
        self._put(ArtifactPartial(artifact_id=artifact_id, text=text, ts=utc_now(), **self._ids))

    def artifact(
        self,
        artifact_id: str,
        *,
        path: str | None = None,
        media_type: str = "text/plain",
        size: int | None = None,
        sha256: str | None = None,
        content: str | None = None,
    ) -> None:
        """Emit ``artifact``: a finished output, by ``artifact_id``, where it was written
        (``path``), what it is (``media_type``, ``size`` in bytes, ``sha256``) and, for small
        ones, its ``content`` inline. Never dropped or merged."""
        self._put(
            Artifact(
                artifact_id=artifact_id,
                path=path,
                media_type=media_type,
                size=size,
                sha256=sha256,
                content=content,
                ts=utc_now(),
                **self._ids,
            )
        )

    def emit(self, event: RunEvent) -> None:
        """Emit a protocol event built by the caller (its run_id/seq are set by the runtime).

        Lifecycle events are not the pipeline's to send: return a value or raise instead.
        """
        if not isinstance(event, EventBase):
            raise TypeError(f"emit takes a runwire.protocol event, got {type(event).__name__}")
        if event.type in TERMINAL_TYPES or event.type == "run.started":
            raise ValueError(f"a pipeline cannot emit {event.type!r}: return or raise to end the run")
        # validated again, not copied: an event made with model_construct/model_copy skipped its
        # validators, and what enters the log must be what JSON can carry
        self._put(type(event).model_validate({**event.__dict__, "seq": 0, **self._ids}))

    def report_finish_reason(self, reason: str) -> None:
        """Record the provider's finish_reason (e.g. 'length'); it never ends the run by itself."""
        check_text(reason, "reason")
        self._record.finish_reason = reason or None  # read by whichever terminal is decided next
        self._record.to_completion(Signal(self.run_id, "provider_finish", reason=reason))
