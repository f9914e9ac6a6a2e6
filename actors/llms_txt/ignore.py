"""Which paths to leave out, decided the way git does, plus the user's ``--exclude`` and sane defaults.

Rules are a stack of ``.gitignore`` specs (root first, nested ones pushed while walking); the
deepest spec with a decisive match wins, as in git, so a nested ``!pattern`` can re-include what a
parent ignored. The user's excludes win over everything; the built-in defaults (caches, virtualenvs,
lock files) lose to everything, so a repository can opt back in with a negation.

Matching runs on RE2 (pathspec's ``re2`` backend), whose time is linear in the path whatever the
pattern: a line like ``*a*a*a*a*a*a*a*a*a*a*a*a*b`` makes Python's backtracking ``re`` take
minutes on a 30-character name and cannot be interrupted; RE2 answers in microseconds. Ignore
files are read like any other file: no FIFO, no link, at most :data:`MAX_IGNORE_BYTES`.
"""

from __future__ import annotations

import fnmatch
import os
import re
import stat
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Literal, TypeAlias

from pathspec import GitIgnoreSpec

from .textio import words

__all__ = [
    "DEFAULT_EXCLUDED_DIRS",
    "DEFAULT_EXCLUDED_FILES",
    "DEFAULT_EXCLUDES",
    "VCS_DIRS",
    "IgnoreReason",
    "MAX_IGNORE_BYTES",
    "MAX_PATTERN_CHARS",
    "MATCH_BACKEND",
    "IgnoreRules",
    "pattern_compiles",
    "read_ignore_file",
]

MATCH_BACKEND = "re2"  # linear-time matching; pathspec's default "simple" backend is Python's backtracking re
MAX_IGNORE_BYTES = 1 << 20
MAX_PATTERN_CHARS = 4096  # git's own limit on a pattern is PATH_MAX

IgnoreReason: TypeAlias = Literal["excluded", "gitignored", "default_ignored"]

VCS_DIRS: frozenset[str] = frozenset({".git", ".hg", ".svn", ".bzr", "_darcs", ".jj"})

# Built-in excludes, matched on the file or directory name at any depth (like a slash-free gitignore line).
# Caches, environments and dependency folders are generated, never documentation; lock files and minified
# bundles are large and machine-written; git's own metadata files say nothing about the project.
DEFAULT_EXCLUDED_DIRS: tuple[str, ...] = tuple(
    sorted(
        words("""
        __pycache__ .mypy_cache .ruff_cache .pytest_cache .hypothesis .ipynb_checkpoints .tox .nox .venv venv
        .eggs *.egg-info node_modules bower_components .gradle .idea .vscode
        """)
    )
)
DEFAULT_EXCLUDED_FILES: tuple[str, ...] = tuple(
    sorted(
        words("""
        .gitignore .gitattributes .gitmodules .git-blame-ignore-revs
        *.py[cod] .DS_Store Thumbs.db package-lock.json npm-shrinkwrap.json yarn.lock pnpm-lock.yaml bun.lock
        poetry.lock uv.lock Pipfile.lock pdm.lock Cargo.lock composer.lock Gemfile.lock go.sum *.min.js *.min.css *.map
        """)
    )
)
DEFAULT_EXCLUDES: tuple[str, ...] = (*(f"{name}/" for name in DEFAULT_EXCLUDED_DIRS), *DEFAULT_EXCLUDED_FILES)


def _name_regex(globs: Iterable[str]) -> re.Pattern[str]:
    """One regex for several name globs: one match call per path instead of one per pattern."""
    return re.compile("|".join(fnmatch.translate(glob) for glob in globs))


_DEFAULT_DIR_RE = _name_regex(DEFAULT_EXCLUDED_DIRS)
_DEFAULT_FILE_RE = _name_regex(DEFAULT_EXCLUDED_FILES)


def read_ignore_file(path: Path) -> list[str] | None:
    """The lines of an ignore file, or None when it does not exist, cannot be read, or is not a plain file.

    A symlinked ignore file is not followed (as git >= 2.32), and a FIFO named ``.gitignore``
    cannot block the walk (opened non-blocking, then refused as not a regular file).
    """
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(path, flags)
    except OSError:
        return None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_IGNORE_BYTES:
            return None
        data = os.read(fd, MAX_IGNORE_BYTES)
    except OSError:
        return None
    finally:
        os.close(fd)
    return data.decode("utf-8", errors="replace").splitlines()


def pattern_compiles(line: str) -> bool:
    """True when ``line`` is a gitignore pattern the matcher accepts (bad ``--exclude`` values are refused)."""
    try:
        GitIgnoreSpec.from_lines([line], backend=MATCH_BACKEND)
    except Exception:  # pathspec's GitIgnorePatternError, or an RE2 error for what it cannot express
        return False
    return True


def _spec(lines: Iterable[str]) -> GitIgnoreSpec | None:
    """The spec of ``lines``; a line that does not compile is dropped (git ignores it too), never fatal."""
    kept = [line for line in lines if line.strip() and len(line) <= MAX_PATTERN_CHARS]
    try:
        spec = GitIgnoreSpec.from_lines(kept, backend=MATCH_BACKEND)
    except Exception:
        kept = [line for line in kept if pattern_compiles(line)]
        try:
            spec = GitIgnoreSpec.from_lines(kept, backend=MATCH_BACKEND)
        except Exception:  # every line compiles alone, but not all together (RE2's memory budget)
            return None
    return spec if len(spec) else None


class IgnoreRules:
    """An immutable stack of ignore specs; :meth:`descend` returns the rules for a subdirectory."""

    __slots__ = ("_defaults", "_exclude", "_stack")

    def __init__(
        self,
        exclude: GitIgnoreSpec | None = None,
        defaults: bool = True,
        stack: tuple[tuple[str, GitIgnoreSpec], ...] = (),
    ) -> None:
        self._exclude = exclude
        self._defaults = defaults
        self._stack = stack

    @classmethod
    def build(cls, exclude: Sequence[str] = (), *, defaults: bool = True) -> IgnoreRules:
        """Rules with the user's excludes and (unless ``defaults`` is False) the built-in ones."""
        return cls(_spec(exclude), defaults)

    @classmethod
    def for_root(cls, root: Path, exclude: Sequence[str] = (), *, defaults: bool = True) -> IgnoreRules:
        """Rules at the repository root: ``.git/info/exclude`` then the root ``.gitignore``."""
        rules = cls.build(exclude, defaults=defaults)
        info = read_ignore_file(root / ".git" / "info" / "exclude")
        if info:
            rules = rules.push("", info)
        return rules.descend(root, "")

    def push(self, rel_dir: str, lines: Iterable[str]) -> IgnoreRules:
        """Rules with one more spec whose patterns are relative to ``rel_dir`` ('' = root)."""
        spec = _spec(lines)
        if spec is None:
            return self
        base = f"{rel_dir}/" if rel_dir else ""
        return IgnoreRules(self._exclude, self._defaults, (*self._stack, (base, spec)))

    def descend(self, directory: Path, rel_dir: str) -> IgnoreRules:
        """Rules inside ``directory`` (at ``rel_dir``): these plus its ``.gitignore``, if any."""
        lines = read_ignore_file(directory / ".gitignore")
        return self.push(rel_dir, lines) if lines else self

    def check(self, rel: str, is_dir: bool) -> IgnoreReason | None:
        """Why ``rel`` (a path from the root, '/'-separated) is left out, or None to keep it."""
        path = f"{rel}/" if is_dir else rel
        if self._exclude is not None and self._exclude.match_file(path):
            return "excluded"
        for base, spec in reversed(self._stack):
            verdict = spec.check_file(path[len(base) :]).include
            if verdict is not None:
                return "gitignored" if verdict else None
        if self._defaults and (_DEFAULT_DIR_RE if is_dir else _DEFAULT_FILE_RE).match(rel.rsplit("/", 1)[-1]):
            return "default_ignored"
        return None
