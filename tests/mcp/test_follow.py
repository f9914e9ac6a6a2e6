"""follow / start_and_follow: a run's events streamed as progress notifications on one request,
over stdio and streamable HTTP in both protocol eras (and a burst, batched, over HTTP)."""

from __future__ import annotations

import json
import uuid
from typing import Any

import anyio
import pytest
from mcp import Client

from .conftest import GATE, MODES, Session
from .mcp_helpers import assert_gapless, follow, structured

pytestmark = pytest.mark.anyio

LONG_DEMO = {"pipeline": "demo", "inputs": {"steps": 100_000, "delay": 0.01}}


class Stream:
    """What one follow call's progress notifications carried: the events, and each notification's progress."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.progress: list[float] = []
        self.first = anyio.Event()

    async def on_progress(self, value: float, total: float | None, message: str | None) -> None:
        batch = [json.loads(line) for line in (message or "").splitlines()]
        assert batch and total is None
        assert value == batch[-1]["seq"]  # progress is the seq of the notification's last event
        self.progress.append(value)
        self.events += batch
        self.first.set()


async def test_start_and_follow_streams_every_event_then_returns_the_cursor(session: Session) -> None:
    client, stream = session.client, Stream()
    demo = {"pipeline": "demo", "inputs": {"steps": 20, "delay": 0.002}}
    with anyio.fail_after(30):
        end = structured(await client.call_tool("start_and_follow", demo, progress_callback=stream.on_progress))
    assert_gapless(stream.events)
    assert stream.events[0]["type"] == "run.started" and stream.events[0]["run_id"] == end["run_id"]
    assert stream.progress == sorted(set(stream.progress))  # increases with every notification
    assert end == {**end, "done": True, "state": "completed", "next_after_seq": stream.events[-1]["seq"]}
    assert end["sent"] == len(stream.events)
    assert stream.events == await follow(session.client, end["run_id"])  # the same events as the events tool


async def test_follow_from_a_cursor_and_past_the_terminal(session: Session) -> None:
    client = session.client
    outcome = structured(
        await client.call_tool("run_and_wait", {"pipeline": "demo", "inputs": {"steps": 5, "delay": 0.0}})
    )
    run_id, last = outcome["run_id"], outcome["last_seq"]
    stream = Stream()
    end = structured(
        await client.call_tool("follow", {"run_id": run_id, "after_seq": 3}, progress_callback=stream.on_progress)
    )
    assert_gapless(stream.events, after_seq=3)
    assert end["done"] and end["next_after_seq"] == last == stream.events[-1]["seq"]
    past = Stream()
    again = structured(
        await client.call_tool("follow", {"run_id": run_id, "after_seq": last}, progress_callback=past.on_progress)
    )
    assert again == {**again, "done": True, "sent": 0, "next_after_seq": last} and past.events == []


async def test_follow_needs_a_progress_token_and_a_known_run(session: Session) -> None:
    client = session.client
    no_token = await client.call_tool("follow", {"run_id": "nope"})
    assert no_token.is_error and "progressToken" in str(no_token.content)
    unknown = await client.call_tool("follow", {"run_id": "nope"}, progress_callback=Stream().on_progress)
    assert unknown.is_error and "nope" in str(unknown.content)


async def test_the_run_outlives_a_follow_that_stops(session: Session) -> None:
    """max_s ends the stream, so does cancelling the call; the run goes on, and follow resumes from the cursor."""
    client, stream = session.client, Stream()
    with anyio.fail_after(30):
        run_id = structured(await client.call_tool("start_run", LONG_DEMO))["run_id"]
        args = {"run_id": run_id, "max_s": 0.2}
        part = structured(await client.call_tool("follow", args, progress_callback=stream.on_progress))
        assert part["done"] is False and part["state"] == "running"
        assert part["next_after_seq"] == stream.events[-1]["seq"] == len(stream.events)
        async with anyio.create_task_group() as tg:
            scope = anyio.CancelScope()
            more = Stream()

            async def call() -> None:
                with scope:
                    args = {"run_id": run_id, "after_seq": part["next_after_seq"]}
                    await client.call_tool("follow", args, progress_callback=more.on_progress)

            tg.start_soon(call)
            await more.first.wait()
            scope.cancel()
        info = structured(await client.call_tool("get_run", {"run_id": run_id}))
        assert info["state"] == "running"  # cancelling a follow is not cancelling the run
        structured(await client.call_tool("cancel_run", {"run_id": run_id}))
        rest = Stream()
        args = {"run_id": run_id, "after_seq": part["next_after_seq"]}
        end = structured(await client.call_tool("follow", args, progress_callback=rest.on_progress))
    assert_gapless(stream.events + rest.events)
    assert end["done"] and end["state"] == "cancelled" and rest.events[-1]["type"] == "run.cancelled"


@pytest.mark.parametrize("mode", MODES)
async def test_a_burst_is_batched_and_nothing_is_lost(http_url: str, mode: str) -> None:
    """3,000 events at once: pending events share a notification (at most 1,000 each), in order, gapless."""
    gate, stream = uuid.uuid4().hex, Stream()
    async with Client(http_url, mode=mode) as client:
        with anyio.fail_after(60):
            async with anyio.create_task_group() as tg:

                async def call() -> None:
                    args = {"pipeline": "burst", "inputs": {"n": 3000, "gate": gate}}
                    stream.end = structured(  # type: ignore[attr-defined]
                        await client.call_tool("start_and_follow", args, progress_callback=stream.on_progress)
                    )

                tg.start_soon(call)
                await stream.first.wait()  # run.started arrived: the stream is subscribed
                GATE.event(gate).set()
    assert_gapless(stream.events)
    assert len(stream.events) == 3002 and stream.end["sent"] == 3002  # type: ignore[attr-defined]
    assert len(stream.progress) < len(stream.events)
