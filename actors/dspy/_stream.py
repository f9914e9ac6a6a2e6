"""Run one DSPy program through ``dspy.streamify`` and turn what it yields into run events.

Why this shape: the program is consumed in the run's own task, inside a cancel scope. A run
cancel (the runtime cancels the task) or a failing emit stops the stream by cancelling that scope
— never by ``break``/``aclose()``, which leaves DSPy's task group to be finalised in another task
(see shared notes, "Stopping a stream early") — so the producer task and its HTTP stream are
closed before this returns. Chunks become ``text.delta`` as they arrive; at the end of each
listened predictor call the text is reconciled against the parsed value; status messages become
``run.log``; the provider's finish_reason goes to the terminal through ``report_finish_reason``.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypedDict

import anyio
import dspy  # type: ignore[import-untyped]
from dspy.adapters.json_adapter import JSONAdapter  # type: ignore[import-untyped]
from dspy.streaming import StatusMessage, StatusMessageProvider, StreamResponse  # type: ignore[import-untyped]
from pydantic import JsonValue

from runwire.protocol import LogLevel

from ._batch import PieceBatcher
from ._listen import CallDone, CallWatcher, ListenerSpec, ProgramDone, RunListener, build_listeners, name_listeners
from ._text import FieldText, final_text

__all__ = ["DeltaSink", "StreamArgs", "StreamOptions", "stream_program"]


class DeltaSink(Protocol):
    """The part of a run context this module emits to (``RunContext`` satisfies it)."""

    @property
    def cancelled(self) -> bool: ...

    def delta(self, field: str, text: str, artifact_id: str | None = None) -> None: ...

    def log(self, message: str, level: LogLevel = "info") -> None: ...

    def milestone(self, name: str, **data: JsonValue) -> None: ...

    def report_finish_reason(self, reason: str) -> None: ...


@dataclass(frozen=True)
class StreamOptions:
    """How a program is streamed.

    ``listeners``: field names or ``StreamListener`` templates (None: every ``str`` output field of
    every predictor). ``lm`` / ``adapter``: used for this run (default: DSPy's configured ones; the
    LM is copied per run so its history — where finish_reason is read — is the run's own).
    ``status``: a ``StatusMessageProvider`` whose messages become ``run.log``. ``artifact_id``:
    put on every delta. ``async_program``: call ``program.acall`` (default: when the program has
    ``aforward``) instead of running it in DSPy's worker thread. ``milestones``: one
    ``predict_finished`` milestone per listened predictor call. ``settings``: more ``dspy.context``
    settings for the run. ``batch_window``: chunks that follow the last delta within this many
    seconds are merged into one delta (see :class:`PieceBatcher`; 0 = one delta per chunk).
    ``batch_window_max``: while a burst keeps filling batches the window doubles up to this many
    seconds (one 60 Hz frame by default), and falls back to ``batch_window`` after a pause; a
    value <= ``batch_window`` keeps the window fixed. Both are checked here, at the call.
    """

    listeners: Sequence[ListenerSpec] | None = None
    lm: Any = None
    adapter: Any = None
    status: StatusMessageProvider | None = None
    artifact_id: str | None = None
    async_program: bool | None = None
    milestones: bool = True
    settings: Mapping[str, Any] | None = None
    batch_window: float = 0.002
    batch_window_max: float = 0.016

    def __post_init__(self) -> None:
        _check_seconds(self.batch_window, "batch_window")
        _check_seconds(self.batch_window_max, "batch_window_max")
        # the run's own copy: a caller that changes its dict later does not change the run
        object.__setattr__(self, "settings", dict(self.settings or {}))


class StreamArgs(TypedDict, total=False):
    """:class:`StreamOptions` as keyword arguments (``dspy_pipeline(program, **options)``)."""

    listeners: Sequence[ListenerSpec] | None
    lm: Any
    adapter: Any
    status: StatusMessageProvider | None
    artifact_id: str | None
    async_program: bool | None
    milestones: bool
    settings: Mapping[str, Any] | None
    batch_window: float
    batch_window_max: float


def _check_seconds(value: object, name: str) -> None:
    """A finite number of seconds >= 0 (a bool is refused: ``True`` is no window)."""
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise TypeError(f"{name} must be a number of seconds, got {type(value).__name__}")
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number of seconds >= 0, got {value!r}")


async def stream_program(sink: DeltaSink, program: Any, inputs: Mapping[str, Any], options: StreamOptions) -> Any:
    """Run ``program(**inputs)`` streaming into ``sink``; return its final ``dspy.Prediction``."""
    base_lm = options.lm if options.lm is not None else dspy.settings.lm
    lm = base_lm.copy() if base_lm is not None else None
    overrides = dict(options.settings or {})
    if lm is not None:
        overrides["lm"] = lm
    if options.adapter is not None:
        overrides["adapter"] = options.adapter
    listeners = build_listeners(program, options.listeners)
    listened: set[int] = set()
    watcher = CallWatcher(program, listened)
    is_async = options.async_program if options.async_program is not None else hasattr(program, "aforward")
    try:
        with dspy.context(**overrides, callbacks=[*dspy.settings.callbacks, watcher]):
            streamer = dspy.streamify(
                program,
                status_message_provider=options.status,
                stream_listeners=list(listeners),
                is_async_program=is_async,
            )
            listened.update(id(listener.predict) for listener in listeners)
            name_listeners(listeners)
            json_mode = isinstance(dspy.settings.adapter, JSONAdapter)
            session = _Session(sink, listeners, watcher, json_mode, options)
            try:
                return await _consume(streamer(**inputs), session)
            finally:
                session.close(sink.cancelled)
    finally:
        if lm is not None and not sink.cancelled:
            reason = _finish_reason(lm.history)
            if reason is not None:
                sink.report_finish_reason(reason)


async def _consume(items: AsyncIterator[Any], session: _Session) -> Any:
    """Feed every item to ``session``; stop the stream by cancelling its scope when needed."""
    failure: BaseException | None = None
    with anyio.CancelScope() as scope:
        async for item in items:
            try:
                if session.take(item):
                    scope.cancel()  # the program's own (non-Prediction) result arrived
            except BaseException as exc:  # a cancelled emit, or a bug: close the stream cleanly first
                failure = exc
                scope.cancel()
    if failure is not None:
        raise failure
    return session.result()


_UNSET: Any = object()


class _Session:
    """One run's consumer state: the listeners, the text sent per field, the final result."""

    def __init__(
        self, sink: DeltaSink, listeners: list[RunListener], watcher: CallWatcher, json_mode: bool, opts: StreamOptions
    ) -> None:
        self._sink = sink
        self._batch: PieceBatcher[RunListener] = PieceBatcher(
            self._emit, opts.batch_window, _asyncio_loop(), opts.batch_window_max
        )
        self._watcher = watcher
        self._json = json_mode
        self._artifact = opts.artifact_id
        self._milestones = opts.milestones
        self._by_chunk = {(lst.predict_name, lst.signature_field_name): lst for lst in listeners}
        self._by_predict: dict[int, list[RunListener]] = {}
        for lst in listeners:
            self._by_predict.setdefault(id(lst.predict), []).append(lst)
        self._texts = {lst.key: FieldText(json_mode) for lst in listeners}
        self._dirty: set[str] = set()  # fields with text since their last reconciliation
        self._broken: set[str] = set()  # fields whose listener went off its value (reported once per call)
        self._settled_any = False
        self._expected: Any = _UNSET
        self._result: Any = _UNSET

    def take(self, item: Any) -> bool:
        """Handle one stream item; True when the program's result is in and the stream can stop."""
        if isinstance(item, StreamResponse):
            self._chunk(item)
        elif isinstance(item, CallDone):
            self._call_done(item)
        elif isinstance(item, ProgramDone):
            if not isinstance(item.result, dspy.Prediction):
                self._expected = item.result  # streamify waits for a Prediction forever: stop at this value
        elif isinstance(item, StatusMessage):
            self._batch.flush()
            self._sink.log(item.message)
        elif isinstance(item, dspy.Prediction):
            self._final(item)
        elif self._expected is not _UNSET and item is self._expected:
            self._final(item)
            return True
        return False

    def close(self, cancelled: bool) -> None:
        """The stream is over: send held text (or forget it, once cancelled: nothing follows the terminal)."""
        try:
            if not cancelled:
                self._batch.flush()
        except Exception:  # cancelled meanwhile: the run's end is decided elsewhere
            pass
        self._batch.drop()

    def result(self) -> Any:
        if self._result is _UNSET:
            raise RuntimeError("the DSPy stream ended without the program's result")
        return self._result

    def _chunk(self, item: StreamResponse) -> None:
        listener = self._by_chunk.get((item.predict_name, item.signature_field_name))
        chunk = item.chunk
        if listener is not None and chunk and isinstance(chunk, str):
            self._batch.add(listener, chunk)  # the rest is done once per batch, in _emit

    def _emit(self, listener: RunListener, chunks: list[str]) -> bool:
        """A batch of one field's chunks: checked against the listener's raw value, sent as one delta."""
        key = listener.key
        field_text = self._texts[key]
        if len(chunks) == 1:
            text = field_text.feed(chunks[0], listener.take)
        else:
            text = field_text.feed_pieces(chunks, listener.take)
        if text:
            self._dirty.add(key)
            self._sink.delta(key, text, self._artifact)
        if field_text.broken and key not in self._broken:
            self._broken.add(key)
            self._sink.log(f"the stream listener of {key!r} lost its place; the rest follows at its end")
        return bool(text)

    def _call_done(self, done: CallDone) -> None:
        self._batch.flush()
        listeners = self._by_predict.get(done.predict_id, [])
        streamed: dict[str, JsonValue] = {}
        reconciled: dict[str, JsonValue] = {}
        for listener in listeners:
            key = listener.key
            sent = self._texts[key].size
            value = _field(done.outputs, listener.signature_field_name)
            if value is not _UNSET:
                reconciled[key] = self._settle(key, final_text(value))
            streamed[key] = sent
            self._texts[key] = FieldText(self._json)
            self._dirty.discard(key)
            self._broken.discard(key)
            listener.rearm()
        self._settled_any = True
        if self._milestones and listeners:
            name = listeners[0].predict_name or "program"
            self._sink.milestone("predict_finished", predictor=name, streamed=streamed, reconciled=reconciled)

    def _settle(self, key: str, final: str) -> int:
        """Emit what ``key`` misses of ``final``; the number of characters added."""
        suffix, diverged = self._texts[key].settle(final)
        if diverged:
            self._sink.log(
                f"streamed text of {key!r} is not a prefix of its final value; the result has the final value",
                "warning",
            )
        elif suffix:
            self._sink.delta(key, suffix, self._artifact)
        return len(suffix)

    def _final(self, result: Any) -> None:
        self._batch.flush()
        for marker in self._watcher.take_late():  # calls whose marker could not be sent in order
            if isinstance(marker, CallDone):
                self._call_done(marker)
        if isinstance(result, dspy.Prediction):
            for listener in self._by_chunk.values():
                key = listener.key
                fallback = not self._settled_any and key == listener.signature_field_name
                if key in self._dirty or fallback:
                    value = _field(result, listener.signature_field_name)
                    if value is not _UNSET:
                        self._settle(key, final_text(value))
                    self._dirty.discard(key)
        self._result = result


def _asyncio_loop() -> asyncio.AbstractEventLoop | None:
    """The running asyncio loop (None under trio: then every chunk is its own delta)."""
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def _field(outputs: Any, name: str) -> Any:
    if isinstance(outputs, dspy.Prediction):
        return outputs.get(name, _UNSET)
    if isinstance(outputs, Mapping):
        return outputs.get(name, _UNSET)
    return _UNSET


def _finish_reason(history: list[dict[str, Any]]) -> str | None:
    """The run's finish_reason: the first that is not ``stop`` (e.g. ``length``), else the last one."""
    reasons: list[str] = []
    for entry in history:
        response = entry.get("response")
        reason = getattr(response, "finish_reason", None)
        if reason is None:
            choices = getattr(response, "choices", None) or []
            reason = getattr(choices[0], "finish_reason", None) if choices else None
        if reason:
            reasons.append(str(reason))
    unusual = [reason for reason in reasons if reason != "stop"]
    return unusual[0] if unusual else (reasons[-1] if reasons else None)
