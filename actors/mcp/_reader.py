"""Read a page of a run's log from a cursor, waiting on the bus (never polling) when it is empty.

The ``events`` tool, the events resource and the artifact lookup all read through here, with the
runtime's public API only. A read that may wait (``wait_s`` > 0: the events tool's long poll)
subscribes at the cursor and returns what the subscription holds as soon as it holds anything
(the replay of the log past the cursor, or the bus's next push: nothing polls), without asking
``system.get`` first. A read that must not wait asks ``system.get`` how far the log goes
(``last_seq``) and replays it up to there. Nothing here imports mcp.
"""

from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass

import anyio
import anyio.to_thread

from runwire.actors import RunHandle, RunInfo, RunSystem
from runwire.protocol import TERMINAL_STATE_OF, TERMINAL_TYPES, RunEvent, RunState

from ._views import EventsPage, event_json

__all__ = ["MAX_LIMIT", "MAX_WAIT_S", "Slice", "read_events", "read_log", "read_slice"]

MAX_LIMIT = 1000
MAX_WAIT_S = 30.0


@dataclass(frozen=True, slots=True)
class Slice:
    events: list[RunEvent]
    next_after_seq: int
    done: bool
    state: RunState


async def read_events(system: RunSystem, run_id: str, after_seq: int, limit: int, wait_s: float) -> EventsPage:
    """The events tool's page: :func:`read_slice` as JSON objects."""
    part = await read_slice(system, run_id, after_seq, limit, wait_s)
    return EventsPage(
        run_id=run_id,
        events=[event_json(e) for e in part.events],
        next_after_seq=part.next_after_seq,
        done=part.done,
        state=part.state,
    )


async def read_slice(system: RunSystem, run_id: str, after_seq: int, limit: int, wait_s: float) -> Slice:
    """Events with ``seq > after_seq`` (at most ``limit``); if none yet, wait up to ``wait_s`` for some.

    Raises UnknownRunError / RunExpiredError for a run the system does not hold (anymore).
    """
    if after_seq < 0 or limit < 1 or math.isnan(wait_s) or not 0 <= wait_s <= MAX_WAIT_S:
        raise ValueError("after_seq must be >= 0, limit >= 1 and wait_s within 0..30")
    handle = system.handle(run_id)
    if wait_s > 0:
        return await _read_waiting(system, handle, after_seq, limit, wait_s)
    info = await anyio.to_thread.run_sync(system.get, run_id)
    events: list[RunEvent] = []
    stream = handle.events(after_seq).__aiter__()
    try:  # every event up to info.last_seq is in the log already, so none of these waits
        while len(events) < limit and (events[-1].seq if events else after_seq) < info.last_seq:
            if events and events[-1].type in TERMINAL_TYPES:
                break
            events.append(await stream.__anext__())
    except StopAsyncIteration:
        pass
    finally:
        await stream.aclose()  # type: ignore[attr-defined]  # an async generator: unsubscribes
    return _slice(events, after_seq, info)


async def _read_waiting(system: RunSystem, handle: RunHandle, after_seq: int, limit: int, wait_s: float) -> Slice:
    """The page of a read that may wait: whatever the subscription holds past the cursor, at once.

    No ``system.get`` (a worker-thread hop and three actor asks) on the way: the subscription
    replays what the log holds past the cursor, or the bus pushes the next event, and ``pump``
    moves each batch into ``pending`` without a checkpoint, so when this task wakes on the first
    event, the rest of that batch is there too. The run's state is asked for only when the page
    cannot tell it: empty (``wait_s`` passed, or nothing follows the cursor of an ended run).
    """
    send, pending = anyio.create_memory_object_stream[RunEvent](limit)
    failed: list[Exception] = []
    events: list[RunEvent] = []

    async def pump() -> None:
        async with send:
            try:
                async for event in handle.events(after_seq):
                    try:  # no checkpoint per event: a batch the bus delivered lands in one go
                        send.send_nowait(event)
                    except anyio.WouldBlock:
                        await send.send(event)  # a full page is pending: the reader takes it
            except Exception as exc:  # e.g. the run expired meanwhile: the tool's error
                failed.append(exc)

    async with pending, anyio.create_task_group() as tg:
        tg.start_soon(pump)
        with anyio.move_on_after(wait_s):
            with contextlib.suppress(anyio.EndOfStream):  # the stream ended: nothing past the cursor
                events.append(await pending.receive())  # woken by the bus's push: no polling
        while events and len(events) < limit and events[-1].type not in TERMINAL_TYPES:
            try:
                events.append(pending.receive_nowait())
            except (anyio.WouldBlock, anyio.EndOfStream):
                break
        tg.cancel_scope.cancel()  # unsubscribes; what the pump read past the page stays in the log
    if failed:
        raise failed[0]
    if events and events[-1].type in TERMINAL_TYPES:
        return _slice(events, after_seq, None)
    if events:  # run.started comes after the run is running, and nothing here is its terminal
        return Slice(events=events, next_after_seq=events[-1].seq, done=False, state="running")
    return _slice(events, after_seq, await anyio.to_thread.run_sync(system.get, handle.run_id))


def _slice(events: list[RunEvent], after_seq: int, info: RunInfo | None) -> Slice:
    last = events[-1].seq if events else after_seq
    if events and events[-1].type in TERMINAL_TYPES:
        return Slice(events=events, next_after_seq=last, done=True, state=TERMINAL_STATE_OF[events[-1].type])
    assert info is not None
    done = info.terminal is not None and last >= info.last_seq
    return Slice(events=events, next_after_seq=last, done=done, state=info.state)


async def read_log(system: RunSystem, run_id: str, after_seq: int = 0, limit: int = MAX_LIMIT * 100) -> Slice:
    """What the run's log holds now past ``after_seq`` (no waiting): for resources and artifacts."""
    return await read_slice(system, run_id, after_seq, limit, 0.0)
