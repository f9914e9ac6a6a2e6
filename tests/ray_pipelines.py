"""Pipelines the Ray tests run: module-level, so a Ray worker imports them by reference."""

from __future__ import annotations

import os
import socket
import time

from runwire.actors import RunContext


def stream(ctx: RunContext) -> dict[str, int]:
    n = int(str(ctx.inputs.get("n", 1000)))
    for i in range(n):
        ctx.delta("answer", f"{i} ")
    ctx.progress(1.0, current=n, total=n, message="done")
    ctx.milestone("streamed", count=n)
    return {"n": n}


async def async_stream(ctx: RunContext) -> str:
    ctx.log("async start")
    ctx.delta("answer", "a")
    ctx.delta("answer", "b")
    return "ok"


def boom(ctx: RunContext) -> None:
    ctx.log("about to fail")
    raise KeyError("missing widget")


def pid_then_wait(ctx: RunContext) -> str:
    """Tells its worker's PID, waits for its cancel, then tells the test on a socket it stopped."""
    ctx.milestone("worker", pid=os.getpid())
    ctx.wait_cancelled(120)
    port = ctx.inputs.get("port")
    if isinstance(port, int):
        with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
            conn.sendall(b"stopped")
    return "woke"


def stubborn(ctx: RunContext) -> None:
    """Ignores its cancel: emits nothing and never checks (the executor must kill its worker)."""
    ctx.milestone("worker", pid=os.getpid())
    end = time.monotonic() + 120
    while time.monotonic() < end:
        time.sleep(0.01)  # busy work that never looks at ctx


def flood_until_cancelled(ctx: RunContext) -> None:
    """Emits as fast as it can; tells the test on a socket which exception stopped it."""
    try:
        while True:
            ctx.delta("answer", "x")
    except BaseException as exc:
        with socket.create_connection(("127.0.0.1", int(str(ctx.inputs["port"]))), timeout=10) as conn:
            conn.sendall(type(exc).__name__.encode())
        raise
