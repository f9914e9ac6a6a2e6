"""Allowed roots: every path a client names resolves inside them, or is refused with a clear error."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from runwire.actors.mcp._inputs import prepare_inputs
from runwire.actors.mcp._roots import PathError, Roots


@pytest.fixture
def roots(tmp_path: Path) -> Roots:
    (tmp_path / "root" / "repo" / "docs").mkdir(parents=True)
    (tmp_path / "other").mkdir()
    os.symlink(tmp_path / "other", tmp_path / "root" / "out-link")
    os.symlink(tmp_path / "root" / "repo", tmp_path / "root" / "in-link")
    return Roots([tmp_path / "root"])


def test_paths_inside_resolve(roots: Roots) -> None:
    base = roots.primary
    assert roots.confine("repo") == base / "repo"
    assert roots.confine("repo/docs/../docs") == base / "repo" / "docs"
    assert roots.confine(str(base / "repo")) == base / "repo"
    assert roots.confine("in-link/docs") == base / "repo" / "docs"  # a symlink that stays inside is fine
    assert roots.confine("new/folder") == base / "new" / "folder"  # not created yet: still confined


@pytest.mark.parametrize(
    "raw",
    ["..", "../other", "repo/../../other", "/etc", "/", "out-link", "out-link/x", "repo/\x00", "x" * 5000, ""],
)
def test_escapes_are_refused_with_a_clear_error(roots: Roots, raw: str) -> None:
    with pytest.raises(PathError) as info:
        roots.confine(raw, what="source")
    message = str(info.value)
    assert "source" in message
    if raw and "\x00" not in raw and len(raw) < 5000:
        assert "outside the allowed roots" in message and "--root" in message


def test_tilde_is_a_plain_name_not_home(roots: Roots) -> None:
    assert roots.confine("~") == roots.primary / "~"


@pytest.mark.parametrize(
    ("source", "allowed"),
    [
        ("https://github.com/org/repo.git", True),
        ("git@github.com:org/repo.git", True),
        ("ssh://git@host/repo", True),
        ("file:///etc", False),
        ("ssh://-oProxyCommand=evil/x", False),
        ("git@-oProxy:y", False),
        ("https://host/has space", False),
    ],
)
def test_sources(roots: Roots, source: str, allowed: bool) -> None:
    if allowed:
        assert roots.confine_source(source) == source
    else:
        with pytest.raises(PathError):
            roots.confine_source(source)


def test_file_url_inside_is_a_path(roots: Roots) -> None:
    assert roots.confine_source(f"file://{roots.primary}/repo") == str(roots.primary / "repo")


def test_llms_txt_inputs_are_confined_and_out_defaults_to_the_repo(roots: Roots) -> None:
    prepared = prepare_inputs("llms-txt", {"source": "repo"}, roots)
    assert prepared == {"source": str(roots.primary / "repo"), "out": str(roots.primary / "repo")}
    remote = prepare_inputs("llms-txt", {"source": "https://example.org/r.git"}, roots)
    assert remote["out"] == str(roots.primary)
    with pytest.raises(PathError):
        prepare_inputs("llms-txt", {"source": "repo", "out": "../../tmp"}, roots)
    assert prepare_inputs("demo", {"steps": 3}, roots) == {"steps": 3}


def test_roots_must_exist(tmp_path: Path) -> None:
    with pytest.raises(PathError):
        Roots([tmp_path / "missing"])
    with pytest.raises(PathError):
        Roots([])
