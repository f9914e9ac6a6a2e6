"""Walk the tree and list the files worth reading, without opening any of them.

Ignored directories are pruned (never entered: a ``node_modules`` costs one check), and files are
skipped by name (ignore rules, binary extensions) or by size (from the directory entry's stat)
before any read. Every skip is counted by reason; the candidates come back sorted by path so the
output never depends on directory order.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from .ignore import VCS_DIRS, IgnoreRules
from .textio import is_binary_name

__all__ = ["Candidate", "WalkResult", "path_key", "walk_tree"]


@dataclass(frozen=True, slots=True)
class Candidate:
    """A file that passed every name/size check: ``rel`` is its '/'-separated path from the root."""

    rel: str
    path: str
    size: int


@dataclass(slots=True)
class WalkResult:
    """Candidates (sorted) and what was left out; files inside pruned directories are not counted."""

    candidates: list[Candidate] = field(default_factory=list)
    seen_files: int = 0
    skipped_files: Counter[str] = field(default_factory=Counter)
    skipped_dirs: Counter[str] = field(default_factory=Counter)


def path_key(rel: str) -> list[str]:
    """Sort key: component by component, so 'a/b' sorts with 'a' and before 'a.py'... deterministically."""
    return rel.split("/")


def _no_check() -> None:
    return None


def _symlink_target(entry: os.DirEntry[str], root: Path) -> os.stat_result | None:
    """The stat of a symlinked regular file whose target is inside the root; None otherwise."""
    try:
        target = Path(entry.path).resolve(strict=True)
        target.relative_to(root)
        info = target.stat()
    except (OSError, ValueError, RuntimeError):
        return None
    return info if target.is_file() else None


def walk_tree(
    root: Path,
    rules: IgnoreRules,
    *,
    max_file_bytes: int,
    skip: frozenset[str] = frozenset(),
    check_cancelled: Callable[[], None] = _no_check,
) -> WalkResult:
    """Candidates under ``root`` (assumed resolved); ``skip`` holds paths to leave out (our own outputs)."""
    result = WalkResult()
    stack: list[tuple[str, str, IgnoreRules]] = [(str(root), "", rules)]
    while stack:
        check_cancelled()
        directory, rel_dir, dir_rules = stack.pop()
        try:
            with os.scandir(directory) as it:
                entries = list(it)
        except OSError:
            result.skipped_dirs["unreadable"] += 1
            continue
        for entry in entries:
            name = entry.name
            rel = f"{rel_dir}/{name}" if rel_dir else name
            try:
                rel.encode("utf-8")
                is_link = entry.is_symlink()
                is_dir = not is_link and entry.is_dir(follow_symlinks=False)
            except (UnicodeEncodeError, OSError):
                result.seen_files += 1
                result.skipped_files["bad_name"] += 1
                continue
            if is_dir:
                reason: str | None = "vcs" if name in VCS_DIRS else dir_rules.check(rel, True)
                if reason:
                    result.skipped_dirs[reason] += 1
                else:
                    stack.append((entry.path, rel, dir_rules.descend(Path(entry.path), rel)))
                continue
            if is_link and entry.is_dir(follow_symlinks=True):
                result.skipped_dirs["symlink"] += 1
                continue
            result.seen_files += 1
            reason = _file_skip_reason(entry, rel, is_link, root, dir_rules, skip, max_file_bytes, result)
            if reason:
                result.skipped_files[reason] += 1
    result.candidates.sort(key=lambda c: path_key(c.rel))
    return result


def _file_skip_reason(
    entry: os.DirEntry[str],
    rel: str,
    is_link: bool,
    root: Path,
    rules: IgnoreRules,
    skip: frozenset[str],
    max_file_bytes: int,
    result: WalkResult,
) -> str | None:
    """Why this entry is not a candidate, or None after adding it to ``result.candidates``."""
    if entry.name in VCS_DIRS:
        return "vcs"
    reason = rules.check(rel, False)
    if reason:
        return reason
    if rel in skip:
        return "output"
    if is_binary_name(entry.name):
        return "binary"
    try:
        info = _symlink_target(entry, root) if is_link else entry.stat(follow_symlinks=False)
    except OSError:
        return "unreadable"
    if info is None:
        return "symlink"
    if not entry.is_file(follow_symlinks=True):
        return "special"
    if info.st_size > max_file_bytes:
        return "oversized"
    if info.st_size == 0:
        return "empty"
    result.candidates.append(Candidate(rel, entry.path, info.st_size))
    return None
