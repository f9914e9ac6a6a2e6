"""Read a page of a run's log from a cursor, waiting on the bus (never polling) when it is empty.

The ``events`` tool, the events resource and the artifact lookup all read through here, with the
runtime's public API only: ``system.get`` says how far the log goes (``last_seq``), and
``handle.events(after_seq)`` replays it up to there; when nothing is past the cursor yet, the
same stream is awaited for up to ``wait_s`` — the bus pushes the next event, nothing polls.
Nothing here imports mcp.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import anyio
import anyio.to_thread

from runwire.actors import RunSystem
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
    info = await anyio.to_thread.run_sync(system.get, run_id)
    events: list[RunEvent] = []
    stream = handle.events(after_seq).__aiter__()
    try:
        if info.last_seq <= after_seq and info.terminal is None and wait_s > 0:
            with anyio.move_on_after(wait_s):
                events.append(await stream.__anext__())  # woken by the bus's push: no polling
            if events:  # more may have arrived with it: read on to what the log holds now
                info = await anyio.to_thread.run_sync(system.get, run_id)
        # every event up to info.last_seq is in the log already, so none of these waits
        while len(events) < limit and (events[-1].seq if events else after_seq) < info.last_seq:
            if events and events[-1].type in TERMINAL_TYPES:
                break
            events.append(await stream.__anext__())
    except StopAsyncIteration:
        pass
    finally:
        await stream.aclose()  # type: ignore[attr-defined]  # an async generator: unsubscribes
    last = events[-1].seq if events else after_seq
    ended = info.terminal is not None and last >= info.last_seq
    done = bool(events and events[-1].type in TERMINAL_TYPES) or ended
    state: RunState = info.state
    if events and events[-1].type in TERMINAL_TYPES:
        state = TERMINAL_STATE_OF[events[-1].type]
    return Slice(events=events, next_after_seq=last, done=done, state=state)


async def read_log(system: RunSystem, run_id: str, after_seq: int = 0, limit: int = MAX_LIMIT * 100) -> Slice:
    """What the run's log holds now past ``after_seq`` (no waiting): for resources and artifacts."""
    return await read_slice(system, run_id, after_seq, limit, 0.0)
