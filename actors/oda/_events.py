"""One ordered stream of a loop and its steps: each step's events right after its step.started.

Order rule: the loop's own events in seq order; after a ``step.started`` come that step's events
(``run.started`` .. its terminal) before the loop's next event. That is the causal order too: the
loop emits ``step.finished`` only after the step's terminal, and starts the next step after that.
Every event keeps its own ``run_id`` and ``seq``; a step's events carry ``parent_run_id`` and
``step``. A step whose retention expired before it was read is skipped (its step.* events remain).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING

from runwire.actors import EventStream, UnknownRunError
from runwire.actors.ext import Policy
from runwire.protocol import RunEvent

if TYPE_CHECKING:
    from runwire.actors import RunHandle, RunSystem

__all__ = ["LoopEventStream", "loop_events"]


class LoopEventStream(EventStream):
    """A loop's events, with its children's when ``include_children``; ``for`` or ``async for``."""

    def __init__(
        self,
        system: RunSystem,
        run_id: str,
        after_seq: int,
        timeout: float | None,
        include_children: bool,
        buffer: int | None = 10_000,
        policy: Policy = "coalesce",
    ) -> None:
        super().__init__(system, run_id, after_seq, timeout, buffer, policy)
        self._include_children = include_children
        self._child_options = (buffer, policy)

    def _child(self, run_id: str) -> EventStream:
        """A step's whole stream, with the same per-subscriber buffer and policy as the loop's."""
        return self._system.handle(run_id).events(
            timeout=self._timeout, buffer=self._child_options[0], policy=self._child_options[1]
        )

    def __iter__(self) -> Iterator[RunEvent]:
        for event in super().__iter__():
            yield event
            if self._include_children and event.type == "step.started":
                with contextlib.suppress(UnknownRunError):  # the step expired before we got to it
                    yield from self._child(event.child_run_id)

    def __aiter__(self) -> AsyncIterator[RunEvent]:
        return self._nested()

    async def _nested(self) -> AsyncIterator[RunEvent]:
        async for event in super().__aiter__():
            yield event
            if self._include_children and event.type == "step.started":
                with contextlib.suppress(UnknownRunError):
                    async for child_event in self._child(event.child_run_id):
                        yield child_event


def loop_events(
    system: RunSystem,
    loop_handle: RunHandle,
    include_children: bool = True,
    *,
    after_seq: int = 0,
    timeout: float | None = None,
    buffer: int | None = 10_000,
    policy: Policy = "coalesce",
) -> LoopEventStream:
    """The loop's events from ``after_seq`` on, its steps' events nested in (see the module doc).

    ``timeout`` bounds the wait for each next event; ``buffer``/``policy`` apply to each
    subscription (the loop's and each step's) as in ``RunHandle.events``. Leaving early unsubscribes.
    """
    return LoopEventStream(system, loop_handle.run_id, after_seq, timeout, include_children, buffer, policy)
