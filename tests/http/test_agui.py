"""The AG-UI endpoint, checked with the official ``ag-ui-protocol`` models and the AG-UI client's
event verifier rules (ported from @ag-ui/client ``verifyEvents``: RUN_STARTED first, nothing after
RUN_FINISHED/RUN_ERROR, text messages started before content and ended before the run ends, steps
finished by name before the run ends)."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from httpx_sse import connect_sse

from runwire.actors import RunSystem
from runwire.actors.http._agui import AgUiMapper
from runwire.actors.oda import Act, Finish, LoopState

from .conftest import gate

ag_ui = pytest.importorskip("ag_ui.core")
from pydantic import TypeAdapter  # noqa: E402

EVENT: TypeAdapter[Any] = TypeAdapter(ag_ui.Event)


def verify(events: list[dict[str, Any]]) -> None:
    """The AG-UI client's ordering rules; raises AssertionError naming the broken one."""
    assert events, "no events"
    assert events[0]["type"] == "RUN_STARTED", f"first event must be RUN_STARTED, got {events[0]['type']}"
    open_messages: set[str] = set()
    open_steps: set[str] = set()
    ended = False
    for e in events:
        kind = e["type"]
        assert not ended, f"{kind} after the run ended"
        if kind == "RUN_STARTED":
            assert e is events[0], "a second RUN_STARTED"
        elif kind == "TEXT_MESSAGE_START":
            assert e["messageId"] not in open_messages, "message started twice"
            open_messages.add(e["messageId"])
        elif kind == "TEXT_MESSAGE_CONTENT":
            assert e["messageId"] in open_messages, "content for a message that is not open"
        elif kind == "TEXT_MESSAGE_END":
            assert e["messageId"] in open_messages, "end of a message that is not open"
            open_messages.discard(e["messageId"])
        elif kind == "STEP_STARTED":
            assert e["stepName"] not in open_steps, "step started twice"
            open_steps.add(e["stepName"])
        elif kind == "STEP_FINISHED":
            assert e["stepName"] in open_steps, "finish of a step that is not open"
            open_steps.discard(e["stepName"])
        elif kind in ("RUN_FINISHED", "RUN_ERROR"):
            if kind == "RUN_FINISHED":
                assert not open_messages, f"RUN_FINISHED with open messages {open_messages}"
                assert not open_steps, f"RUN_FINISHED with open steps {open_steps}"
            ended = True
    assert ended, "the stream ended without RUN_FINISHED or RUN_ERROR"


def _input(run_id: str, **props: Any) -> dict[str, Any]:
    model = ag_ui.RunAgentInput(thread_id="t1", run_id=run_id, messages=[], forwarded_props=props or None)
    return dict(model.model_dump(mode="json", by_alias=True))


def _stream(client: httpx.Client, body: dict[str, Any], **params: Any) -> list[tuple[int, dict[str, Any]]]:
    out = []
    with connect_sse(client, "POST", "/agui", json=body, params=params) as source:
        for sse in source.iter_sse():
            EVENT.validate_json(sse.data)  # the official models accept every frame
            out.append((int(sse.id), json.loads(sse.data)))
    return out


def test_agui_frames_parse_with_the_official_models_and_obey_the_verifier(client: httpx.Client) -> None:
    frames = _stream(
        client, _input("agui-ok", pipeline="http-steps", inputs={"n": 4, "text": "hi there", "artifact": "a"})
    )
    events = [e for _, e in frames]
    verify(events)
    seqs = [s for s, _ in frames]
    assert seqs == sorted(seqs)  # every frame's id is the seq of the runwire event it comes from
    log = client.get("/api/runs/agui-ok").json()
    assert seqs[-1] == log["last_seq"]
    assert events[0] == {**events[0], "type": "RUN_STARTED", "threadId": "t1", "runId": "agui-ok"}
    assert events[-1]["type"] == "RUN_FINISHED"
    assert events[-1]["outcome"] == {"type": "success"}
    assert events[-1]["result"] == {"steps": 4}
    text = "".join(e["delta"] for e in events if e["type"] == "TEXT_MESSAGE_CONTENT")
    assert text == "hi there "
    customs = [e["name"] for e in events if e["type"] == "CUSTOM"]
    assert {"runwire.progress", "runwire.milestone", "runwire.artifact"} <= set(customs)


def test_agui_failed_run_ends_with_run_error(client: httpx.Client) -> None:
    events = [
        e for _, e in _stream(client, _input("agui-fail", inputs={"fail": "boom", "text": "x"}), pipeline="http-steps")
    ]
    verify(events)
    assert events[-1]["type"] == "RUN_ERROR"
    assert events[-1]["message"] == "RuntimeError: boom"


def test_agui_cancelled_run_is_run_finished_with_outcome_cancelled_not_an_error(client: httpx.Client) -> None:
    body = _input("agui-cancel", pipeline="http-steps", inputs={"text": "open message", "hold": "agui-never"})
    events: list[dict[str, Any]] = []
    with connect_sse(client, "POST", "/agui", json=body) as source:
        for sse in source.iter_sse():
            EVENT.validate_json(sse.data)
            events.append(json.loads(sse.data))
            if events[-1]["type"] == "TEXT_MESSAGE_CONTENT" and events[-1]["delta"] == "message ":
                assert client.post("/api/runs/agui-cancel/cancel", json={"reason": "user stop"}).status_code == 200
    verify(events)  # the open text message was closed before the end
    assert [e["type"] for e in events[-3:]] == ["TEXT_MESSAGE_END", "CUSTOM", "RUN_FINISHED"]
    assert events[-2] == {**events[-2], "name": "runwire.cancelled", "value": {"reason": "user stop"}}
    assert events[-1]["outcome"] == {"type": "cancelled"}


def test_agui_client_abort_cancels_the_run_it_started(system: RunSystem, client: httpx.Client) -> None:
    body = _input("agui-abort", pipeline="http-steps", inputs={"gate": "agui-abort-gate"})
    with connect_sse(client, "POST", "/agui", json=body) as source:
        for sse in source.iter_sse():
            assert json.loads(sse.data)["type"] == "RUN_STARTED"
            break  # the client goes away
    terminal = system.handle("agui-abort").wait(10)
    assert terminal.type == "run.cancelled"
    assert terminal.reason == "AG-UI client disconnected"  # type: ignore[union-attr]
    gate("agui-abort-gate").set()


def test_agui_loop_steps_map_to_step_started_and_finished(system: RunSystem) -> None:
    def step(ctx: Any) -> int:
        ctx.delta("answer", f"step {ctx.inputs['i']} ")
        return int(ctx.inputs["i"])

    def observe(state: LoopState) -> int:
        return state.steps

    def decide(i: int) -> Act | Finish:
        return Finish(i) if i >= 3 else Act(step, {"i": i}, name=f"step-{i}")

    loop = system.loop(observe, decide)
    mapper = AgUiMapper("t", loop.run_id)
    events = [f for e in loop.events(timeout=10) for f in mapper.map(e)]
    for e in events:
        EVENT.validate_python(e)
    verify(events)
    started = [e["stepName"] for e in events if e["type"] == "STEP_STARTED"]
    assert started == ["step-0", "step-1", "step-2"]
    assert [e["stepName"] for e in events if e["type"] == "STEP_FINISHED"] == started


def test_agui_bad_input_is_a_4xx(client: httpx.Client) -> None:
    assert client.post("/agui", json={"threadId": "t"}).status_code == 422
    assert client.post("/agui", json=_input("agui-nopipe")).status_code == 400
    assert client.post("/agui", json=_input("agui-x", pipeline="nope")).status_code == 400
