"""Where observe and decide run: one parked daemon thread per loop, never the actor's thread.

Why a thread of its own: the loop is sequential (one decision at a time), a thread parked on
its queue costs nothing between decisions, and a decide that blocks or hangs holds only this
thread — the StepRunnerActor stays free to take a Cancel or a deadline. A callable that returns
an awaitable (``async def``) is run on the system's event loop, and this thread waits for it
(waiting is fine here: it is neither an actor nor an event loop).
"""

from __future__ import annotations

import asyncio
import inspect
import queue
import threading
from collections.abc import Awaitable, Callable
from concurrent.futures import Future
from typing import Any

from ._messages import Decided
from ._types import LoopState

__all__ = ["Thinker"]


async def _await(awaitable: Awaitable[Any]) -> Any:
    return await awaitable


class Thinker:
    """Runs ``decide(observe(state))`` for round after round and hands each result to ``reply``."""

    def __init__(
        self,
        name: str,
        observe: Callable[[LoopState], Any] | None,
        decide: Callable[[Any], Any],
        reply: Callable[[Decided], None],
    ) -> None:
        self._observe = observe
        self._decide = decide
        self._reply = reply
        self._jobs: queue.SimpleQueue[tuple[int, LoopState] | None] = queue.SimpleQueue()
        self._event_loop: asyncio.AbstractEventLoop | None = None
        self._pending: Future[Any] | None = None  # an async observe/decide in flight
        self._closed = False
        self._thread = threading.Thread(target=self._run, name=f"runwire-oda-{name}", daemon=True)
        self._thread.start()

    def use_event_loop(self, loop: asyncio.AbstractEventLoop) -> None:
        self._event_loop = loop

    def submit(self, round_: int, state: LoopState) -> None:
        """Queue one round; never blocks."""
        self._jobs.put((round_, state))

    def close(self) -> None:
        """Stop after the current round; an async observe/decide in flight is cancelled."""
        self._closed = True
        pending = self._pending
        if pending is not None:
            pending.cancel()
        self._jobs.put(None)

    def _run(self) -> None:
        while (job := self._jobs.get()) is not None:
            round_, state = job
            try:
                observation = state if self._observe is None else self._call(self._observe, state)
                decision = self._call(self._decide, observation)
            except Exception as exc:
                self._reply(Decided(round_, error=exc))
            else:
                self._reply(Decided(round_, decision))

    def _call(self, fn: Callable[[Any], Any], arg: Any) -> Any:
        if self._closed:
            raise RuntimeError("the loop ended")
        value = fn(arg)
        if not inspect.isawaitable(value):
            return value
        if self._event_loop is None:
            raise RuntimeError("an async observe/decide needs the loop's event loop")
        coro = _await(value)
        try:
            self._pending = asyncio.run_coroutine_threadsafe(coro, self._event_loop)
        except RuntimeError:  # the event loop is closed: the system is shutting down
            coro.close()
            if inspect.iscoroutine(value):
                value.close()
            raise
        try:
            return self._pending.result()
        finally:
            self._pending = None
