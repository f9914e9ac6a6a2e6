"""HTTP fixtures: a real RunSystem served by uvicorn on a loopback port (port 0), real httpx clients.

Test pipelines wait on a gate the test opens (never a sleep): ``inputs["gate"]`` names it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest

pytest.importorskip("fastapi")

import httpx

from runwire.actors import RunContext, RunSystem
from runwire.actors.ext import register_pipeline
from runwire.actors.http import ServerThread, runwire_app

TOKEN = "s3cret-http-token"
_GATES: dict[str, threading.Event] = {}
_LOCK = threading.Lock()


def gate(name: str) -> threading.Event:
    with _LOCK:
        return _GATES.setdefault(name, threading.Event())


def _wait_gate(ctx: RunContext, key: str = "gate") -> None:
    name = ctx.inputs.get(key)
    if isinstance(name, str):
        while not gate(name).wait(0.05):
            ctx.check_cancelled()


def steps_pipeline(ctx: RunContext) -> dict[str, Any]:
    """Emit ``n`` progress events and milestones (after the gate), a text stream, an artifact; then the hold gate."""
    n = int(ctx.inputs.get("n", 5))  # type: ignore[arg-type]
    _wait_gate(ctx)
    for i in range(n):
        ctx.progress((i + 1) / n, message=f"step {i + 1}/{n}")
        if i % 2 == 0:
            ctx.milestone(f"milestone_{i}", i=i)
    for word in str(ctx.inputs.get("text", "")).split(" "):
        if word:
            ctx.delta("answer", word + " ")
    if ctx.inputs.get("artifact"):
        ctx.artifact("report.txt", content=str(ctx.inputs["artifact"]))
    _wait_gate(ctx, "hold")
    if ctx.inputs.get("fail"):
        raise RuntimeError(str(ctx.inputs["fail"]))
    return {"steps": n}


def flood_pipeline(ctx: RunContext) -> int:
    """``n`` text deltas as fast as the outbox takes them (after the gate)."""
    n = int(ctx.inputs.get("n", 1000))  # type: ignore[arg-type]
    _wait_gate(ctx)
    for i in range(n):
        ctx.delta("answer", f"t{i} ")
    return n


register_pipeline("http-steps", steps_pipeline)
register_pipeline("http-flood", flood_pipeline)


@pytest.fixture
def served(system: RunSystem) -> Iterator[ServerThread]:
    with ServerThread(runwire_app(system, heartbeat=0.3)) as server:
        yield server


@pytest.fixture
def client(served: ServerThread) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=served.url, timeout=10.0) as c:
        yield c
