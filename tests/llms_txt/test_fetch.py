"""Git sources: shallow clones over file:// URLs, commits, clean-up on every exit path, clone errors."""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from llms_txt import parse_llms_file

from runwire.actors.llms_txt import LLMS_TXT, Options, SourceError, generate
from runwire.actors.llms_txt.fetch import FetchedSource, display_source, is_git_url, open_source, run_git

from .conftest import INCLUDED, MAX_BYTES, PROJECT_FILES, Cancelled, Recorder, git, listing, make_repo


@pytest.fixture
def repo(tmp_path: Path) -> tuple[str, str]:
    """(file:// URL, HEAD commit) of a git repository holding PROJECT_FILES."""
    path = tmp_path / "widgetry"
    head = make_repo(path, PROJECT_FILES)
    return path.as_uri(), head


def test_generates_from_a_cloned_url(repo: tuple[str, str], tmp_path: Path) -> None:
    url, head = repo
    clones, out = tmp_path / "clones", tmp_path / "out"
    recorder = Recorder()
    result = generate(Options(source=url, out=str(out), max_file_bytes=MAX_BYTES, tmp_root=str(clones)), recorder)
    assert result["commit"] == head
    fetched = recorder.of("milestone")[0]
    assert fetched == {"name": "repo_fetched", "data": {"source": url, "commit": head, "cloned": True, "files": 23}}
    text = (out / LLMS_TXT).read_text(encoding="utf-8")
    parsed = parse_llms_file(text)
    assert parsed.title == "widgetry"
    assert {link["url"] for links in parsed.sections.values() for link in links} == INCLUDED
    assert f"Source: {url} at commit {head}." in parsed.info
    assert listing(clones) == []


def test_clone_is_removed_when_the_caller_raises(repo: tuple[str, str], tmp_path: Path) -> None:
    clones = tmp_path / "clones"
    seen: list[FetchedSource] = []

    def use_and_fail() -> None:
        with open_source(repo[0], tmp_root=clones) as source:
            seen.append(source)
            assert (source.root / "README.md").is_file()
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        use_and_fail()
    assert seen[0].cloned
    assert seen[0].default_name == "widgetry"
    assert listing(clones) == []


def test_clone_is_removed_when_the_run_is_cancelled(repo: tuple[str, str], tmp_path: Path) -> None:
    clones, out = tmp_path / "clones", tmp_path / "out"
    with pytest.raises(Cancelled):
        generate(Options(source=repo[0], out=str(out), tmp_root=str(clones)), Recorder(cancel_after=2))
    assert listing(clones) == []
    assert not out.exists()


@pytest.mark.skipif(os.name != "posix" or shutil.which("tail") is None, reason="needs a POSIX shell and tail")
def test_cancel_kills_a_running_git_and_its_children() -> None:
    """The cancel hook kills git's process group from the cancelling thread: git is waited on, not polled."""
    registered = threading.Event()
    hooks: list[Callable[[], object]] = []
    cancelled = threading.Event()

    def on_cancel(callback: Callable[[], object]) -> Callable[[], None]:
        hooks.append(callback)
        registered.set()  # git is running: it was started before its kill was registered
        return lambda: None

    def check() -> None:
        if cancelled.is_set():
            raise Cancelled

    def cancel() -> None:
        assert registered.wait(10)
        cancelled.set()
        for hook in hooks:
            hook()

    canceller = threading.Thread(target=cancel)
    canceller.start()
    # `tail -f /dev/null` never exits: the call can only return because the process group was killed
    with pytest.raises(Cancelled):
        run_git(["-c", "alias.block=!tail -f /dev/null", "block"], check, on_cancel=on_cancel)
    canceller.join(10)
    assert len(hooks) == 1


def test_a_run_cancelled_while_git_clones_ends_cancelled_at_once(tmp_path: Path) -> None:
    """Through the runtime: cancelling a run blocked in git kills git via ctx.on_cancel."""
    from runwire.actors import RunContext, RunSystem

    started, left = threading.Event(), threading.Event()

    def pipeline(ctx: RunContext) -> None:
        def hook(callback: Callable[[], object]) -> Callable[[], None]:
            remove = ctx.on_cancel(callback)
            started.set()
            return remove

        try:
            run_git(["-c", "alias.block=!tail -f /dev/null", "block"], ctx.check_cancelled, on_cancel=hook)
        finally:
            left.set()  # git never exits by itself: only the kill lets the worker get here

    with RunSystem() as system:
        handle = system.start(pipeline)
        assert started.wait(10)
        assert handle.cancel("stop", timeout=10).type == "run.cancelled"
        assert left.wait(10)


def test_url_that_does_not_clone(tmp_path: Path) -> None:
    clones, out = tmp_path / "clones", tmp_path / "out"
    url = (tmp_path / "missing.git").as_uri()
    with pytest.raises(SourceError, match=r"^cannot clone file://.*missing\.git: .+") as caught:
        generate(Options(source=url, out=str(out), tmp_root=str(clones)))
    assert "\n" not in str(caught.value)
    assert listing(clones) == []
    assert not out.exists()


def test_empty_repository(tmp_path: Path) -> None:
    bare = tmp_path / "empty.git"
    git(tmp_path, "init", "--quiet", "--bare", str(bare))
    clones, out = tmp_path / "clones", tmp_path / "out"
    with pytest.raises(SourceError, match=r"^no text files to describe in file://.*empty\.git \(no files found\)$"):
        generate(Options(source=bare.as_uri(), out=str(out), tmp_root=str(clones)))
    assert listing(clones) == []
    assert not out.exists()


def test_local_checkout_reports_its_head_but_not_its_path(repo: tuple[str, str], tmp_path: Path) -> None:
    url, head = repo
    local = Path(url.removeprefix("file://"))
    result = generate(Options(source=str(local), out=str(tmp_path / "out"), max_file_bytes=MAX_BYTES))
    assert result["commit"] == head
    assert "Source:" not in (tmp_path / "out" / LLMS_TXT).read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("https://github.com/o/r.git", True),
        ("git@github.com:o/r.git", True),
        ("ssh://git@host/o/r", True),
        ("file:///srv/r.git", True),
        ("git://host/r", True),
        ("./relative/dir", False),
        ("/abs/dir", False),
        ("C:\\\\repo", False),
        ("name.git", False),
    ],
)
def test_is_git_url(source: str, expected: bool) -> None:
    assert is_git_url(source) is expected


def test_credentials_never_shown() -> None:
    assert display_source("https://user:token@host/o/r.git") == "https://host/o/r.git"
    assert display_source("/plain/path") == "/plain/path"
