"""Hostile input never gets a 500: random paths, queries, headers and bodies against a real server."""

from __future__ import annotations

import json

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from runwire.actors import RunSystem
from runwire.actors.http import ServerThread, runwire_app

_text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40)
_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | _text,  # NaN and ±inf too: see probe
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_text, inner, max_size=3),
    max_leaves=8,
)
_segment = st.text(st.characters(codec="ascii", categories=("L", "N", "P")), min_size=1, max_size=30).map(
    lambda s: s.replace("/", "").replace("?", "").replace("#", "") or "x"
)
_paths = st.sampled_from(
    [
        "/api/runs",
        "/api/runs/{x}",
        "/api/runs/{x}/events",
        "/api/runs/{x}/events.ndjson",
        "/api/runs/{x}/cancel",
        "/api/runs/{x}/artifacts",
        "/api/runs/{x}/artifacts/{x}",
        "/api/pipelines",
        "/agui",
        "/runs/{x}",
        "/static/{x}",
    ]
)


def test_no_client_input_gets_a_500(system: RunSystem) -> None:
    with ServerThread(runwire_app(system, heartbeat=0.2)) as server, httpx.Client(base_url=server.url, timeout=10) as c:

        @settings(max_examples=80, deadline=None, suppress_health_check=list(HealthCheck))
        @given(
            method=st.sampled_from(["GET", "POST", "DELETE", "PUT"]),
            path=_paths,
            segment=_segment,
            params=st.dictionaries(
                st.sampled_from(["after_seq", "state", "limit", "offset", "pipeline", "parent"]), _text, max_size=3
            ),
            last_event_id=st.none()
            | st.text(st.characters(codec="ascii", categories=("L", "N", "P", "S")), max_size=30),
            body=st.none() | _json | st.fixed_dictionaries({"pipeline": _text, "inputs": _json}),
            raw=st.none() | st.binary(max_size=40),
        )
        def probe(method, path, segment, params, last_event_id, body, raw) -> None:  # type: ignore[no-untyped-def]
            headers = {} if last_event_id is None else {"Last-Event-ID": last_event_id}
            if raw is None:  # Python's own JSON: NaN and ±Infinity as bare words, which json.loads reads back
                raw = json.dumps(body).encode()
                headers["Content-Type"] = "application/json"
            with c.stream(
                method, path.replace("{x}", segment), params=params, headers=headers, content=raw, timeout=10
            ) as r:
                assert r.status_code < 500, (method, path, segment, params, r.read())

        probe()


def test_non_finite_numbers_in_a_json_body_are_refused_and_start_nothing(system: RunSystem) -> None:
    """Python's json reads NaN and ±Infinity as numbers: a body with them is refused at the door (400,
    one line naming the rule), as the hypothesis probe above also sends them."""
    with ServerThread(runwire_app(system, heartbeat=0.2)) as server, httpx.Client(base_url=server.url, timeout=10) as c:
        for word in ("NaN", "Infinity", "-Infinity"):
            body = f'{{"pipeline": "demo", "inputs": {{"x": [1, {{"y": {word}}}]}}}}'.encode()
            r = c.post("/api/runs", content=body, headers={"Content-Type": "application/json"})
            assert r.status_code == 400, r.text
            assert "finite number" in r.json()["detail"]
        listed = c.get("/api/runs", params={"pipeline": "demo"}).json()
        assert listed["total"] == 0 and listed["runs"] == []
