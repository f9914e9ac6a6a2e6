"""Walk the tree and list the files worth reading, without opening any of them.

Ignored directories are pruned (never entered: a ``node_modules`` costs one check), and files are
skipped by name (ignore rules, binary extensions) or by size (from the directory entry's stat)
before any read. Every skip is counted by reason; the candidates come back sorted by path so the
output never depends on directory order. Each directory is opened without following a link and
checked to be inside the root before it is listed (a directory swapped for a link mid-walk is
not entered), symlink loops are counted as symlinks, and the cancel check runs for every entry.
Virtual environments, installed packages and vendored or build folders are skipped unless
``vendored`` is set.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from .ignore import VCS_DIRS, IgnoreRules
from .safe_open import open_dir_inside
from .textio import SkipFile, is_binary_name

__all__ = ["VENDORED_DIRS", "VENDORED_MARKERS", "Candidate", "WalkResult", "path_key", "walk_tree"]

# Folders of other people's code or of build output, by name at any depth ...
VENDORED_DIRS: frozenset[str] = frozenset(
    {"site-packages", "dist-packages", "node_modules", "bower_components", "jspm_packages", "vendor", "_vendor"}
    | {"third_party", "third-party", "thirdparty", "3rdparty", "external", "build", "dist", "_build", "out"}
)
# ... and by what they hold: a virtualenv (pyvenv.cfg), a conda env, a cache/build dir (CACHEDIR.TAG, Rust target/).
VENDORED_MARKERS: frozenset[str] = frozenset({"pyvenv.cfg", "conda-meta", "CACHEDIR.TAG", ".rustc_info.json"})


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


def _symlink_target(path: str, root: Path) -> os.stat_result | None:
    """The stat of a symlinked regular file whose target is inside the root; None otherwise (loops too).

    Only a pre-check: the read checks again on the descriptor it reads from (safe_open).
    """
    try:
        target = Path(path).resolve(strict=True)
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
    vendored: bool = False,
) -> WalkResult:
    """Candidates under ``root`` (assumed resolved); ``skip`` holds paths to leave out (our own outputs).

    ``vendored`` walks virtual environments, installed packages, vendored and build folders too.
    """
    result = WalkResult()
    real_root = str(root)
    stack: list[tuple[str, str, IgnoreRules]] = [(real_root, "", rules)]
    while stack:
        check_cancelled()
        directory, rel_dir, dir_rules = stack.pop()
        try:
            fd = open_dir_inside(real_root, directory)
        except SkipFile as exc:
            result.skipped_dirs["symlink" if exc.reason == "symlink" else "unreadable"] += 1
            continue
        try:
            with os.scandir(fd) as it:
                entries = list(it)
            if rel_dir and not vendored and any(entry.name in VENDORED_MARKERS for entry in entries):
                result.skipped_dirs["vendored"] += 1
                continue
            for entry in entries:
                check_cancelled()
                _visit(entry, directory, rel_dir, dir_rules, root, skip, max_file_bytes, vendored, stack, result)
        except OSError:
            result.skipped_dirs["unreadable"] += 1
        finally:
            os.close(fd)
    result.candidates.sort(key=lambda c: path_key(c.rel))
    return result


def _visit(
    entry: os.DirEntry[str],
    directory: str,
    rel_dir: str,
    rules: IgnoreRules,
    root: Path,
    skip: frozenset[str],
    max_file_bytes: int,
    vendored: bool,
    stack: list[tuple[str, str, IgnoreRules]],
    result: WalkResult,
) -> None:
    """Push a directory to walk, or count a file as a candidate or a skip."""
    name = entry.name
    rel = f"{rel_dir}/{name}" if rel_dir else name
    path = os.path.join(directory, name)
    try:
        rel.encode("utf-8")
        is_link = entry.is_symlink()
        is_dir = not is_link and entry.is_dir(follow_symlinks=False)
    except (UnicodeEncodeError, OSError):
        result.seen_files += 1
        result.skipped_files["bad_name"] += 1
        return
    if is_dir:
        reason: str | None = "vcs" if name in VCS_DIRS else rules.check(rel, True)
        if not reason and not vendored and name in VENDORED_DIRS:
            reason = "vendored"
        if reason:
            result.skipped_dirs[reason] += 1
        else:
            stack.append((path, rel, rules.descend(Path(path), rel)))
        return
    if is_link:
        try:
            to_dir = entry.is_dir(follow_symlinks=True)
        except OSError:  # a loop (ELOOP) or a target that vanished: a link we cannot follow
            result.seen_files += 1
            result.skipped_files["symlink"] += 1
            return
        if to_dir:
            result.skipped_dirs["symlink"] += 1
            return
    result.seen_files += 1
    reason = _file_skip_reason(entry, path, rel, is_link, root, rules, skip, max_file_bytes, result)
    if reason:
        result.skipped_files[reason] += 1


def _file_skip_reason(
    entry: os.DirEntry[str],
    path: str,
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
        info = _symlink_target(path, root) if is_link else entry.stat(follow_symlinks=False)
        if info is None:
            return "symlink"
        if not entry.is_file(follow_symlinks=True):
            return "special"
    except OSError:
        return "unreadable"
    if info.st_size > max_file_bytes:
        return "oversized"
    if info.st_size == 0:
        return "empty"
    result.candidates.append(Candidate(rel, path, info.st_size))
    return None
