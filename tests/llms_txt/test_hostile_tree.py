"""The main job cannot be frozen or tricked by the tree it reads (issue 13, items 12-14).

Hostile ignore patterns, symlink loops, links re-pointed between the scan and the read, FIFOs
where a file should be: each test builds the tree for real and drives the public functions.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pathspec import GitIgnoreSpec

from runwire.actors import RunContext, RunSystem
from runwire.actors.llms_txt import (
    LLMS_FULL_TXT,
    LLMS_TXT,
    ExtractiveDescriber,
    FileDescription,
    LlmsTxtError,
    Options,
    generate,
)
from runwire.actors.llms_txt.analyze import analyze
from runwire.actors.llms_txt.ignore import IgnoreRules
from runwire.actors.llms_txt.scan import walk_tree
from runwire.actors.llms_txt.spool import TextSpool

from .conftest import Cancelled, Recorder, write_tree

HOSTILE = "*a*a*a*a*a*a*a*a*a*a*a*a*b"
OUTSIDE_TEXT = "root:x:0:0:OUTSIDE-THE-ROOT:/root:/bin/sh\n"


def _rules(root: Path) -> IgnoreRules:
    return IgnoreRules.for_root(root, ())


@pytest.mark.timeout(30)
def test_ignore_matching_is_linear_time_whatever_the_pattern(tmp_path: Path) -> None:
    long_name = "a" * 5000  # Python's re needs minutes for 30 characters of this against HOSTILE
    rules = IgnoreRules.build([HOSTILE]).push("", [HOSTILE, f"!{HOSTILE}x"])
    started = time.perf_counter()
    for _ in range(100):
        assert rules.check(long_name, False) is None
        assert rules.check(f"dir/{long_name}", True) is None
    assert rules.check("a" * 40 + "b", False) == "excluded"
    assert time.perf_counter() - started < 5.0


@pytest.mark.timeout(60)
def test_hostile_gitignore_and_long_names_still_generate(tmp_path: Path) -> None:
    root = write_tree(tmp_path / "repo", {".gitignore": f"{HOSTILE}\n", "README.md": "# Hostile\n\nA tree.\n"})
    for i in range(20):
        (root / ("a" * 200 + str(i))).write_text("text\n")
    result = generate(Options(source=str(root), out=str(tmp_path / "out")))
    assert result["files"]["included"] == 21  # type: ignore[index]


def test_walk_checks_for_cancel_at_every_entry(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    for i in range(300):
        (root / f"f{i}.txt").write_text("x\n")
    recorder = Recorder(cancel_after=5)
    with pytest.raises(Cancelled):
        walk_tree(root.resolve(), _rules(root), max_file_bytes=4096, check_cancelled=recorder.check_cancelled)
    assert recorder.checks == 6  # one directory, yet the walk stopped at its sixth entry


@st.composite
def _gitignore_lines(draw: st.DrawFn) -> list[str]:
    piece = st.sampled_from(["a", "b", "ab", "*", "?", "[ab]", "**", ".", "a*"])
    lines = []
    for _ in range(draw(st.integers(1, 4))):
        parts = draw(st.lists(piece, min_size=1, max_size=4))
        line = "/".join(parts)
        if draw(st.booleans()):
            line = "/" + line
        if draw(st.booleans()):
            line += "/"
        lines.append(line)  # no "!": pathspec's backends differ on negations (see the test after next)
    return lines


_paths = st.lists(st.sampled_from(["a", "b", "ab", "ba", "aab", ".a", "a.b"]), min_size=1, max_size=4).map("/".join)


@settings(max_examples=500, deadline=None)
@given(lines=_gitignore_lines(), rel=_paths)
def test_linear_matcher_agrees_with_pathspec_on_ordinary_patterns(lines: list[str], rel: str) -> None:
    reference = GitIgnoreSpec.from_lines(lines, backend="simple")  # pathspec's own re-based matcher
    expected = "gitignored" if reference.check_file(rel).include else None
    ours = IgnoreRules.build((), defaults=False).push("", lines)
    assert ours.check(rel, False) == expected


def test_linear_matcher_follows_git_where_pathspecs_backends_differ(tmp_path: Path) -> None:
    # `git check-ignore` says a/ is ignored (the last matching line wins); pathspec's "simple" backend says not
    ours = IgnoreRules.build((), defaults=False).push("", ["!*", "a"])
    assert ours.check("a", True) == "gitignored"
    assert GitIgnoreSpec.from_lines(["!*", "a"], backend="simple").check_file("a/").include is False
    # and a nested negation still re-includes a file, as git does
    nested = IgnoreRules.build((), defaults=False).push("", ["*.log"]).push("pkg", ["!keep.log"])
    assert nested.check("pkg/keep.log", False) is None
    assert nested.check("pkg/other.log", False) == "gitignored"


def test_symlink_loops_are_skipped_and_counted(tmp_path: Path) -> None:
    root = write_tree(tmp_path / "repo", {"README.md": "# Loops\n\nLinks that loop.\n"})
    os.symlink("self", root / "self")
    os.symlink("b", root / "a")
    os.symlink("a", root / "b")
    walk = walk_tree(root.resolve(), _rules(root), max_file_bytes=4096)
    assert [c.rel for c in walk.candidates] == ["README.md"]
    assert walk.skipped_files["symlink"] == 3
    result = generate(Options(source=str(root), out=str(tmp_path / "out")))
    assert result["files"]["skipped"] == {"symlink": 3}  # type: ignore[index]


def _tree_with_inner_link(tmp_path: Path) -> tuple[Path, Path]:
    root = write_tree(tmp_path / "repo", {"README.md": "# Linked\n\nA tree.\n", "real.md": "# Real\n\nInside.\n"})
    os.symlink("real.md", root / "doc.md")
    outside = tmp_path / "passwd"
    outside.write_text(OUTSIDE_TEXT)
    return root, outside


def _repoint(link: Path, target: Path) -> None:
    tmp = link.with_name(link.name + ".new")
    os.symlink(target, tmp)
    os.replace(tmp, link)  # atomic, as an attacker would do it


def test_link_repointed_out_of_the_root_between_scan_and_read_is_not_read(tmp_path: Path) -> None:
    root, outside = _tree_with_inner_link(tmp_path)
    walk = walk_tree(root.resolve(), _rules(root), max_file_bytes=4096)
    assert "doc.md" in [c.rel for c in walk.candidates]  # inside the root when scanned
    _repoint(root / "doc.md", outside)
    with TextSpool() as texts:
        analysis = analyze(
            walk.candidates, ExtractiveDescriber(), max_file_bytes=4096, root=str(root.resolve()), texts=texts
        )
        assert "doc.md" not in [info.rel for info in analysis.files]
        assert analysis.skipped_files["symlink"] == 1
        assert all("OUTSIDE-THE-ROOT" not in texts.get(info.rel) for info in analysis.files)


class _SwapAfterRead(ExtractiveDescriber):
    """Re-points doc.md out of the root right after it was read and described: a check-then-use attacker."""

    def __init__(self, link: Path, target: Path) -> None:
        super().__init__()
        self.link = link
        self.target = target

    def describe(self, rel: str, text: str) -> FileDescription:
        if rel == "doc.md":
            _repoint(self.link, self.target)
        return super().describe(rel, text)


def test_each_file_is_read_once_so_a_later_swap_cannot_reach_llms_full_txt(tmp_path: Path) -> None:
    root, outside = _tree_with_inner_link(tmp_path)
    out = tmp_path / "out"
    generate(Options(source=str(root), out=str(out)), describer=_SwapAfterRead(root / "doc.md", outside))
    full = (out / LLMS_FULL_TXT).read_text()
    assert "OUTSIDE-THE-ROOT" not in full
    assert "File: doc.md" in full and "Inside." in full.split("File: doc.md", 1)[1]  # the text that was described
    assert "OUTSIDE-THE-ROOT" not in (out / LLMS_TXT).read_text()


def test_directory_repointed_out_of_the_root_is_not_entered(tmp_path: Path) -> None:
    root = write_tree(tmp_path / "repo", {"README.md": "# Dirs\n\nA tree.\n", "sub/inner.md": "# Inner\n"})
    elsewhere = write_tree(tmp_path / "elsewhere", {"leak.md": "# Leak\n\nOUTSIDE-THE-ROOT\n"})
    recorder = Recorder()

    def swap_on_first_check() -> None:
        recorder.check_cancelled()
        if recorder.checks == 2:  # the root is listed (sub/ is a directory in it), sub/ not yet opened
            (root / "sub" / "inner.md").unlink()
            (root / "sub").rmdir()
            os.symlink(elsewhere, root / "sub")

    walk = walk_tree(root.resolve(), _rules(root), max_file_bytes=4096, check_cancelled=swap_on_first_check)
    assert [c.rel for c in walk.candidates] == ["README.md"]
    assert walk.skipped_dirs["symlink"] == 1


@pytest.mark.timeout(30)
def test_a_fifo_in_the_tree_never_blocks_the_run(tmp_path: Path) -> None:
    root = write_tree(tmp_path / "repo", {"README.md": "# Fifo\n\nA tree.\n", "sub/a.md": "# A\n"})
    os.mkfifo(root / ".gitignore")
    os.mkfifo(root / "sub" / ".gitignore")
    os.mkfifo(root / "pipe.md")
    result = generate(Options(source=str(root), out=str(tmp_path / "out")))
    assert result["files"]["included"] == 2  # type: ignore[index]


class _HoldAtCheck:
    """The real run context, held at its ``at``-th cancel check (mid-walk) until the test lets it go."""

    def __init__(self, at: int) -> None:
        self.ctx: RunContext | None = None
        self._at = at
        self.checks = 0
        self.reached = threading.Event()
        self.release = threading.Event()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.ctx, name)

    def check_cancelled(self) -> None:
        self.checks += 1
        if self.checks == self._at:
            self.reached.set()
            self.release.wait(30)
        assert self.ctx is not None
        self.ctx.check_cancelled()


@pytest.mark.timeout(60)
def test_a_run_over_a_hostile_tree_is_cancelled_within_a_bounded_time(system: RunSystem, tmp_path: Path) -> None:
    patterns = "".join(f"{HOSTILE}{i}\n" for i in range(200))  # each one alone would take minutes under `re`
    root = write_tree(tmp_path / "repo", {".gitignore": patterns, "README.md": "# Hostile\n\nA tree.\n"})
    for i in range(50):
        (root / ("a" * 200 + str(i))).write_text("text\n")
    out = tmp_path / "out"
    hold = _HoldAtCheck(at=10)
    finished = threading.Event()

    def pipeline(ctx: RunContext) -> Any:
        hold.ctx = ctx
        try:
            return generate(Options(source=str(root), out=str(out)), reporter=hold)
        finally:
            finished.set()

    handle = system.start(pipeline, {}, name="llms_txt")
    assert hold.reached.wait(30)  # mid-walk, among the hostile names
    terminal = handle.cancel("test")
    assert terminal.type == "run.cancelled"
    released = time.perf_counter()
    hold.release.set()
    assert finished.wait(5), "the pipeline went on after the cancel"
    assert time.perf_counter() - released < 5
    assert not out.exists()


def test_a_gitignore_line_that_does_not_compile_is_dropped_not_fatal(tmp_path: Path) -> None:
    bad = ["foo\\", "!", "[b-a]", "*a" * 3000 + "b"]  # pathspec or RE2 refuse each one
    root = write_tree(
        tmp_path / "repo", {".gitignore": "\n".join([*bad, "*.log"]) + "\n", "README.md": "# R\n\nR.\n", "x.log": "x"}
    )
    walk = walk_tree(root.resolve(), _rules(root), max_file_bytes=4096)
    assert [c.rel for c in walk.candidates] == ["README.md"]  # the good line still applies
    assert walk.skipped_files["gitignored"] == 1


def test_an_exclude_that_does_not_compile_is_refused_before_any_work(tmp_path: Path) -> None:
    root = write_tree(tmp_path / "repo", {"README.md": "# R\n\nR.\n"})
    with pytest.raises(LlmsTxtError, match="exclude pattern is not a valid gitignore pattern: 'foo\\\\\\\\'"):
        generate(Options(source=str(root), out=str(tmp_path / "out"), exclude=("foo\\",)))
    assert not (tmp_path / "out").exists()
