"""Change signals: tell subscribed clients "re-read this run", coalesced, at most every ``interval``.

Resource-updated notifications are level triggers, not an event log, so a burst of events needs
only a few of them: each says "read again from your cursor". The hub watches the runs somebody
subscribed to (one bus subscription per run, opened only while there is interest), marks their
URIs dirty, and a single publisher task flushes the dirty set at most every ``interval`` seconds —
at once when a run reaches its terminal. Both protocol eras are served: ``subscriptions/listen``
streams through the SDK's SubscriptionBus (2026-07-28) and sessions that sent
``resources/subscribe`` (2025-11-25).
"""

from __future__ import annotations

import contextlib
import logging
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any

import anyio
import anyio.abc
import anyio.to_thread
from mcp.server.subscriptions import ResourceUpdated, SubscriptionBus

from runwire.actors import RunHandle, RunSystem, RunwireError
from runwire.actors.ext import loop_waker
from runwire.protocol import TERMINAL_TYPES, Artifact, RunEvent

from ._views import RUNS_URI, run_uri

__all__ = ["ChangeHub", "connection_of", "run_id_of_uri"]

_log = logging.getLogger(__name__)
_PREFIX = RUNS_URI + "/"


def connection_of(session: Any) -> Any:
    """The connection a request's ServerSession belongs to (a new session object is made per request)."""
    return getattr(session, "_connection", session)


def run_id_of_uri(uri: str) -> str | None:
    """The run a ``runwire://runs/{run_id}[/...]`` URI is about, or None."""
    if not uri.startswith(_PREFIX):
        return None
    run_id = uri[len(_PREFIX) :].split("/", 1)[0].split("?", 1)[0]
    return run_id or None


class ChangeHub:
    """Owns interest counts, per-run watchers and the coalescing publisher. Lives on the server loop."""

    def __init__(self, system: RunSystem, bus: SubscriptionBus, interval: float) -> None:
        self._system = system
        self._bus = bus
        self._interval = interval
        self._interest: Counter[str] = Counter()
        self._legacy: dict[str, dict[Any, Any]] = {}  # uri -> {connection: session} (2025-era subscribers)
        self._watchers: dict[str, tuple[anyio.CancelScope, anyio.Event]] = {}
        self._dirty: dict[str, None] = {}
        self._wake = anyio.Event()
        self._urgent = anyio.Event()
        self._tg: anyio.abc.TaskGroup | None = None
        self._call_soon: Callable[[Callable[[], object]], object] | None = None
        self.signals_sent = 0

    # -- lifecycle (the server's lifespan) ------------------------------------------------------
    @contextlib.asynccontextmanager
    async def running(self) -> Any:
        self._call_soon = loop_waker()
        async with anyio.create_task_group() as tg:
            self._tg = tg
            tg.start_soon(self._publisher)
            try:
                yield self
            finally:
                self._tg = None
                tg.cancel_scope.cancel()

    # -- interest ---------------------------------------------------------------------------------
    async def watch(self, uris: Iterable[str]) -> None:
        """Count interest in ``uris``; returns once the runs they name are watched (no event slips by)."""
        armed: list[anyio.Event] = []
        for uri in uris:
            self._interest[uri] += 1
            run_id = run_id_of_uri(uri)
            if run_id is None or self._tg is None:
                continue
            if run_id not in self._watchers:
                scope, ready = anyio.CancelScope(), anyio.Event()
                self._watchers[run_id] = (scope, ready)
                self._tg.start_soon(self._watch_run, run_id, scope, ready)
            armed.append(self._watchers[run_id][1])
        for ready in armed:
            await ready.wait()

    def unwatch(self, uris: Iterable[str]) -> None:
        for uri in uris:
            self._interest[uri] -= 1
            if self._interest[uri] <= 0:
                del self._interest[uri]
            run_id = run_id_of_uri(uri)
            if run_id is not None and not self._has_interest(run_id):
                watcher = self._watchers.pop(run_id, None)
                if watcher is not None:
                    watcher[0].cancel()

    def add_legacy(self, uri: str, session: Any) -> bool:
        """Remember a 2025-era session subscribed to ``uri``; False if its connection already was."""
        sessions = self._legacy.setdefault(uri, {})
        key = connection_of(session)
        if key in sessions:
            return False
        sessions[key] = session
        return True

    def remove_legacy(self, uri: str, session: Any) -> bool:
        sessions = self._legacy.get(uri, {})
        found = sessions.pop(connection_of(session), None) is not None
        if not sessions:
            self._legacy.pop(uri, None)
        return found

    def _has_interest(self, run_id: str) -> bool:
        return any(run_id_of_uri(uri) == run_id for uri in self._interest)

    # -- marks ------------------------------------------------------------------------------------
    def mark(self, uri: str, *, urgent: bool = False) -> None:
        """Schedule a signal for ``uri`` (call on the server loop)."""
        self._dirty[uri] = None
        self._wake.set()
        if urgent:
            self._urgent.set()

    def track(self, handle: RunHandle) -> None:
        """A run this server started: signal the runs list now and at its terminal."""
        self.mark(RUNS_URI)
        call_soon = self._call_soon

        def ended(_terminal: RunEvent) -> None:  # on the bus thread: hand over, never block
            if call_soon is None:
                return
            with contextlib.suppress(RuntimeError):  # the server's loop is gone
                call_soon(lambda: self._ended(handle.run_id))

        handle.on_terminal(ended)

    def _ended(self, run_id: str) -> None:
        self.mark(RUNS_URI)
        self.mark(run_uri(run_id))
        self.mark(run_uri(run_id, "events"), urgent=True)

    # -- tasks ------------------------------------------------------------------------------------
    async def _watch_run(self, run_id: str, scope: anyio.CancelScope, ready: anyio.Event) -> None:
        info_uri, events_uri = run_uri(run_id), run_uri(run_id, "events")
        try:
            with scope:
                try:
                    info = await anyio.to_thread.run_sync(self._system.get, run_id)
                except RunwireError:  # unknown or expired: the subscription is honoured and never fires
                    return
                finally:
                    ready.set()
                if info.terminal is not None:
                    return
                async for event in self._system.handle(run_id).events(after_seq=info.last_seq):
                    terminal = event.type in TERMINAL_TYPES
                    self.mark(info_uri)
                    if isinstance(event, Artifact):
                        self.mark(run_uri(run_id, f"artifacts/{event.artifact_id}"))
                    self.mark(events_uri, urgent=terminal)
                    if terminal:
                        self.mark(RUNS_URI)
                        return
        except RunwireError:
            return
        finally:
            watcher = self._watchers.get(run_id)
            if watcher is not None and watcher[0] is scope:
                del self._watchers[run_id]

    async def _publisher(self) -> None:
        while True:
            await self._wake.wait()
            self._wake = anyio.Event()
            self._urgent = anyio.Event()
            batch, self._dirty = list(self._dirty), {}
            for uri in batch:
                await self._publish(uri)
            # coalescing window: later marks gather until it ends, or a terminal cuts it short
            with anyio.move_on_after(self._interval):
                await self._urgent.wait()

    async def _publish(self, uri: str) -> None:
        self.signals_sent += 1
        await self._bus.publish(ResourceUpdated(uri=uri))
        for key, session in list(self._legacy.get(uri, {}).items()):
            try:
                await session.send_resource_updated(uri)
            except Exception:  # the session is gone: forget it
                _log.debug("dropping a legacy subscriber of %s", uri, exc_info=True)
                if self._legacy.get(uri, {}).pop(key, None) is not None:
                    self.unwatch([uri])
