"""Which fields stream, and where each predictor call ends in the stream.

Why: ``dspy.streamify`` tells a listener's chunks apart but not where one predictor *call* ends,
and its listeners are stateful (one set per run, reset per call). So per run we build fresh
:class:`RunListener` objects from the caller's specs, and register a :class:`CallWatcher`
callback that, when a listened predictor (or the whole program) finishes, puts a marker into the
same memory stream that carries the chunks — after that call's chunks, before anything later.
The consumer reconciles a call's text against its parsed outputs right there.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias

import anyio
import anyio.from_thread
import dspy  # type: ignore[import-untyped]
from dspy.streaming import StreamListener  # type: ignore[import-untyped]
from dspy.utils.callback import BaseCallback  # type: ignore[import-untyped]

from ._text import JsonStringDecoder

__all__ = ["CallDone", "CallWatcher", "ListenerSpec", "ProgramDone", "RunListener", "build_listeners", "name_listeners"]

ListenerSpec: TypeAlias = "str | StreamListener"
"""A field name (every predictor with that output field), or a ``StreamListener`` used as a template."""


class RunListener(StreamListener):  # type: ignore[misc]
    """A ``StreamListener`` that can be re-armed between predictor calls and checks its own output.

    DSPy's listener can drop text (it cuts a buffered ``[[`` and everything after it), so it
    also keeps the raw value of its field as the LM sent it (after the adapter's start marker;
    JSON values decoded): :meth:`take` accepts a piece of text only where it continues that value.
    ``key`` is the ``text.delta`` field its text is emitted under.
    """

    key: str = ""
    _json = False
    _head = ""
    _value: str | None = None  # what the LM sent of the value and take() has not consumed yet
    _begun = False  # the value's first non-space character has arrived
    _ended = False  # the field ended in this call: the rest of the reply is not its value
    _decoder: JsonStringDecoder | None = None
    _raw: list[str]  # chunks received since the last take(): observed there, once per batch

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._raw = []

    def rearm(self) -> None:
        """Forget this call's state (buffered tokens included): the next call streams afresh."""
        StreamListener.__init__(
            self, self.signature_field_name, predict=self.predict, predict_name=self.predict_name, allow_reuse=True
        )
        self._head, self._value, self._begun, self._ended, self._decoder = "", None, False, False, None
        self._raw = []

    def receive(self, chunk: Any) -> Any:
        if not self._ended:
            if self.stream_end:
                self._ended = True
            else:
                try:  # DSPy's own chunks are dicts (attribute access on them is a Python call per level)
                    if isinstance(chunk, dict):
                        content = chunk["choices"][0]["delta"]["content"]
                    else:
                        content = chunk.choices[0].delta.content
                except Exception:
                    content = None
                if content and isinstance(content, str):
                    self._raw.append(content)
        return super().receive(chunk)

    def _observe(self, content: str) -> None:
        if self._value is None:
            adapter = dspy.settings.adapter
            name = type(adapter).__name__ if adapter is not None else "ChatAdapter"
            marker = self.adapter_identifiers.get(name, self.adapter_identifiers["ChatAdapter"])["start_identifier"]
            self._json = name == "JSONAdapter"
            head = self._head + content
            found = head.find(marker)
            if found < 0:
                self._head = head[-len(marker) :]  # only a marker split across chunks matters
                return
            self._head = ""
            self._value = ""
            content = head[found + len(marker) :]
            if self._json:
                self._decoder = JsonStringDecoder()
        if self._decoder is not None:
            content = self._decoder.feed(content)
        elif not self._begun:
            content = content.lstrip()  # a text value is stripped when parsed
        self._begun = self._begun or bool(content)
        self._value += content

    def take(self, text: str) -> bool:
        """True (and consumed) if ``text`` continues this call's value as the LM sent it."""
        if self._raw:
            raw = self._raw
            self._raw = []
            self._observe(raw[0] if len(raw) == 1 else "".join(raw))
        value = self._value
        if value is None or not value.startswith(text):
            return False
        self._value = value[len(text) :]
        return True


@dataclass(frozen=True, slots=True)
class CallDone:
    """In-stream marker: a listened predictor call returned ``outputs``."""

    predict_id: int
    outputs: Any


@dataclass(frozen=True, slots=True)
class ProgramDone:
    """In-stream marker: the top-level program returned ``result`` (its value follows in the stream)."""

    result: Any


def _str_fields(predict: dspy.Predict) -> list[str]:
    return [name for name, info in predict.signature.output_fields.items() if info.annotation in (str, None)]


def build_listeners(program: dspy.Module, specs: Sequence[ListenerSpec] | None) -> list[RunListener]:
    """Fresh listeners for one run; ``None`` means every ``str`` output field of every predictor.

    A field name matches that output field in every predictor that has it; a ``StreamListener``
    keeps its ``predict``/``predict_name``. A field name that no predictor outputs is an error
    here (DSPy's own message for it is ``cannot unpack non-iterable NoneType object``).
    """
    named = program.named_predictors()
    listeners: list[RunListener] = []
    if specs is None:
        for name, predict in named:
            listeners.extend(
                RunListener(field, predict=predict, predict_name=name, allow_reuse=True)
                for field in _str_fields(predict)
            )
    for spec in specs or ():
        if isinstance(spec, str):
            matches = [(name, p) for name, p in named if spec in p.signature.output_fields]
            if not matches:
                outputs = sorted({field for _, p in named for field in p.signature.output_fields})
                raise ValueError(f"no predictor of the program outputs {spec!r}; output fields: {', '.join(outputs)}")
            listeners.extend(RunListener(spec, predict=p, predict_name=name, allow_reuse=True) for name, p in matches)
        else:
            listener = RunListener(
                spec.signature_field_name, predict=spec.predict, predict_name=spec.predict_name, allow_reuse=True
            )
            if spec.predict is None:  # let DSPy resolve it (and raise if the field is ambiguous or unknown)
                listener.predict_name = None
            listeners.append(listener)
    return listeners


def name_listeners(listeners: Sequence[RunListener]) -> None:
    """Set each listener's ``key``: the field name, or ``predictor.field`` where two predictors share it."""
    counts: dict[str, int] = {}
    for listener in listeners:
        counts[listener.signature_field_name] = counts.get(listener.signature_field_name, 0) + 1
    for listener in listeners:
        field = listener.signature_field_name
        listener.key = field if counts[field] == 1 else f"{listener.predict_name}.{field}"


class CallWatcher(BaseCallback):  # type: ignore[misc]
    """Puts :class:`CallDone` / :class:`ProgramDone` markers into the run's stream, in order.

    Runs where DSPy runs the module: in the program's worker thread (sync programs: the marker
    is sent like DSPy sends chunks, with ``anyio.from_thread.run``) or on the event loop (async
    programs: ``send_nowait`` — the consumer keeps the buffer near empty). A marker that cannot
    be sent in order lands in :attr:`late`, and the consumer reconciles it at the end of the run.
    """

    def __init__(self, program: Any, listened: set[int]) -> None:
        super().__init__()
        self._program_id = id(program)
        self._listened = listened
        self._calls: dict[str, int] = {}
        self._lock = threading.Lock()
        self.late: list[CallDone | ProgramDone] = []

    def on_module_start(self, call_id: str, instance: Any, inputs: dict[str, Any]) -> None:
        ident = id(instance)
        if ident == self._program_id or ident in self._listened:
            self._calls[call_id] = ident

    def on_module_end(self, call_id: str, outputs: Any | None, exception: BaseException | None = None) -> None:
        ident = self._calls.pop(call_id, None)
        if ident is None or exception is not None:
            return
        # the program may itself be a listened predictor: its call ends first, then the program
        if ident in self._listened:
            self._send(CallDone(ident, outputs))
        if ident == self._program_id:
            self._send(ProgramDone(outputs))

    def _send(self, marker: CallDone | ProgramDone) -> None:
        stream = dspy.settings.send_stream
        if stream is None:
            return
        try:
            asyncio.get_running_loop()
        except RuntimeError:  # a worker thread: hand over like DSPy's own chunks
            try:
                anyio.from_thread.run(stream.send, marker)
                return
            except Exception:  # not an anyio worker thread, or the stream is closing
                pass
        else:
            try:
                stream.send_nowait(marker)
                return
            except anyio.WouldBlock:
                pass  # the consumer is a full buffer behind: reconcile this call at the end
            except Exception:
                return  # the stream is closing (the run is being cancelled): nothing to reconcile
        with self._lock:
            self.late.append(marker)

    def take_late(self) -> list[CallDone | ProgramDone]:
        with self._lock:
            late, self.late = self.late, []
        return late
