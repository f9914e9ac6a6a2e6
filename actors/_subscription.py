"""Subscriber side of the bus: sinks the BusActor pushes batches into, and the iterators users hold.

The bus never blocks on a subscriber: ``push`` appends under a short lock and, if the consumer
is parked, wakes it once (a condition for sync consumers; one non-blocking call into the
consumer's own event loop for async ones — ``call_soon_threadsafe`` on asyncio,
``run_sync_soon`` on trio). One wake-up per parked consumer, however many events arrive.
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from typing import TYPE_CHECKING, ClassVar, Literal

import anyio
import anyio.lowlevel

from runwire.protocol import RunEvent

from ._checks import POLICIES, check_buffer, check_cursor, check_policy, check_timeout
from ._coalesce import coalesce
from ._doorbell import Doorbell as _Doorbell
from ._doorbell import Waiter as _Waiter
from ._doorbell import doorbell_for_current_loop as _doorbell_for_current_loop
from ._doorbell import loop_waker, wake_later
from ._errors import RunTimeoutError, SubscriberTooSlowError, UnknownRunError
from ._retained import Replay

if TYPE_CHECKING:
    from ._system import RunSystem

__all__ = [
    "DEAD",
    "FULL",
    "OK",
    "POLICIES",
    "Item",
    "Replay",
    "AsyncSink",
    "EventStream",
    "Policy",
    "Sink",
    "SyncSink",
    "loop_waker",
]


Policy = Literal["block", "coalesce", "disconnect"]

# What ``Sink.push`` tells the bus.
OK, FULL, DEAD = 0, 1, 2


Item = RunEvent | Replay


class _Overrun(Exception):
    """A ``coalesce`` subscription left the bus (see ``Sink._admit``); its stream re-subscribes."""


def _expand(items: list[Item], replaying: bool) -> list[RunEvent]:
    """Decode the replay block in ``items`` in the consumer's thread (outside every lock): a page
    at most (``Sink._hand_out``), so the first event of a long retained log does not wait for all
    of it. The block is first, or after the retention gap: the live events behind it are copied
    as one slice, not looked at one by one (at 1,000 runs most of a reader's events came so)."""
    if replaying:
        at = 0 if type(items[0]) is Replay else 1
        items[at : at + 1] = items[at].events()  # type: ignore[union-attr]  # a Replay: _hand_out says
    return items  # type: ignore[return-value]  # events only, now


class Sink:
    """What the bus holds for one subscription. ``push``/``close`` are called on the bus thread.

    ``limit`` bounds the buffer; past it the ``policy`` applies: ``block`` asks the bus to stop
    draining the run's outbox until the consumer catches up (the producer's worker then waits on
    its window, lossless), ``coalesce`` merges/drops text deltas (declared by ``stream.gap``),
    ``disconnect`` closes this subscription with :class:`SubscriberTooSlowError`.
    """

    __slots__ = ("_closed", "_error", "_held", "_items", "_last_seq", "_lock", "limit", "on_space", "policy")

    def __init__(self, limit: int | None = None, policy: Policy = "coalesce") -> None:
        policy = check_policy(policy)
        limit = check_buffer(limit)
        self._lock = threading.Lock()
        self._items: deque[Item] = deque()
        self._closed = False
        self._error: BaseException | None = None
        self._held = False
        self._last_seq = 0
        self.limit = limit
        self.policy = policy
        self.on_space: Callable[[], None] | None = None  # set by the system: tells the bus to resume

    def _admit(self, events: Sequence[Item]) -> int:
        """Under the lock: buffer ``events`` and apply the policy if the buffer is over its limit.

        Linear, whatever the consumer does: ``coalesce`` shrinks the buffer to half its limit, so
        the next shrink is at least ``limit / 2`` events away (O(1) amortised per event); when
        what it must keep (every non-delta) is more than half, the subscription is *overrun*: it
        keeps what it holds for the consumer and leaves the bus, and its stream re-subscribes
        from its cursor once the consumer has read that (the log replays the rest, off the bus).
        """
        items = self._items
        items.extend(events)
        limit = self.limit
        if limit is None or len(items) <= limit:
            return OK
        if not self._alive():
            return self._drop(None)
        if self.policy == "block":
            self._held = True
            return FULL
        if self.policy == "coalesce":
            target = max(1, limit // 2)
            kept = coalesce(items, target)
            self._items = deque(kept)
            if len(kept) <= target:
                return OK
            self._closed = True  # overrun: the consumer gets what is buffered, then resumes
            self._error = _Overrun()
            return DEAD
        return self._drop(SubscriberTooSlowError(limit, self._last_seq))

    def _drop(self, error: BaseException | None) -> int:
        self._closed = True
        self._error = error
        self._items.clear()
        return DEAD

    def _alive(self) -> bool:
        """Whether the consumer can still read (asked only when its buffer is over its limit)."""
        return True

    def _hand_out(self) -> tuple[list[Item], bool]:
        """Under the lock, the buffer not empty: what the consumer takes now, and whether it holds
        a replay block. A block is handed out a page at a time (``Replay.claim``, O(1)); what
        follows it (the live tail) waits in the buffer, in order, until the block is all out."""
        items = self._items
        if type(items[0]) is Replay:  # once partly handed out, a block is at the front
            at = 0
        elif self._last_seq == 0 and len(items) > 1 and type(items[1]) is Replay:  # pushed after a gap
            at = 1
        else:
            out = list(items)
            items.clear()
            return out, False
        block = items[at]
        page = block.claim()  # type: ignore[union-attr]
        if page is block:  # its last page: everything buffered goes
            out = list(items)
            items.clear()
        else:
            out = [items.popleft() for _ in range(at)]
            out.append(page)
        return out, True

    def _taken(self, items: list[Item]) -> bool:
        """Under the lock: the consumer took ``items``; True if the bus must be told to resume."""
        self._last_seq = items[-1].seq
        if not self._held:
            return False
        left, limit = len(self._items), self.limit
        if left and limit is not None and left > limit:
            return False  # a replay page taken, the live tail behind it still over the limit
        self._held = False
        return True

    def _resume(self, resume: bool) -> None:
        if resume and self.on_space is not None:
            self.on_space()

    def push(self, events: Sequence[Item]) -> int:
        """Hand over events; returns OK, FULL (block policy: hold the producer) or DEAD (drop me)."""
        raise NotImplementedError

    wants_encoded: ClassVar[bool] = False
    """A sink that stores events sets this: the bus then hands it the JSON it already made."""

    def push_encoded(self, events: Sequence[RunEvent], encoded: Sequence[bytes]) -> int:
        """``push`` with each event's JSON bytes (same order), for sinks with ``wants_encoded``."""
        return self.push(events)

    def close(self, error: BaseException | None = None) -> None:
        """End of stream (after the terminal, or ``error`` when the subscription cannot be served)."""
        raise NotImplementedError


class SyncSink(Sink):
    __slots__ = ("_cond", "_waiting", "_wake_due")

    def __init__(self, limit: int | None = None, policy: Policy = "coalesce") -> None:
        super().__init__(limit, policy)
        self._cond = threading.Condition(self._lock)
        self._waiting = False
        self._wake_due = False  # a wake-up is held by the bus until the end of its message

    def _wake_consumer(self) -> None:
        """Under the lock: wake the consumer now, or once the bus is done (one held wake-up)."""
        if self._wake_due:
            return
        if wake_later(self._notify):
            self._wake_due = True
        else:
            self._cond.notify()

    def _notify(self) -> None:
        with self._lock:
            self._wake_due = False
            self._cond.notify()

    def push(self, events: Sequence[Item]) -> int:
        with self._lock:
            status = self._admit(events)
            if self._waiting:
                self._wake_consumer()
        return status

    def close(self, error: BaseException | None = None) -> None:
        with self._lock:
            self._closed = True
            self._error = self._error or error
            self._wake_consumer()

    def take(self, timeout: float | None) -> list[RunEvent] | None:
        """Everything available, waiting if there is nothing yet; None at end of stream."""
        with self._lock:
            while not self._items:
                if self._closed:
                    if self._error is not None:
                        raise self._error
                    return None
                self._waiting = True
                try:
                    if not self._cond.wait(timeout):
                        raise RunTimeoutError(f"no event within {timeout} s")
                finally:
                    self._waiting = False
            items, replaying = self._hand_out()
            resume = self._taken(items)
        self._resume(resume)
        return _expand(items, replaying)


class AsyncSink(Sink):
    __slots__ = ("_bell", "_event")

    def __init__(
        self,
        wake: Callable[[Callable[[], object]], object] | _Doorbell,
        limit: int | None = None,
        policy: Policy = "coalesce",
    ) -> None:
        super().__init__(limit, policy)
        self._bell = wake if isinstance(wake, _Doorbell) else _Doorbell(wake)  # "run this soon on its loop"
        self._event: _Waiter | None = None

    @classmethod
    def for_current_loop(cls, limit: int | None = None, policy: Policy = "coalesce") -> AsyncSink:
        """A sink for a consumer on the calling task's loop: it shares that loop's wake-ups."""
        return cls(_doorbell_for_current_loop(), limit, policy)

    def _wake_consumer(self) -> bool:
        event, self._event = self._event, None
        if event is None:
            return not self._bell.closed  # a held wake-up of this loop failed since: it is gone
        return self._bell.ring(event)

    def _alive(self) -> bool:
        # A consumer woken just before its loop closed is not parked, so no wake-up fails for it:
        # ask the loop itself, once its buffer is over the limit.
        return self._bell.alive()

    def push(self, events: Sequence[Item]) -> int:
        with self._lock:
            status = self._admit(events)
            if not self._wake_consumer():
                return DEAD
        return status

    def close(self, error: BaseException | None = None) -> None:
        with self._lock:
            self._closed = True
            self._error = self._error or error
            self._wake_consumer()

    async def take(self) -> list[RunEvent] | None:
        while True:
            with self._lock:
                if self._items:
                    items, replaying = self._hand_out()
                    resume = self._taken(items)
                    break
                if self._closed:
                    if self._error is not None:
                        raise self._error
                    return None
                event = self._event = self._bell.waiter()
            if isinstance(event, asyncio.Future):  # tested first: ``anyio.Event`` is imported lazily
                await event  # this loop's future: set by the doorbell's round on this loop
            else:
                await event.wait()
        self._resume(resume)
        return _expand(items, replaying)


class EventStream:
    """A run's events from ``after_seq`` on: iterate it with ``for`` or ``async for``.

    Each iteration is its own subscription; leaving the loop early unsubscribes. With a run
    store, a run no longer in memory is replayed from the store, and events older than the
    bus's retained window come from the store instead of a ``stream.gap`` (read in the
    consumer's thread, or a worker thread for ``async for``: never on the bus).
    """

    def __init__(
        self,
        system: RunSystem,
        run_id: str,
        after_seq: int,
        timeout: float | None,
        buffer: int | None = 10_000,
        policy: Policy = "coalesce",
    ) -> None:
        # every argument checked here, at the call: one that reached the bus would fail the run
        self._after_seq = check_cursor(after_seq)
        self._buffer = check_buffer(buffer)
        self._policy: Policy = check_policy(policy)
        self._timeout = check_timeout(timeout)
        self._system = system
        self._run_id = run_id

    def _stored(self, missing: UnknownRunError, after_seq: int) -> Iterator[list[RunEvent]]:
        """The run is not in memory: its stored log in pages (lazily), or ``missing`` re-raised."""
        binding = self._system._store
        if binding is None:
            raise missing
        return binding.replay(self._run_id, after_seq, missing, self._timeout)

    def _first(self, batch: list[RunEvent]) -> Iterator[list[RunEvent]] | None:
        """With a store, a first batch that opens with a gap, that gap filled from the store; else None."""
        binding = self._system._store
        if binding is None or not batch or batch[0].type != "stream.gap":
            return None
        return binding.fill(batch)

    def __iter__(self) -> Iterator[RunEvent]:
        cursor = self._after_seq
        while True:  # one subscription, or more when a coalesce subscription is overrun
            sink = SyncSink(self._buffer, self._policy)
            try:
                try:
                    self._system._subscribe(self._run_id, sink, cursor)
                    batch = sink.take(self._timeout)  # a run freed meanwhile: the bus says UnknownRunError
                except UnknownRunError as exc:  # not in memory: the store's copy, if there is one
                    for page in self._stored(exc, cursor):
                        yield from page
                    return
                if batch is None:
                    return
                filled = self._first(batch)
                if filled is None:
                    yield from batch
                else:
                    for page in filled:
                        yield from page
                cursor = batch[-1].seq
                while (batch := sink.take(self._timeout)) is not None:
                    yield from batch
                    cursor = batch[-1].seq
                return
            except _Overrun:
                continue  # everything up to ``cursor`` was yielded: the log has the rest
            finally:
                self._system._unsubscribe(self._run_id, sink)

    def __aiter__(self) -> AsyncIterator[RunEvent]:
        return self._aiter()

    async def _aiter(self) -> AsyncIterator[RunEvent]:
        cursor = self._after_seq
        while True:  # see __iter__
            sink = AsyncSink.for_current_loop(self._buffer, self._policy)
            try:
                try:
                    self._system._subscribe(self._run_id, sink, cursor)
                    batch = await self._take(sink)
                except UnknownRunError as exc:
                    async for page in _in_thread(self._stored(exc, cursor)):
                        for event in page:
                            yield event
                    return
                if batch is None:
                    return
                filled = self._first(batch)
                if filled is not None:
                    async for page in _in_thread(filled):
                        for event in page:
                            yield event
                else:
                    for event in batch:
                        yield event
                cursor = batch[-1].seq
                while (batch := await self._take(sink)) is not None:
                    for event in batch:
                        yield event
                    cursor = batch[-1].seq
                return
            except _Overrun:
                continue
            finally:
                self._system._unsubscribe(self._run_id, sink)

    async def _take(self, sink: AsyncSink) -> list[RunEvent] | None:
        if self._timeout is None:
            return await sink.take()
        with anyio.fail_after(self._timeout):
            return await sink.take()


async def _in_thread(pages: Iterator[list[RunEvent]]) -> AsyncIterator[list[RunEvent]]:
    """Pages whose reading may touch the store's file: each one read on a worker thread."""
    while (page := await anyio.to_thread.run_sync(next, pages, None)) is not None:
        yield page
