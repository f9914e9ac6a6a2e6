"""Which process owns a run, and whether that process is still alive.

Each open store holds an exclusive OS lock on its own lock file (``<db>-owners/<token>.lock``).
The kernel drops the lock when the process dies, SIGKILL included, so "can I take the lock?"
answers "is the owner dead?" with no pid reuse or clock problems. ``recover()`` only closes
runs whose owner is dead: a second process on the same file never fails live runs.

The lock file holds ``pid host`` of its owner (for messages such as "owner pid 123 on box did
not answer"), and the owner's notice socket (``<token>.sock``, see ``_notices``) sits beside it.
"""

from __future__ import annotations

import contextlib
import os
import socket
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import IO

__all__ = ["OwnerLock", "describe_owner", "opening_lock", "owners_dir", "socket_path", "wait_until_dead"]


def owners_dir(db_path: Path) -> Path:
    """The directory of lock files next to the database file."""
    return db_path.with_name(db_path.name + "-owners")


def socket_path(directory: Path, token: str) -> Path:
    """Where the owner ``token`` listens for followers and cancel requests."""
    return directory / f"{token}.sock"


def describe_owner(directory: Path, token: str | None) -> str:
    """``owner pid 123 on host (token abc…)``: who owns a run, for error messages."""
    if not token:
        return "an owner with no token (a store from before owners were recorded)"
    try:
        pid, _, host = (directory / f"{token}.lock").read_text("utf-8").strip().partition(" ")
    except (OSError, UnicodeDecodeError):
        pid = host = ""
    where = f"pid {pid} on {host}" if pid else "a process that left no pid"
    return f"owner {where} (token {token[:12]})"


def wait_until_dead(directory: Path, token: str) -> None:
    """Block until the owner ``token`` no longer holds its lock (it died or closed); never polls.

    For a follower whose connection to the owner broke: the kernel drops the owner's flock when
    its process dies, maybe a moment after the socket's EOF, so wait for the lock itself.
    """
    try:
        handle = open(directory / f"{token}.lock", "r+b")  # noqa: SIM115 - closed below
    except FileNotFoundError:
        return
    with handle:
        if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
            import msvcrt

            msvcrt.locking(handle.fileno(), msvcrt.LK_LOCK, 1)
            msvcrt.locking(handle.fileno(), msvcrt.LK_UNLCK, 1)
        else:
            import fcntl

            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


@contextlib.contextmanager
def opening_lock(directory: Path) -> Iterator[None]:
    """Serialize opening (WAL switch, migrations) across threads and processes; waits, never polls."""
    directory.mkdir(parents=True, exist_ok=True)
    with open(directory / "open.lock", "a+b") as handle:
        if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
            import msvcrt

            msvcrt.locking(handle.fileno(), msvcrt.LK_LOCK, 1)
        else:
            import fcntl

            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        yield  # closing the handle releases the lock


def _try_lock(handle: IO[bytes]) -> bool:
    """Take the exclusive lock without waiting; False if another open handle holds it."""
    if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
        import msvcrt

        try:
            msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True
    import fcntl

    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


class OwnerLock:
    """An exclusive lock file named by a random token; held while the store is open."""

    def __init__(self, directory: Path, token: str, handle: IO[bytes] | None) -> None:
        self.directory = directory
        self.token = token
        self._handle: IO[bytes] | None = handle

    @classmethod
    def acquire(cls, directory: Path) -> OwnerLock:
        """Create and lock a fresh lock file (a new token per store instance)."""
        directory.mkdir(parents=True, exist_ok=True)
        token = uuid.uuid4().hex
        handle = open(directory / f"{token}.lock", "a+b")  # noqa: SIM115 - held open until release()
        if not _try_lock(handle):  # pragma: no cover - a fresh random name cannot be locked already
            handle.close()
            raise OSError(f"cannot lock {directory / token}.lock")
        handle.write(f"{os.getpid()} {socket.gethostname()}\n".encode())
        handle.flush()
        return cls(directory, token, handle)

    @classmethod
    def claim_if_dead(cls, directory: Path, token: str | None) -> OwnerLock | None:
        """Lock a dead owner's file (so two recoverers do not race); None while the owner lives.

        A missing lock file (owner closed cleanly, or legacy rows with no owner) counts as dead.
        """
        if token is None:
            return cls(directory, "", None)
        path = directory / f"{token}.lock"
        try:
            handle = open(path, "r+b")  # noqa: SIM115 - closed by release()
        except FileNotFoundError:
            return cls(directory, token, None)
        if not _try_lock(handle):
            handle.close()
            return None
        return cls(directory, token, handle)

    def release(self, *, remove: bool = True) -> None:
        """Drop the lock (and delete the file, so nothing piles up in the directory)."""
        handle, self._handle = self._handle, None
        if handle is None:
            return
        if sys.platform == "win32":  # pragma: no cover - Windows cannot unlink an open file
            handle.close()
        if remove and self.token:
            with contextlib.suppress(OSError):
                os.unlink(socket_path(self.directory, self.token))  # a dead owner's socket stays behind
            with contextlib.suppress(OSError):
                os.unlink(self.directory / f"{self.token}.lock")
        if sys.platform != "win32":  # unlink first: nobody can lock the name in between
            handle.close()
