"""Follower side of cross-process follow and cancel: wait on the owner's notices, never poll.

A follower connects once per owner (``<db>-owners/<token>.sock``, see ``_notices``), watches
the runs it waits on, and wakes when the owner announces a commit of one of them. The owner's
EOF (it died, or closed its store) is answered by waiting for the owner's flock to drop and
then ``recover()``: a run whose owner died gets its ``run.failed``, and the waiter wakes to it.
Runs this very store owns (another system sharing one store object) are announced by the
store's own commit listener, with no socket.
"""

from __future__ import annotations

import contextlib
import json
import math
import socket
import threading
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Final

from runwire.actors import RunTimeoutError

from ._errors import StoreError
from ._notices import encode, unix_address
from ._owner import describe_owner, socket_path, wait_until_dead

if TYPE_CHECKING:
    from ._sqlite import SqliteRunStore

__all__ = ["Follower"]

_FOREVER: Final = threading.TIMEOUT_MAX / 2


def _check_timeout(value: object) -> float | None:
    if value is None:
        return None
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise TypeError(f"timeout must be a number of seconds or None, got {type(value).__name__}")
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"timeout must be a finite number >= 0, got {value}")
    return float(value)


def _check_args(run_id: object, after_seq: object = 0) -> None:
    if not isinstance(run_id, str) or not run_id:
        raise TypeError(f"run_id must be a non-empty str, got {run_id!r}")
    if not isinstance(after_seq, int) or isinstance(after_seq, bool) or after_seq < 0:
        raise ValueError(f"after_seq must be an int >= 0, got {after_seq!r}")


class _Channel:
    """What this process hears from one owner: the highest seq announced per watched run."""

    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.seen: dict[str, int] = {}
        self.watched: set[str] = set()
        self.errors: dict[str, str] = {}  # run_id -> why the owner refused its cancel
        self.dead = False
        self._users: dict[str, int] = {}  # run_id -> threads waiting on it now

    @contextlib.contextmanager
    def use(self, run_id: str) -> Iterator[None]:
        """While a thread waits on ``run_id``: nobody else may unwatch it under that thread."""
        with self.cond:
            self._users[run_id] = self._users.get(run_id, 0) + 1
        try:
            yield
        finally:
            with self.cond:
                left = self._users[run_id] - 1
                if left:
                    self._users[run_id] = left
                else:
                    del self._users[run_id]

    def drop_if_idle(self, run_id: str) -> None:
        """The run ended: stop watching it, unless a thread still waits on it."""
        with self.cond:  # one critical section: nobody can start relying on the watch meanwhile
            if run_id not in self.watched or run_id in self._users:
                return
            tell_owner = self._forget(run_id)
        if tell_owner:
            self._unwatch_at_owner(run_id)

    def announce(self, acks: Mapping[str, int]) -> None:
        with self.cond:
            hit = False
            for run_id, seq in acks.items():
                if run_id in self.watched and seq > self.seen.get(run_id, 0):
                    self.seen[run_id] = seq
                    hit = True
            if hit:
                self.cond.notify_all()

    def refused(self, run_id: str, error: str) -> None:
        with self.cond:
            self.errors[run_id] = error
            self.cond.notify_all()

    def watching(self, run_id: str) -> bool:
        """Whether every commit of ``run_id`` is announced here already."""
        return run_id in self.watched

    def watch(self, run_id: str, deadline: float) -> bool:
        """Have the owner announce ``run_id``'s commits from now on; False if that timed out."""
        with self.cond:
            self.watched.add(run_id)
        return True

    def _forget(self, run_id: str) -> bool:
        """Under ``cond``: drop the watch here; True if the owner must be told."""
        self.watched.discard(run_id)
        self.seen.pop(run_id, None)
        self.errors.pop(run_id, None)
        return False

    def _unwatch_at_owner(self, run_id: str) -> None:
        pass

    def cancel(self, run_id: str, reason: str) -> None:
        raise NotImplementedError

    def close(self) -> None:
        pass


class _Local(_Channel):
    """The runs of this very store object: its commit listener announces them."""

    def __init__(self, store: SqliteRunStore) -> None:
        super().__init__()
        self._store = store
        self._remove = store.add_commit_listener(self.announce)

    def cancel(self, run_id: str, reason: str) -> None:
        self._store.cancel_here(run_id, reason, lambda error: self.refused(run_id, error))

    def close(self) -> None:
        self._remove()


class _Link(_Channel):
    """A connection to another owner's notice socket, read by one daemon thread."""

    def __init__(self, owners: Path, token: str, deadline: float) -> None:
        super().__init__()
        self._owners = owners
        self.token = token
        self._closing = False
        self._acks: set[str] = set()  # watches the owner confirmed
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.settimeout(max(0.05, min(5.0, deadline - time.monotonic())))
            with unix_address(socket_path(owners, token)) as address:
                sock.connect(address)
            sock.settimeout(None)
        except BaseException:
            sock.close()
            raise
        self._sock = sock
        self._send_lock = threading.Lock()
        self._thread = threading.Thread(target=self._read, name=f"runwire-store-follow[{token[:8]}]", daemon=True)
        self._thread.start()

    def _send(self, message: dict[str, str]) -> None:
        try:
            with self._send_lock:
                self._sock.sendall(encode(message))
        except OSError:
            pass  # the owner left: the reader thread sees the EOF and marks the link dead

    def watching(self, run_id: str) -> bool:
        return run_id in self._acks

    def watch(self, run_id: str, deadline: float) -> bool:
        with self.cond:
            if run_id in self._acks:
                return True
            self.watched.add(run_id)
        self._send({"op": "watch", "run": run_id})
        with self.cond:
            return self.cond.wait_for(lambda: run_id in self._acks or self.dead, max(0.0, deadline - time.monotonic()))

    def _forget(self, run_id: str) -> bool:
        known = run_id in self._acks
        self._acks.discard(run_id)
        super()._forget(run_id)
        return known

    def _unwatch_at_owner(self, run_id: str) -> None:
        # a thread that watches the run again before this lands re-reads the store and sees it
        # ended (only ended runs are dropped), so a watch this removes at the owner is not missed
        self._send({"op": "unwatch", "run": run_id})

    def cancel(self, run_id: str, reason: str) -> None:
        self._send({"op": "cancel", "run": run_id, "reason": reason})

    def _read(self) -> None:
        buffer = bytearray()
        try:
            while data := self._sock.recv(65536):
                buffer += data
                lines = buffer.split(b"\n")
                buffer[:] = lines.pop()
                acks: dict[str, int] = {}
                for line in lines:
                    message = json.loads(line)
                    op, run_id = message["op"], message["run"]
                    if op == "commit":
                        acks[run_id] = max(acks.get(run_id, 0), int(message["seq"]))
                    elif op == "watching":
                        with self.cond:
                            self._acks.add(run_id)
                            self.cond.notify_all()
                    elif op == "cancel-error":
                        self.refused(run_id, str(message["error"]))
                if acks:
                    self.announce(acks)
        except (OSError, ValueError, KeyError, TypeError):
            pass  # a broken connection or a garbled line: treat as EOF
        if not self._closing:  # the owner went away: wait until its process let go of its lock
            wait_until_dead(self._owners, self.token)
        with self.cond:
            self.dead = True
            self.cond.notify_all()

    def close(self) -> None:
        self._closing = True
        with contextlib.suppress(OSError):
            self._sock.shutdown(socket.SHUT_RDWR)
        self._sock.close()


class Follower:
    """``wait_for_change`` and ``request_cancel`` of one ``SqliteRunStore``."""

    def __init__(self, store: SqliteRunStore, owners: Path, token: str) -> None:
        self._store = store
        self._owners = owners
        self._token = token
        self._lock = threading.Lock()
        self._links: dict[str, _Channel] = {}
        self._watching: dict[str, _Channel] = {}  # run_id -> the channel announcing it
        self._closed = False

    def _channel(self, owner: str | None, deadline: float) -> _Channel | None:
        """The channel to ``owner``, or None if it is not reachable (gone: recover its runs)."""
        if owner is None:
            return None
        with self._lock:
            if self._closed:
                raise StoreError("the store was closed", self._store.path)
            channel = self._links.get(owner)
            if channel is not None and not channel.dead:
                return channel
            if owner == self._token:
                channel = self._links[owner] = _Local(self._store)
                return channel
        try:
            link: _Channel = _Link(self._owners, owner, deadline)
        except OSError:
            return None  # no socket or nobody listening: the owner is gone (or predates notices)
        with self._lock:
            old = self._links.get(owner)
            if old is not None and not old.dead:
                link.close()
                return old
            self._links[owner] = link
        return link

    def _owner_gone(self, run_id: str, owner: str | None) -> None:
        """The owner cannot be reached: close its runs if it is dead, or say why not."""
        self._store.recover()
        rec = self._store.get_run(run_id)
        if rec is not None and rec.ended_at is None:
            raise StoreError(
                f"run {run_id} is in flight but its {describe_owner(self._owners, owner)} cannot be reached "
                "(a runwire from before cross-process notices?)",
                self._store.path,
            )

    def wait_for_change(self, run_id: str, after_seq: int, timeout: float | None) -> bool:
        _check_args(run_id, after_seq)
        _check_timeout(timeout)
        deadline = time.monotonic() + (_FOREVER if timeout is None else timeout)
        known = self._watching.get(run_id)  # a follower's steady state: the notice came, no query
        if known is not None and not known.dead and known.seen.get(run_id, 0) > after_seq:
            return True
        # watched before the read below: every later commit is announced, no second read needed
        watched_before = known is not None and not known.dead and known.watching(run_id)
        rec = self._store.get_run(run_id)
        if rec is None or rec.ended_at is not None:
            self._drop(run_id)
            return True
        if rec.last_seq > after_seq:
            return True
        owner = self._store.owner_of(run_id)
        channel = self._channel(owner, deadline)
        if channel is None:
            self._owner_gone(run_id, owner)
            return True
        with channel.use(run_id):
            if not (watched_before and channel is known and channel.watching(run_id)):
                if not channel.watch(run_id, deadline):
                    return False
                self._watching[run_id] = channel
                # watched now: any later commit is announced; one that came before shows in the store
                rec = self._store.get_run(run_id)
                if rec is None or rec.ended_at is not None or rec.last_seq > after_seq:
                    return True
            with channel.cond:
                woke = channel.cond.wait_for(
                    lambda: channel.seen.get(run_id, 0) > after_seq or channel.dead,
                    max(0.0, deadline - time.monotonic()),
                )
                dead = channel.dead
        if dead:
            self._owner_gone(run_id, owner)
            return True
        return woke

    def _drop(self, run_id: str) -> None:
        """``run_id`` ended: its watches can go once nobody waits on it (bounded memory)."""
        self._watching.pop(run_id, None)
        with self._lock:
            channels = list(self._links.values())
        for channel in channels:
            channel.drop_if_idle(run_id)

    def request_cancel(self, run_id: str, reason: str, timeout: float) -> None:
        _check_args(run_id)
        if not isinstance(reason, str):
            raise TypeError(f"reason must be a str, got {type(reason).__name__}")
        if _check_timeout(timeout) is None:
            raise TypeError("request_cancel needs a timeout in seconds, not None")
        deadline = time.monotonic() + timeout
        rec = self._store.get_run(run_id)
        if rec is None:
            raise StoreError(f"no run {run_id} in the run store", self._store.path)
        if rec.ended_at is not None:
            return
        owner = self._store.owner_of(run_id)
        channel = self._channel(owner, deadline)
        if channel is None:
            self._owner_gone(run_id, owner)
            return
        with channel.use(run_id):
            error, dead = self._cancel(channel, run_id, reason, owner, deadline, timeout)
        if dead:
            self._owner_gone(run_id, owner)
        elif error is not None:
            rec = self._store.get_run(run_id)
            if rec is not None and rec.ended_at is not None:
                return  # it ended at its owner meanwhile (e.g. as its system closed): that is the answer
            raise StoreError(f"cannot cancel run {run_id}: {describe_owner(self._owners, owner)}: {error}")
        else:
            self._drop(run_id)

    def _cancel(
        self, channel: _Channel, run_id: str, reason: str, owner: str | None, deadline: float, timeout: float
    ) -> tuple[str | None, bool]:
        """Send the request, wait for the terminal's commit: (the owner's refusal, owner dead)."""
        if not channel.watch(run_id, deadline):
            raise self._timeout(run_id, owner, timeout)
        channel.cancel(run_id, reason)
        while True:
            rec = self._store.get_run(run_id)
            if rec is None or rec.ended_at is not None:
                return None, False
            if time.monotonic() >= deadline:
                raise self._timeout(run_id, owner, timeout)
            last = rec.last_seq
            with channel.cond:
                channel.cond.wait_for(
                    lambda last=last: channel.seen.get(run_id, 0) > last or channel.dead or run_id in channel.errors,  # type: ignore[misc]
                    max(0.0, deadline - time.monotonic()),
                )
                error, dead = channel.errors.pop(run_id, None), channel.dead
            if dead or error is not None:
                return error, dead

    def _timeout(self, run_id: str, owner: str | None, timeout: float) -> RunTimeoutError:
        return RunTimeoutError(
            f"run {run_id}: its {describe_owner(self._owners, owner)} did not confirm the cancel within {timeout} s"
        )

    def close(self) -> None:
        with self._lock:
            self._closed = True
            links, self._links = list(self._links.values()), {}
        for link in links:
            link.close()
