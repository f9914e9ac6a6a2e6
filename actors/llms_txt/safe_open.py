"""Open a path under the root once, and check the descriptor, not the name.

A name checked while walking can be re-pointed (a symlink swapped for one to ``/etc/passwd``, a
directory for a link out of the tree) before it is opened: a check-then-use race. So the checks
are made on what was opened: its real path (``/proc/self/fd`` on Linux, ``F_GETPATH`` on macOS)
must lie inside the root, and a file must be a regular file. ``O_NONBLOCK`` keeps a FIFO swapped
in from blocking the open; where the descriptor's path cannot be read, no link is followed at all
(``O_NOFOLLOW``). The bytes read from that descriptor are the only ones used.
"""

from __future__ import annotations

import errno
import os
import stat
import sys

from .textio import SkipFile

__all__ = ["VERIFIABLE", "fd_real_path", "inside", "open_dir_inside", "read_bytes_inside"]

_O_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_O_NONBLOCK = getattr(os, "O_NONBLOCK", 0)
_O_DIRECTORY = getattr(os, "O_DIRECTORY", 0)
_O_BINARY = getattr(os, "O_BINARY", 0)


def fd_real_path(fd: int) -> str | None:
    """The real path of an open descriptor (no symlinks in it), or None where the OS cannot say."""
    if sys.platform.startswith("linux"):
        try:
            return os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            return None
    if sys.platform == "darwin":
        import fcntl

        try:
            raw = fcntl.fcntl(fd, fcntl.F_GETPATH, bytes(1024))
        except OSError:
            return None
        return os.fsdecode(raw.split(b"\0", 1)[0])
    return None


def _probe() -> bool:
    try:
        fd = os.open(os.curdir, os.O_RDONLY | _O_DIRECTORY)
    except OSError:
        return False
    try:
        return fd_real_path(fd) is not None
    finally:
        os.close(fd)


VERIFIABLE: bool = _probe()  # False: links are never followed, since where they lead cannot be checked


def inside(real: str, root: str) -> bool:
    """True when ``real`` is ``root`` or below it (both real, absolute paths)."""
    return real == root or real.startswith(root.rstrip(os.sep) + os.sep)


def _open_checked(root: str, path: str, flags: int, *, follow: bool) -> int:
    """A descriptor for ``path`` whose real path is inside ``root``; SkipFile('symlink') otherwise."""
    nofollow = 0 if (follow and VERIFIABLE) else _O_NOFOLLOW
    try:
        fd = os.open(path, flags | nofollow | _O_NONBLOCK | _O_BINARY)
    except OSError as exc:
        # ELOOP (ENOTDIR with O_DIRECTORY): a link where none may be followed, or a link loop: counted as links
        link = exc.errno == errno.ELOOP or os.path.islink(path)
        raise SkipFile("symlink" if link else "unreadable") from exc
    if VERIFIABLE:
        real = fd_real_path(fd)
        if real is None or not inside(real, root):
            os.close(fd)
            raise SkipFile("symlink")
    return fd


def open_dir_inside(root: str, path: str) -> int:
    """A directory descriptor for ``path`` (a link is never followed) checked to be inside ``root``."""
    return _open_checked(root, path, os.O_RDONLY | _O_DIRECTORY, follow=False)


def read_bytes_inside(root: str, path: str, max_bytes: int, *, follow: bool = True) -> bytes:
    """Up to ``max_bytes`` of a regular file inside ``root``, read from one descriptor.

    ``follow`` lets a symlink be followed as long as it ends inside the root. Raises
    :class:`SkipFile`: ``symlink`` (leads out of the root, or loops), ``special`` (not a regular
    file), ``oversized``, ``unreadable``.
    """
    fd = _open_checked(root, path, os.O_RDONLY, follow=follow)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise SkipFile("special")
        if info.st_size > max_bytes:
            raise SkipFile("oversized")
        chunks: list[bytes] = []
        remaining = max_bytes + 1
        want = min(remaining, info.st_size + 1)  # one read for a file that does not grow meanwhile
        while remaining > 0:
            chunk = os.read(fd, min(remaining, want))
            if not chunk:
                break
            chunks.append(chunk)
            remaining -= len(chunk)
    except OSError as exc:
        raise SkipFile("unreadable") from exc
    finally:
        os.close(fd)
    data = b"".join(chunks)
    if len(data) > max_bytes:
        raise SkipFile("oversized")
    return data
