"""Walking the tree: gitignore (nested, negations), --exclude, defaults, VCS dirs, symlinks, sizes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from runwire.actors.llms_txt.ignore import DEFAULT_EXCLUDES, IgnoreRules
from runwire.actors.llms_txt.scan import walk_tree

from .conftest import MAX_BYTES, write_tree


def _walk(
    root: Path,
    exclude: tuple[str, ...] = (),
    *,
    defaults: bool = True,
    max_bytes: int = MAX_BYTES,
    vendored: bool = False,
):
    rules = IgnoreRules.for_root(root, exclude, defaults=defaults)
    return walk_tree(root.resolve(), rules, max_file_bytes=max_bytes, vendored=vendored)


def _rels(result) -> list[str]:
    return [c.rel for c in result.candidates]


def test_root_and_nested_gitignore(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            ".gitignore": "*.log\nbuild/\n/top-only.txt\n",
            "a.py": "a",
            "debug.log": "x",
            "top-only.txt": "x",
            "build/out.py": "x",
            "pkg/top-only.txt": "kept: the pattern is anchored to the root",
            "pkg/.gitignore": "secret_*.py\n!keep.log\n",
            "pkg/secret_x.py": "x",
            "pkg/keep.log": "re-included by the nested negation",
            "pkg/other.log": "x",
            "pkg/deeper/secret_y.py": "nested patterns apply below their directory",
            "other/secret_z.py": "but not beside it",
        },
    )
    result = _walk(tmp_path)
    assert _rels(result) == ["a.py", "other/secret_z.py", "pkg/keep.log", "pkg/top-only.txt"]
    assert result.skipped_files["gitignored"] == 5  # debug.log, top-only.txt, secret_x, other.log, secret_y
    assert result.skipped_files["default_ignored"] == 2  # the .gitignore files themselves are read, not linked
    assert result.skipped_dirs["gitignored"] == 1  # build/ is pruned: its file is never seen
    assert result.seen_files == 11


def test_git_info_exclude_and_vcs_dir(tmp_path: Path) -> None:
    write_tree(
        tmp_path, {".git/info/exclude": "local-only.md\n", ".git/HEAD": "ref", "local-only.md": "x", "a.md": "a"}
    )
    result = _walk(tmp_path)
    assert _rels(result) == ["a.md"]
    assert result.skipped_dirs["vcs"] == 1
    assert result.skipped_files["gitignored"] == 1


def test_exclude_globs_beat_gitignore_negations(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            ".gitignore": "!docs/keep.md\n",
            "docs/keep.md": "x",
            "docs/other.md": "x",
            "tools/run.sh": "x",
            "src/main.py": "x",
            "src/main_test.py": "x",
        },
    )
    result = _walk(tmp_path, ("docs/", "*.sh", "src/*_test.py"))
    assert _rels(result) == ["src/main.py"]
    assert result.skipped_dirs["excluded"] == 1
    assert result.skipped_files["excluded"] == 2


def test_default_excludes_and_opting_out(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "node_modules/pkg/index.js": "x",
            "pkg/__pycache__/m.cpython-311.pyc": "x",
            "package-lock.json": "{}",
            "app.min.js": "x",
            "app.js": "x",
        },
    )
    result = _walk(tmp_path)
    assert _rels(result) == ["app.js"]
    assert result.skipped_dirs["default_ignored"] == 2
    assert result.skipped_files["default_ignored"] == 2
    assert _rels(_walk(tmp_path, defaults=False, vendored=True)) == [
        "app.js",
        "app.min.js",
        "node_modules/pkg/index.js",
        "package-lock.json",
    ]  # the .pyc is still binary by name
    assert "node_modules/" in DEFAULT_EXCLUDES


def test_repository_can_reinclude_a_default(tmp_path: Path) -> None:
    write_tree(tmp_path, {".gitignore": "!package-lock.json\n", "package-lock.json": "{}"})
    assert "package-lock.json" in _rels(_walk(tmp_path))


def test_binary_names_oversized_and_empty_are_skipped_without_reading(tmp_path: Path) -> None:
    write_tree(tmp_path, {"logo.png": b"\x89PNG", "big.txt": "x" * 100, "empty.md": "", "ok.txt": "fine"})
    result = _walk(tmp_path, max_bytes=50)
    assert _rels(result) == ["ok.txt"]
    assert dict(result.skipped_files) == {"binary": 1, "oversized": 1, "empty": 1}


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="needs symlinks")
def test_symlinks_inside_root_are_followed_others_skipped(tmp_path: Path) -> None:
    outside = write_tree(tmp_path / "outside", {"secret.txt": "outside the root"})
    root = write_tree(tmp_path / "root", {"docs/index.md": "# Index\n"})
    (root / "README.md").symlink_to("docs/index.md")
    (root / "leak.txt").symlink_to(outside / "secret.txt")
    (root / "linked_dir").symlink_to(root / "docs", target_is_directory=True)
    result = _walk(root)
    assert _rels(result) == ["README.md", "docs/index.md"]
    assert result.skipped_files["symlink"] == 1
    assert result.skipped_dirs["symlink"] == 1


def test_candidates_sorted_by_path_components(tmp_path: Path) -> None:
    write_tree(tmp_path, {"a.py": "x", "a/b.py": "x", "B.py": "x", "a-b.py": "x"})
    assert _rels(_walk(tmp_path)) == ["B.py", "a/b.py", "a-b.py", "a.py"]
