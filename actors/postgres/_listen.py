"""The store's LISTEN connection: wakes followers on commits, serves cancels, proves we live.

One dedicated connection per store (never the writer's, never a pooled one) LISTENs on the
store's commit and cancel channels and holds the owner's advisory lock (shared, as the writer's
connection does too): while either session lives, others see the owner alive, so one dropped
connection is not a death; when the process dies the server ends both sessions and the lock
goes with them. A stop channel of its own lets ``close()`` wake it at once.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
from collections.abc import Callable
from typing import Any, Final

from ._connect import Target, channel, owner_key

__all__ = ["Listener"]

log = logging.getLogger("runwire.store.postgres")

_RETRY: Final = (0.05, 0.2, 0.5, 1.0, 2.0)  # seconds between reconnect attempts (stop-aware waits)


class Listener(threading.Thread):
    """Dispatches notifications: commits to the events of waiting followers, cancels to a handler."""

    def __init__(self, target: Target, token: str, connect: Callable[[], Any]) -> None:
        super().__init__(name=f"runwire-pg-listen[{target.schema}]", daemon=True)
        self.target = target
        self.token = token
        self.commit_channel = channel(target.schema, "commit")
        self.cancel_channel = channel(target.schema, "cancel")
        self.reply_channel = channel(target.schema, "reply")  # an owner refusing a cancel tells the requester
        self.stop_channel = f"runwire_stop_{token}"
        self._connect = connect
        self._lock = threading.Lock()
        self._waiters: dict[str, set[threading.Event]] = {}
        self._stopping = threading.Event()
        self.cancel_handler: Callable[[str, str], None] | None = None
        # commits what this process has queued before it refuses a cancel: a run that ended here
        # (its terminal queued, not yet committed, e.g. while the system closes) is then seen ended
        # by the requester, which re-reads the run on a refusal (set by the store)
        self.settle: Callable[[], object] | None = None
        self.send: Callable[[str, str], object] | None = None  # pg_notify(channel, payload) on another connection
        self._cancels: queue.SimpleQueue[tuple[str, str, str] | None] = queue.SimpleQueue()
        self._refusals: dict[str, str] = {}  # run_id -> why its owner refused our cancel
        self._canceller = threading.Thread(target=self._serve_cancels, name="runwire-pg-cancels", daemon=True)
        self.conn: Any = None

    def open(self) -> None:
        """Connect, take the owner lock and LISTEN (on the caller's thread: errors surface at open)."""
        self.conn = self._session()
        self.start()
        self._canceller.start()

    def _session(self) -> Any:
        conn = self._connect()
        try:
            conn.execute("SELECT pg_advisory_lock_shared(%s)", (owner_key(self.token),))
            for name in (self.commit_channel, self.cancel_channel, self.reply_channel, self.stop_channel):
                conn.execute(f'LISTEN "{name}"')
        except BaseException:
            conn.close()
            raise
        return conn

    # -- followers ---------------------------------------------------------------------------
    def watch(self, run_id: str) -> threading.Event:
        """An event set on every commit notice of ``run_id`` (and on reconnects); ``unwatch`` it."""
        event = threading.Event()
        with self._lock:
            self._waiters.setdefault(run_id, set()).add(event)
        return event

    def unwatch(self, run_id: str, event: threading.Event) -> None:
        with self._lock:
            waiting = self._waiters.get(run_id)
            if waiting is not None:
                waiting.discard(event)
                if not waiting:
                    del self._waiters[run_id]

    def _wake(self, run_id: str | None) -> None:
        with self._lock:
            if run_id is None:
                events = [e for waiting in self._waiters.values() for e in waiting]
            else:
                events = list(self._waiters.get(run_id, ()))
        for event in events:
            event.set()

    # -- the loop ----------------------------------------------------------------------------
    def run(self) -> None:
        attempt = 0
        while not self._stopping.is_set():
            try:
                for note in self.conn.notifies():
                    attempt = 0
                    if note.channel == self.commit_channel:
                        self._wake(note.payload)
                    elif note.channel == self.cancel_channel:
                        self._cancel_notice(note.payload)
                    elif note.channel == self.reply_channel:
                        self._reply_notice(note.payload)
                    elif self._stopping.is_set():
                        break
                if self._stopping.is_set():
                    break
            except Exception as exc:  # the session was lost: followers re-check, then reconnect
                if self._stopping.is_set():
                    break
                log.warning("run store LISTEN connection lost (%s); reconnecting", self.target.scrub(str(exc)))
            self._wake(None)
            while not self._stopping.is_set():
                if self._stopping.wait(_RETRY[min(attempt, len(_RETRY) - 1)]):
                    break
                attempt += 1
                try:
                    old, self.conn = self.conn, self._session()
                except Exception as exc:
                    log.debug("reconnecting the LISTEN connection: %s", exc)
                    continue
                with_suppress_close(old)
                self._wake(None)  # commits may have happened while we were away
                break
        with_suppress_close(self.conn)
        self._cancels.put(None)

    def _cancel_notice(self, payload: str) -> None:
        try:
            notice = json.loads(payload)
            run_id, reason, owner = str(notice["run_id"]), str(notice["reason"]), str(notice["owner"])
            sender = str(notice.get("from", ""))
        except (ValueError, KeyError, TypeError, AttributeError):
            log.warning("ignored a malformed cancel notice: %r", payload[:200])
            return
        if owner == self.token:
            self._cancels.put((run_id, reason, sender))

    def _reply_notice(self, payload: str) -> None:
        try:
            notice = json.loads(payload)
            to, run_id, why = str(notice["to"]), str(notice["run_id"]), str(notice["why"])
        except (ValueError, KeyError, TypeError, AttributeError):
            return
        if to == self.token:
            with self._lock:
                self._refusals[run_id] = why
            self._wake(run_id)

    def refusal(self, run_id: str) -> str | None:
        """Why the owner refused our cancel of ``run_id`` (taken once), or None."""
        with self._lock:
            return self._refusals.pop(run_id, None)

    def _refuse(self, run_id: str, sender: str, why: str) -> None:
        send = self.send
        if send is None or not sender:
            return
        settle = self.settle
        if settle is not None:
            try:
                settle()
            except Exception as exc:  # closed or failing writer: refuse anyway, the requester re-reads
                log.debug("could not commit before refusing a cancel of run %s: %s", run_id, exc)
        try:
            send(self.reply_channel, json.dumps({"to": sender, "run_id": run_id, "why": why}))
        except Exception as exc:  # the requester then times out, naming us
            log.debug("could not answer a cancel of run %s: %s", run_id, exc)

    def _serve_cancels(self) -> None:
        while True:
            item = self._cancels.get()
            if item is None:
                return
            run_id, reason, sender = item
            handler = self.cancel_handler
            if handler is None:
                self._refuse(run_id, sender, "serves no cancel (a bare store: no RunSystem runs it)")
                continue
            try:
                handler(run_id, reason)
            except KeyError:  # the system does not hold the run (any more)
                self._refuse(run_id, sender, "does not hold it in memory (it ended, or was never started there)")
            except Exception as exc:  # a handler's bug must not stop serving
                log.exception("cancel handler for run %s raised", run_id)
                self._refuse(run_id, sender, f"failed to cancel it: {exc}")

    def stop(self, notify: Callable[[str], object]) -> None:
        """Stop the loop: ``notify(channel)`` sends on our stop channel from another connection."""
        self._stopping.set()
        if self.is_alive():
            try:
                notify(self.stop_channel)
            except Exception as exc:  # the server is gone: the loop ends on its own error
                log.debug("stop notice: %s", exc)
                with_suppress_close(self.conn)
            self.join(10)
        self._cancels.put(None)


def with_suppress_close(conn: Any) -> None:
    try:
        if conn is not None:
            conn.close()
    except Exception as exc:  # pragma: no cover - closing is best effort
        log.debug("closing a connection: %s", exc)
