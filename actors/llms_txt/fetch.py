"""Turn SOURCE (a local directory or a git URL) into a directory on disk.

A URL is cloned shallow with the ``git`` CLI into a fresh temporary directory that is removed on
every exit path (return, exception, cancellation), so a run never leaves a clone behind. A cancel
kills git (and its transport helpers) from the cancelling thread, through the run's ``on_cancel``
hook: the clone is waited on, never polled.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from .errors import SourceError

__all__ = ["FetchedSource", "OnCancel", "display_source", "is_git_url", "open_source", "run_git"]

_URL_RE = re.compile(r"^(?:(?:https?|git|ssh|file|git\+ssh|ssh\+git)://|[\w.+-]+@[\w.-]+:(?!//))", re.IGNORECASE)
_POSIX = os.name == "posix"


@dataclass(frozen=True, slots=True)
class FetchedSource:
    """A source ready to scan: ``root`` exists until the ``open_source`` block ends."""

    root: Path
    source: str  # as the user gave it, credentials redacted
    commit: str | None  # HEAD of the clone (or of a local git checkout), None otherwise
    cloned: bool
    default_name: str  # the directory or repository name, used when no manifest names the project


def is_git_url(source: str) -> bool:
    """True for URLs git clones (http(s), git, ssh, file, scp-like ``user@host:path``)."""
    return bool(_URL_RE.match(source.strip()))


def display_source(source: str) -> str:
    """The source with any ``user:password@`` removed, safe to put in events and errors."""
    if "://" not in source:
        return source
    parts = urlsplit(source)
    if "@" not in parts.netloc:
        return source
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))


def _name_from_url(url: str) -> str:
    path = url.rstrip("/")
    path = urlsplit(path).path.rstrip("/") if "://" in path else path.split(":", 1)[-1]
    name = path.rsplit("/", 1)[-1]
    name = name.removesuffix(".git")
    return name or "repository"


def _git_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update({"GIT_TERMINAL_PROMPT": "0", "GCM_INTERACTIVE": "never", "LC_ALL": "C", "LANG": "C"})
    env.pop("GIT_DIR", None)
    env.pop("GIT_WORK_TREE", None)
    return env


def _first_error_line(stderr: str) -> str:
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    for line in lines:
        if line.lower().startswith(("fatal:", "error:")):
            return line.split(":", 1)[1].strip()
    return lines[-1] if lines else "git failed"


OnCancel = Callable[[Callable[[], object]], Callable[[], None]]
"""Registers a callback run when the run is cancelled; returns its unregistering function."""


def _never_cancelled(callback: Callable[[], object]) -> Callable[[], None]:
    return _no_check


def run_git(
    args: list[str],
    check_cancelled: Callable[[], None],
    cwd: Path | None = None,
    on_cancel: OnCancel = _never_cancelled,
) -> tuple[int, str, str]:
    """Run git to its end; a cancel (``on_cancel``) kills it and its helpers, then ``check_cancelled``
    raises. On any early exit git is killed too.

    git runs in its own process group (POSIX) so that killing it also stops the transport helpers it
    spawned, which would otherwise keep our pipes open.
    """
    check_cancelled()
    try:
        proc = subprocess.Popen(
            ["git", *args],
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=_git_env(),
            text=True,
            encoding="utf-8",
            errors="replace",
            start_new_session=_POSIX,
        )
    except FileNotFoundError as exc:
        raise SourceError("cannot fetch a git URL: the 'git' command is not installed") from exc
    unregister = on_cancel(lambda: _kill_group(proc))
    try:
        out, err = proc.communicate()
    finally:
        unregister()
        if proc.returncode is None:
            _kill_group(proc)
            proc.communicate()
    check_cancelled()  # killed by a cancel: the run stops here, not with a git error
    return proc.returncode, out, err


def _kill_group(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is not None:
        return  # already reaped: its pid (and group id) may belong to someone else by now
    if _POSIX:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
    proc.kill()


def _head_commit(repo: Path, check_cancelled: Callable[[], None], on_cancel: OnCancel) -> str | None:
    code, out, _ = run_git(["rev-parse", "--verify", "--quiet", "HEAD"], check_cancelled, repo, on_cancel)
    commit = out.strip()
    return commit if code == 0 and re.fullmatch(r"[0-9a-f]{40,64}", commit) else None


def _local_commit(root: Path, check_cancelled: Callable[[], None], on_cancel: OnCancel) -> str | None:
    """HEAD of a local checkout, for the record; None when it is not one or git is missing."""
    if not (root / ".git").exists():
        return None
    try:
        return _head_commit(root, check_cancelled, on_cancel)
    except SourceError:
        return None


def _no_check() -> None:
    return None


@contextmanager
def open_source(
    source: str,
    *,
    tmp_root: str | os.PathLike[str] | None = None,
    check_cancelled: Callable[[], None] = _no_check,
    on_cancel: OnCancel = _never_cancelled,
) -> Iterator[FetchedSource]:
    """Yield the source as a directory; a clone lives in a temp dir under ``tmp_root`` until the block ends.

    Raises :class:`SourceError` for a missing path, a path that is not a directory, or a URL that
    does not clone. A local path wins over URL syntax when both could apply.
    """
    if not source or not source.strip():
        raise SourceError("no source given: pass a directory or a git URL")
    shown = display_source(source)
    local = Path(source).expanduser()
    if local.exists() or not is_git_url(source):
        if not local.exists():
            raise SourceError(f"source not found: {shown}")
        if not local.is_dir():
            raise SourceError(f"source is not a directory: {shown}")
        root = local.resolve()
        commit = _local_commit(root, check_cancelled, on_cancel)
        yield FetchedSource(root, shown, commit, cloned=False, default_name=root.name or "repository")
        return
    if tmp_root is not None:
        Path(tmp_root).mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="runwire-llms-txt-", dir=tmp_root))
    try:
        dest = tmp / "repo"
        args = ["clone", "--depth", "1", "--quiet", "--no-tags", "--single-branch", "--", source, str(dest)]
        code, _, err = run_git(args, check_cancelled, None, on_cancel)
        if code != 0:
            raise SourceError(f"cannot clone {shown}: {_first_error_line(err).replace(source, shown)}")
        commit = _head_commit(dest, check_cancelled, on_cancel)
        yield FetchedSource(dest, shown, commit, cloned=True, default_name=_name_from_url(source))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
