"""OpenTelemetry, opt-in: spans checked with the SDK's in-memory exporter."""

from __future__ import annotations

import threading
from typing import Any

import httpx
import pytest

from runwire.actors import RunContext, RunSystem
from runwire.actors.http import ServerThread, runwire_app
from runwire.actors.oda import Act, Finish, LoopState

from ..helpers import blocker

pytest.importorskip("opentelemetry.sdk")
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT_SPAN = "00f067aa0ba902b7"


@pytest.fixture
def traced() -> tuple[TracerProvider, InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider, exporter


def test_a_run_started_over_http_is_a_span_in_the_callers_trace(system: RunSystem, traced: Any) -> None:
    provider, exporter = traced
    app = runwire_app(system, tracing=provider)
    with ServerThread(app) as server:
        r = httpx.post(
            f"{server.url}/api/runs",
            json={"pipeline": "http-steps", "inputs": {"n": 4, "artifact": "body"}},
            headers={"traceparent": f"00-{TRACE_ID}-{PARENT_SPAN}-01"},
        )
        run_id = r.json()["run_id"]
        system.handle(run_id).wait(10)
        assert app.app.state.tracer.wait(run_id)
    (span,) = exporter.get_finished_spans()
    assert span.name == "run http-steps"
    assert format(span.context.trace_id, "032x") == TRACE_ID  # W3C trace context from the request
    assert span.parent is not None
    assert format(span.parent.span_id, "016x") == PARENT_SPAN
    assert span.attributes["runwire.run_id"] == run_id
    assert [e.name for e in span.events] == ["milestone_0", "milestone_2"]
    assert span.attributes["runwire.artifact.report.txt.media_type"] == "text/plain"
    assert span.status.status_code == StatusCode.OK


def test_failed_and_cancelled_runs_set_the_span_status(system: RunSystem, traced: Any) -> None:
    provider, exporter = traced
    app = runwire_app(system, tracing=provider)
    tracer = app.app.state.tracer

    def boom(ctx: RunContext) -> None:
        raise ValueError("bad input")

    failed = system.start(boom)
    tracer.trace(failed)
    failed.wait(10)
    release = threading.Event()
    held = system.start(blocker(release))
    tracer.trace(held)
    held.cancel("stop")
    release.set()
    assert tracer.wait(failed.run_id)
    assert tracer.wait(held.run_id)
    spans = {s.attributes["runwire.run_id"]: s for s in exporter.get_finished_spans()}
    assert spans[failed.run_id].status.status_code == StatusCode.ERROR
    assert spans[failed.run_id].status.description == "ValueError: bad input"
    cancelled = spans[held.run_id]
    assert cancelled.status.status_code == StatusCode.UNSET  # a cancel is not an error
    assert cancelled.attributes["runwire.outcome"] == "cancelled"
    assert cancelled.events[-1].name == "run.cancelled"


def test_loop_steps_are_child_spans_of_the_loop_span(system: RunSystem, traced: Any) -> None:
    provider, exporter = traced
    tracer = runwire_app(system, tracing=provider).app.state.tracer

    def decide(i: int) -> Act | Finish:
        return Finish(i) if i >= 2 else Act(lambda ctx: 1, {}, name=f"s{i}")

    def observe(state: LoopState) -> int:
        return state.steps

    loop = system.loop(observe, decide)
    tracer.trace(loop)
    loop.wait(10)
    assert tracer.wait(loop.run_id)
    spans = exporter.get_finished_spans()
    (root,) = [s for s in spans if s.parent is None]
    children = [s for s in spans if s.parent is not None]
    assert sorted(s.name for s in children) == ["step s0", "step s1"]
    assert all(s.parent.span_id == root.context.span_id for s in children)  # type: ignore[union-attr]
    assert all(s.status.status_code == StatusCode.OK for s in children)
