"""Allowed roots: every filesystem path a client names is resolved and must stay inside one of them.

A remote MCP client must not make the server read or write outside the folders its operator
chose. Paths are resolved with ``realpath`` (so ``..`` and symlinks are followed first) and then
checked, which refuses ``../../etc``, a symlink that points out of a root, and absolute paths
elsewhere alike. Nothing here imports mcp.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from pathlib import Path

from runwire.actors import RunwireError

__all__ = ["PathError", "Roots", "is_remote_url"]

# Remote git sources are not paths; ``file://`` URLs are, and are confined like any path.
_REMOTE = re.compile(r"^(?:(?:https?|git|ssh|git\+ssh|ssh\+git)://|[\w.+-]+@[\w.-]+:(?!//))", re.IGNORECASE)
_FILE_URL = re.compile(r"^file://", re.IGNORECASE)
_MAX_PATH = 4096


class PathError(RunwireError, ValueError):
    """A client-supplied path is malformed or outside the allowed roots."""


def is_remote_url(source: str) -> bool:
    """True for git URLs that reach another machine (http(s), git, ssh, scp-like ``user@host:path``)."""
    return bool(_REMOTE.match(source))


class Roots:
    """The folders clients may name; the first one is where relative paths start."""

    def __init__(self, roots: Iterable[str | os.PathLike[str]]) -> None:
        resolved: list[Path] = []
        for root in roots:
            real = Path(os.path.realpath(os.fspath(root)))
            if not real.is_dir():
                raise PathError(f"allowed root {os.fspath(root)!r} is not a directory")
            if real not in resolved:
                resolved.append(real)
        if not resolved:
            raise PathError("at least one allowed root is needed")
        self.paths: tuple[Path, ...] = tuple(resolved)

    @property
    def primary(self) -> Path:
        return self.paths[0]

    def __repr__(self) -> str:
        return f"Roots({', '.join(str(p) for p in self.paths)})"

    def confine(self, raw: str, *, what: str = "path") -> Path:
        """The real absolute path for ``raw`` (relative to the primary root); PathError if it escapes."""
        if not isinstance(raw, str) or not raw:
            raise PathError(f"{what} must be a non-empty string")
        if len(raw) > _MAX_PATH or "\x00" in raw:
            raise PathError(f"{what} is not a valid path")
        candidate = Path(raw)
        if not candidate.is_absolute():
            candidate = self.primary / candidate
        real = Path(os.path.realpath(candidate))
        if not any(real == root or real.is_relative_to(root) for root in self.paths):
            shown = raw if len(raw) <= 200 else raw[:200] + "..."
            raise PathError(
                f"{what} {shown!r} resolves outside the allowed roots "
                f"({', '.join(str(p) for p in self.paths)}); start the server with --root to allow it"
            )
        return real

    def confine_source(self, source: str) -> str:
        """A repository source: remote git URLs pass as they are, ``file://`` URLs and paths are confined."""
        if not isinstance(source, str) or not source:
            raise PathError("source must be a non-empty string: a directory or a git URL")
        if is_remote_url(source):
            hostile = "@-" in source or "://-" in source  # an option smuggled in as a user or host name
            if hostile or len(source) > _MAX_PATH or any(ch.isspace() or ch == "\x00" for ch in source):
                raise PathError("source is not a valid git URL")
            return source
        if _FILE_URL.match(source):
            return str(self.confine(source[len("file://") :], what="source"))
        return str(self.confine(source, what="source"))
