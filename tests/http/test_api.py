"""The REST + SSE API over real sockets: uvicorn on 127.0.0.1:0, httpx clients."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from httpx_sse import connect_sse

from runwire.actors import RunSystem
from runwire.actors.http import ServerThread, runwire_app
from runwire.protocol import parse_event

from .conftest import TOKEN, gate


def _start(client: httpx.Client, pipeline: str = "http-steps", **inputs: Any) -> str:
    r = client.post("/api/runs", json={"pipeline": pipeline, "inputs": inputs})
    assert r.status_code == 201, r.text
    return str(r.json()["run_id"])


def _sse(client: httpx.Client, run_id: str, **kw: Any) -> list[tuple[str, dict[str, Any]]]:
    out = []
    with connect_sse(client, "GET", f"/api/runs/{run_id}/events", **kw) as source:
        for sse in source.iter_sse():
            out.append((sse.id, json.loads(sse.data)))
    return out


def _covered(events: list[dict[str, Any]], after: int = 0) -> list[int]:
    """Every seq the events stand for (a merged delta covers first_seq..seq)."""
    seqs: list[int] = []
    for e in events:
        seqs.extend(range(e.get("first_seq") or e["seq"], e["seq"] + 1))
    return seqs


def test_start_returns_the_run_id_before_the_run_ends(client: httpx.Client) -> None:
    run_id = _start(client, gate="start-early", n=3)
    view = client.get(f"/api/runs/{run_id}").json()
    assert view["state"] in ("pending", "running")
    assert view["terminal"] is None
    gate("start-early").set()
    frames = _sse(client, run_id)
    assert frames[-1][1]["type"] == "run.completed"
    assert client.get(f"/api/runs/{run_id}").json()["state"] == "completed"


def test_sse_ids_are_seqs_and_the_stream_closes_after_the_terminal(client: httpx.Client) -> None:
    run_id = _start(client, n=6, text="a b c")
    frames = _sse(client, run_id)
    assert [int(i) for i, _ in frames] == [e["seq"] for _, e in frames]
    assert _covered([e for _, e in frames]) == list(range(1, frames[-1][1]["seq"] + 1))
    assert [parse_event(e).type for _, e in frames][-1] == "run.completed"  # every frame is a protocol event
    # a reconnect at the terminal: 204, which tells an EventSource to stop reconnecting
    r = client.get(f"/api/runs/{run_id}/events", headers={"Last-Event-ID": frames[-1][0]})
    assert r.status_code == 204


def test_sse_resume_from_last_event_id_or_after_seq_has_no_duplicate_or_hole(client: httpx.Client) -> None:
    run_id = _start(client, n=10, hold="resume-hold")
    got: list[dict[str, Any]] = []
    with connect_sse(client, "GET", f"/api/runs/{run_id}/events") as source:
        for sse in source.iter_sse():
            got.append(json.loads(sse.data))
            if len(got) == 4:
                break  # the connection drops mid-run
    last_id = str(got[-1]["seq"])
    with connect_sse(client, "GET", f"/api/runs/{run_id}/events", headers={"Last-Event-ID": last_id}) as source:
        for sse in source.iter_sse():
            got.append(json.loads(sse.data))
            if len(got) == 8:
                break
    gate("resume-hold").set()
    got += [e for _, e in _sse(client, run_id, params={"after_seq": got[-1]["seq"]})]
    assert _covered(got) == list(range(1, got[-1]["seq"] + 1))
    assert got[-1]["type"] == "run.completed"


def test_sse_sends_a_heartbeat_comment_while_the_run_is_idle(client: httpx.Client) -> None:
    run_id = _start(client, gate="idle-gate")
    with client.stream("GET", f"/api/runs/{run_id}/events") as r:
        assert r.headers["content-type"].startswith("text/event-stream")
        lines = r.iter_lines()
        for line in lines:
            if line.startswith(":"):
                break  # the heartbeat (0.3 s in these tests) came while nothing happened
        gate("idle-gate").set()
        rest = [line for line in lines if line.startswith("data:")]
    assert json.loads(rest[-1][5:])["type"] == "run.completed"


def test_ndjson_carries_the_same_events_as_sse(client: httpx.Client) -> None:
    run_id = _start(client, n=4, text="x y")
    sse = [e for _, e in _sse(client, run_id)]
    with client.stream("GET", f"/api/runs/{run_id}/events.ndjson", params={"after_seq": 2}) as r:
        assert r.headers["content-type"].startswith("application/x-ndjson")
        lines = [json.loads(line) for line in r.iter_lines() if line.strip()]
    assert lines == [e for e in sse if e["seq"] > 2]


def test_cancel_over_http_ends_the_run_with_run_cancelled(client: httpx.Client) -> None:
    run_id = _start(client, gate="never-opened")
    r = client.post(f"/api/runs/{run_id}/cancel", json={"reason": "enough"})
    assert r.status_code == 200
    assert r.json()["state"] == "cancelled"
    assert r.json()["terminal"]["reason"] == "enough"
    frames = _sse(client, run_id)
    assert frames[-1][1]["type"] == "run.cancelled"
    again = client.post(f"/api/runs/{run_id}/cancel")  # idempotent
    assert again.json()["terminal"]["seq"] == frames[-1][1]["seq"]


def test_artifacts_are_listed_and_downloadable(client: httpx.Client) -> None:
    run_id = _start(client, artifact="hello artifact")
    _sse(client, run_id)
    listed = client.get(f"/api/runs/{run_id}/artifacts").json()
    assert [a["artifact_id"] for a in listed] == ["report.txt"]
    r = client.get(listed[0]["url"])
    assert r.status_code == 200
    assert r.text == "hello artifact"
    assert "attachment" in r.headers["content-disposition"]
    assert client.get(f"/api/runs/{run_id}/artifacts/nope").status_code == 404


def test_list_filters_by_state_pipeline_and_parent_and_paginates(system: RunSystem, client: httpx.Client) -> None:
    ids = [_start(client, n=1) for _ in range(3)]
    for rid in ids:
        _sse(client, rid)
    pending = _start(client, gate="list-gate")
    child = system.start(lambda ctx: 1, name="child", parent_run_id=ids[0], step=0)
    child.wait(10)
    page = client.get("/api/runs", params={"pipeline": "http-steps", "limit": 2}).json()
    assert page["total"] == 4
    assert [r["run_id"] for r in page["runs"]] == [pending, ids[2]]  # newest first
    second = client.get("/api/runs", params={"pipeline": "http-steps", "limit": 2, "offset": page["next_offset"]})
    assert [r["run_id"] for r in second.json()["runs"]] == [ids[1], ids[0]]
    assert second.json()["next_offset"] is None
    running = client.get("/api/runs", params={"state": "completed", "pipeline": "http-steps"}).json()
    assert {r["run_id"] for r in running["runs"]} == set(ids)
    kids = client.get("/api/runs", params={"parent": ids[0]}).json()
    assert [r["run_id"] for r in kids["runs"]] == [child.run_id]
    gate("list-gate").set()


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [
        ("get", "/api/runs/nope", None, 404),
        ("get", "/api/runs/nope/events", None, 404),
        ("post", "/api/runs/nope/cancel", None, 404),
        ("post", "/api/runs", {"pipeline": "no-such"}, 400),
        ("post", "/api/runs", {"pipeline": "http-steps", "inputs": []}, 422),
        ("post", "/api/runs", {"pipeline": "http-steps", "extra": 1}, 422),
        ("get", "/api/runs?state=bogus", None, 422),
        ("get", "/api/runs?limit=0", None, 422),
    ],
)
def test_client_mistakes_get_a_clear_4xx(client: httpx.Client, method: str, path: str, body: Any, status: int) -> None:
    r = client.request(method.upper(), path, json=body)
    assert r.status_code == status, r.text
    assert r.json()["detail"]


def test_a_bad_cursor_is_a_400_not_a_500(client: httpx.Client) -> None:
    run_id = _start(client, n=1)
    r = client.get(f"/api/runs/{run_id}/events", headers={"Last-Event-ID": "12abc"})
    assert r.status_code == 400
    assert "Last-Event-ID" in r.json()["detail"]
    assert client.get(f"/api/runs/{run_id}/events", params={"after_seq": -1}).status_code == 422


def test_openapi_document_comes_from_the_protocol_models(client: httpx.Client) -> None:
    doc = client.get("/api/openapi.json").json()
    assert doc["openapi"].startswith("3.")
    paths = doc["paths"]
    for path in ("/api/runs", "/api/runs/{run_id}", "/api/runs/{run_id}/events", "/api/runs/{run_id}/cancel"):
        assert path in paths
    schemas = doc["components"]["schemas"]
    assert {"RunCompleted", "TextDelta", "StartRequest", "RunView"} <= set(schemas)
    assert "text/event-stream" in paths["/api/runs/{run_id}/events"]["get"]["responses"]["200"]["content"]


def test_foreign_host_and_origin_are_refused_and_the_token_is_required(system: RunSystem) -> None:
    app = runwire_app(system, token=TOKEN)
    with ServerThread(app) as server, httpx.Client(base_url=server.url, timeout=10) as c:
        assert c.get("/api/runs").status_code == 401
        assert c.get("/api/runs", headers={"Authorization": "Bearer wrong"}).status_code == 401
        auth = {"Authorization": f"Bearer {TOKEN}"}
        assert c.get("/api/runs", headers=auth).status_code == 200
        assert c.get("/api/runs", headers={**auth, "Host": "evil.example"}).status_code == 421
        assert c.get("/api/runs", headers={**auth, "Origin": "http://evil.example"}).status_code == 403
        assert c.get("/api/runs", headers={**auth, "Origin": f"http://127.0.0.1:{server.port}"}).status_code == 200
        page = c.get("/", params={"token": TOKEN})  # a browser opens the dashboard with ?token=
        assert page.status_code == 200
        assert "runwire_token" in page.headers["set-cookie"]
        assert c.get("/api/runs").status_code == 200  # the cookie now carries the token
