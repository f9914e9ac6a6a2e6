"""An index at any size: both budgets hold on a big generated tree, and the output says what was left out."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from llms_txt import parse_llms_file

from runwire.actors.llms_txt import LLMS_FULL_TXT, LLMS_TXT, LlmsTxtError, Options, generate
from runwire.actors.llms_txt.analyze import FileInfo
from runwire.actors.llms_txt.classify import classify
from runwire.actors.llms_txt.rank import ranked
from runwire.actors.llms_txt.textio import estimate_tokens

from .conftest import Recorder, write_tree

INDEX_BUDGET = 3_000
FULL_BUDGET = 20_000


def _big_tree() -> dict[str, str]:
    files: dict[str, str] = {
        "README.md": "# Big\n\nA big generated project.\n",
        "pyproject.toml": '[project]\nname = "big"\n',
        "src/big/__init__.py": '"""The big package."""\n',
    }
    for i in range(40):
        files[f"docs/page{i:02}.md"] = f"# Page {i}\n\nDocumentation page number {i}.\n"
    for i in range(300):
        files[f"src/big/mod{i:03}.py"] = f'"""Public module {i}."""\n' + "x = 1\n" * 40
        files[f"src/big/_impl/part{i:03}.py"] = f'"""Private part {i}."""\n' + "y = 2\n" * 40
        files[f"tests/test_mod{i:03}.py"] = f'"""Tests of module {i}."""\n' + "z = 3\n" * 40
        files[f"vendor/lib{i:03}.py"] = f'"""Vendored library {i}."""\n' + "w = 4\n" * 40
    return files


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tree(tmp_path_factory.mktemp("budget") / "big", _big_tree())


def _run(source: Path, out: Path, reporter: Any = None, **options: Any) -> dict[str, Any]:
    options.setdefault("include_vendored", True)  # vendor/ is walked, to be ranked last
    return generate(Options(source=str(source), out=str(out), **options), reporter)


def test_a_big_tree_stays_within_the_index_budget_and_says_what_was_left_out(big: Path, tmp_path: Path) -> None:
    recorder = Recorder()
    result = _run(big, tmp_path / "out", recorder, max_index_tokens=INDEX_BUDGET)
    text = (tmp_path / "out" / LLMS_TXT).read_text(encoding="utf-8")
    assert estimate_tokens(text) <= INDEX_BUDGET
    budget = result["budget"]
    assert budget["linked"] + budget["index_left_out"] == result["files"]["included"] == len(_big_tree())
    assert budget["index_left_out"] > 0
    assert f"Left out for size: {budget['index_left_out']:,} less important files" in text
    summaries = re.findall(r"^- \[(.+?)/\]\(.+?\): ([\d,]+) more files? not linked here", text, re.MULTILINE)
    assert sum(int(count.replace(",", "")) for _, count in summaries) == budget["index_left_out"]
    parsed = parse_llms_file(text)
    assert "Optional" in parsed.sections  # the summaries are links the reference parser reads
    milestone = next(m["data"] for m in recorder.of("milestone") if m["name"] == "budget_applied")
    assert milestone == budget


def test_the_most_important_files_are_the_ones_linked(big: Path, tmp_path: Path) -> None:
    _run(big, tmp_path / "out", max_index_tokens=INDEX_BUDGET)
    parsed = parse_llms_file((tmp_path / "out" / LLMS_TXT).read_text(encoding="utf-8"))
    urls = {link["url"] for section in parsed.sections.values() for link in section}
    assert {"README.md", "pyproject.toml", "src/big/__init__.py"} <= urls
    assert {f"docs/page{i:02}.md" for i in range(40)} <= urls
    assert not any(url.startswith(("tests/", "vendor/", "src/big/_impl/")) for url in urls if not url.endswith("/"))
    assert {"tests/", "vendor/"} <= urls or {"./"} <= urls  # left out, but counted per directory


def test_llms_full_stays_within_its_budget_most_important_first(big: Path, tmp_path: Path) -> None:
    result = _run(big, tmp_path / "out", max_full_tokens=FULL_BUDGET)
    full = (tmp_path / "out" / LLMS_FULL_TXT).read_text(encoding="utf-8")
    assert result["artifacts"][LLMS_FULL_TXT]["tokens"] <= FULL_BUDGET + 200  # + the intro and section headings
    assert result["budget"]["full_left_out"] > 0
    assert f"all but {result['budget']['full_left_out']:,} of them, left out for size" in full
    included = re.findall(r"^File: (.+)$", full, re.MULTILINE)
    assert "README.md" in included and "docs/page00.md" in included
    assert not any(path.startswith("vendor/") for path in included)


def test_budgeted_output_is_the_same_bytes_on_every_run_and_with_instrumentation(big: Path, tmp_path: Path) -> None:
    _run(big, tmp_path / "a", Recorder(), max_index_tokens=INDEX_BUDGET, max_full_tokens=FULL_BUDGET)
    _run(big, tmp_path / "b", None, max_index_tokens=INDEX_BUDGET, max_full_tokens=FULL_BUDGET)
    for name in (LLMS_TXT, LLMS_FULL_TXT):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


def test_ranking_puts_docs_and_entry_points_first_and_tests_and_vendored_code_last() -> None:
    paths = [
        "vendor/six.py",
        "tests/test_a.py",
        "tests/fixtures/data.json",
        "CHANGELOG.md",
        "pkg/_private.py",
        "pkg/public.py",
        "examples/demo.py",
        "pkg/__init__.py",
        "pyproject.toml",
        "docs/guide.md",
        "README.md",
        "pkg/deep/er/module.py",
    ]
    files = [FileInfo(rel, rel, 1, classify(rel), 1, None, "") for rel in paths]
    assert [info.rel for info in ranked(files, "README.md")] == [
        "README.md",
        "docs/guide.md",
        "pyproject.toml",
        "pkg/__init__.py",
        "pkg/public.py",
        "pkg/deep/er/module.py",
        "pkg/_private.py",
        "examples/demo.py",
        "CHANGELOG.md",
        "tests/test_a.py",
        "vendor/six.py",
        "tests/fixtures/data.json",
    ]


@pytest.mark.parametrize(("key", "value"), [("max_index_tokens", 999), ("max_full_tokens", 0)])
def test_a_budget_too_small_to_work_is_refused_before_any_work(tmp_path: Path, key: str, value: int) -> None:
    with pytest.raises(LlmsTxtError, match=key):
        _run(tmp_path / "missing", tmp_path / "out", **{key: value})
    assert not (tmp_path / "out").exists()
