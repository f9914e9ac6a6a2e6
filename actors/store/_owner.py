"""Which process owns a run, and whether that process is still alive.

Each open store holds an exclusive OS lock on its own lock file (``<db>-owners/<token>.lock``).
The kernel drops the lock when the process dies, SIGKILL included, so "can I take the lock?"
answers "is the owner dead?" with no pid reuse or clock problems. ``recover()`` only closes
runs whose owner is dead: a second process on the same file never fails live runs.
"""

from __future__ import annotations

import contextlib
import os
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import IO

__all__ = ["OwnerLock", "opening_lock", "owners_dir"]


def owners_dir(db_path: Path) -> Path:
    """The directory of lock files next to the database file."""
    return db_path.with_name(db_path.name + "-owners")


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
                os.unlink(self.directory / f"{self.token}.lock")
        if sys.platform != "win32":  # unlink first: nobody can lock the name in between
            handle.close()
