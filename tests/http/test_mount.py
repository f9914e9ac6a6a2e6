"""The API mounted in a user's own FastAPI application, as docs/http.md shows it."""

from __future__ import annotations

import json

import httpx
from fastapi import FastAPI
from httpx_sse import connect_sse

from runwire.actors import RunSystem
from runwire.actors.http import ServerThread, runwire_app


def test_runwire_app_mounted_in_a_fastapi_app_starts_and_streams_runs(system: RunSystem) -> None:
    app = FastAPI()

    @app.get("/hello")
    def hello() -> dict[str, str]:
        return {"hello": "world"}

    app.mount("/runwire", runwire_app(system))
    with ServerThread(app) as server, httpx.Client(base_url=server.url, timeout=10) as c:
        assert c.get("/hello").json() == {"hello": "world"}
        started = c.post("/runwire/api/runs", json={"pipeline": "http-steps", "inputs": {"n": 3}})
        assert started.status_code == 201
        body = started.json()
        assert body["events_url"] == f"{server.url}/runwire/api/runs/{body['run_id']}/events"
        with connect_sse(c, "GET", body["events_url"]) as source:
            types = [json.loads(s.data)["type"] for s in source.iter_sse()]
        assert types[0] == "run.started"
        assert types[-1] == "run.completed"
        page = c.get(f"/runwire/runs/{body['run_id']}")
        assert page.status_code == 200
        assert 'content="/runwire/"' in page.text  # the dashboard builds its URLs from the mount point
        assert c.get("/runwire/static/app.js").status_code == 200
        assert "/api/runs" in c.get("/runwire/api/openapi.json").json()["paths"]
