"""OpenTelemetry, opt-in: a span per run started over HTTP, a child span per loop step, milestones
as span events, artifacts as attributes, the terminal as the span's status.

The run's span continues the W3C trace context (``traceparent``/``tracestate``) of the request
that started it. Its times are the events' own timestamps, so a span is as long as the run, not
as the request. One daemon thread per traced run follows its events (the run's own subscription:
nothing is added to the hot path of untraced runs). Status: completed → OK, failed → ERROR with
the error; cancelled → UNSET with ``runwire.outcome = "cancelled"`` and a ``run.cancelled`` span
event (a cancel is the caller's decision, not a fault: it must not count as an error rate).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from typing import Any

from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode, TracerProvider
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from runwire.actors import RunHandle
from runwire.protocol import (
    Artifact,
    RunCancelled,
    RunCompleted,
    RunEvent,
    RunFailed,
    RunMilestone,
    RunStarted,
    StepFinished,
    StepStarted,
)

__all__ = ["RunTracer"]

_PROPAGATOR = TraceContextTextMapPropagator()


def _ns(event: RunEvent) -> int:
    return int(event.ts.timestamp() * 1_000_000_000)


def _attr(value: Any) -> Any:
    return value if isinstance(value, str | bool | int | float) else json.dumps(value, default=str)


class RunTracer:
    """Traces the runs it is handed; ``provider`` defaults to the global TracerProvider."""

    def __init__(self, provider: TracerProvider | None = None) -> None:
        self._tracer = (provider or trace.get_tracer_provider()).get_tracer("runwire")
        self._threads: dict[str, threading.Thread] = {}

    def trace(self, handle: RunHandle, headers: Mapping[str, str] | None = None) -> None:
        """Follow ``handle``'s run on a thread of its own, as a span under ``headers``' trace context."""
        parent = _PROPAGATOR.extract(carrier={k.lower(): v for k, v in (headers or {}).items()})
        thread = threading.Thread(target=self._follow, args=(handle, parent), name=f"runwire-otel-{handle.run_id[:8]}")
        thread.daemon = True
        self._threads[handle.run_id] = thread
        thread.start()

    def wait(self, run_id: str, timeout: float = 10.0) -> bool:
        """Block until the run's span has ended (tests, shutdown); False on timeout."""
        thread = self._threads.get(run_id)
        if thread is None:
            return True
        thread.join(timeout)
        return not thread.is_alive()

    def _follow(self, handle: RunHandle, parent: Any) -> None:
        span: Span | None = None
        steps: dict[int, Span] = {}
        try:
            for event in handle.events(buffer=None):
                if span is None:
                    span = self._tracer.start_span(
                        f"run {handle.pipeline}",
                        context=parent,
                        kind=SpanKind.INTERNAL,
                        start_time=_ns(event),
                        attributes={"runwire.run_id": handle.run_id, "runwire.pipeline": handle.pipeline},
                    )
                self._apply(span, steps, event)
        finally:
            self._threads.pop(handle.run_id, None)

    def _apply(self, span: Span, steps: dict[int, Span], event: RunEvent) -> None:
        if isinstance(event, RunStarted):
            if event.parent_run_id is not None:
                span.set_attribute("runwire.parent_run_id", event.parent_run_id)
        elif isinstance(event, RunMilestone):
            attrs = {f"runwire.{k}": _attr(v) for k, v in event.data.items()}
            span.add_event(event.name, attributes={"runwire.seq": event.seq, **attrs}, timestamp=_ns(event))
        elif isinstance(event, Artifact):
            prefix = f"runwire.artifact.{event.artifact_id}"
            span.set_attribute(f"{prefix}.media_type", event.media_type)
            for key in ("path", "size", "sha256"):
                value = getattr(event, key)
                if value is not None:
                    span.set_attribute(f"{prefix}.{key}", value)
        elif isinstance(event, StepStarted):
            steps[event.index] = self._tracer.start_span(
                f"step {event.name or event.index}",
                context=trace.set_span_in_context(span),
                start_time=_ns(event),
                attributes={"runwire.run_id": event.child_run_id, "runwire.step": event.index},
            )
        elif isinstance(event, StepFinished):
            step = steps.pop(event.index, None)
            if step is not None:
                step.set_attribute("runwire.outcome", event.outcome)
                if event.outcome == "failed":
                    step.set_status(Status(StatusCode.ERROR, event.error or "step failed"))
                elif event.outcome == "completed":
                    step.set_status(Status(StatusCode.OK))
                step.end(end_time=_ns(event))
        elif isinstance(event, RunCompleted | RunFailed | RunCancelled):
            for step in steps.values():
                step.end(end_time=_ns(event))
            self._terminal(span, event)

    @staticmethod
    def _terminal(span: Span, event: RunCompleted | RunFailed | RunCancelled) -> None:
        span.set_attribute("runwire.last_seq", event.seq)
        if isinstance(event, RunCompleted):
            span.set_attribute("runwire.outcome", "completed")
            span.set_status(Status(StatusCode.OK))
        elif isinstance(event, RunFailed):
            span.set_attribute("runwire.outcome", "failed")
            span.set_status(Status(StatusCode.ERROR, f"{event.error_type}: {event.message}"))
        else:
            span.set_attribute("runwire.outcome", "cancelled")
            span.add_event("run.cancelled", attributes={"runwire.reason": event.reason}, timestamp=_ns(event))
        span.end(end_time=_ns(event))
