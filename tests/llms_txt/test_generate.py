"""llms.txt / llms-full.txt end to end on a real tree, checked with the reference parser (PyPI llms-txt)."""

from __future__ import annotations

import hashlib
import itertools
import re
from pathlib import Path
from typing import Any

import pytest
from llms_txt import parse_llms_file

from runwire.actors.llms_txt import LLMS_FULL_TXT, LLMS_TXT, Options, generate
from runwire.actors.llms_txt.analyze import FileInfo
from runwire.actors.llms_txt.render import render_link

from .conftest import INCLUDED, MAX_BYTES, PROJECT_FILES, Cancelled, Recorder, listing, write_tree


def _generate(source: Path, out: Path, reporter: Any = None, **options: Any) -> dict[str, Any]:
    options.setdefault("max_file_bytes", MAX_BYTES)
    return generate(Options(source=str(source), out=str(out), **options), reporter)


def test_reference_parser_finds_the_sections_and_links_of_the_repository(project: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = _generate(project, out)
    parsed = parse_llms_file((out / LLMS_TXT).read_text(encoding="utf-8"))
    assert parsed.title == "widgetry"
    assert parsed.summary == "Widgets into gadgets, as a library."
    assert "15 files" in parsed.info
    assert list(parsed.sections) == ["Docs", "Source", "Examples", "Optional"]
    links = {link["url"]: link for links in parsed.sections.values() for link in links}
    assert set(links) == INCLUDED
    sections = {name: [link["url"] for link in links] for name, links in parsed.sections.items()}
    assert sections["Docs"] == ["README.md", "docs/api.rst", "docs/guide.md"]  # the README leads
    assert sections["Examples"] == ["examples/demo.py"]
    assert set(sections["Optional"]) == {"CHANGELOG.md", "docs/keep.log", "pyproject.toml", "tests/test_core.py"}
    assert links["README.md"]["title"] == "Widgetry"
    assert links["README.md"]["desc"] == "Widgetry turns widgets into gadgets. It is small and fast."
    assert links["docs/guide.md"]["title"] == "User guide"
    assert links["docs/api.rst"]["desc"] == "The public API of widgetry."
    assert links["src/widgetry/core.py"]["desc"] == "Core widget logic."
    assert links["src/widgetry/native.c"]["desc"] == "Fast path for gadget hashing."
    assert links["scripts/build.sh"]["desc"] == "Build the release archives."
    assert links["web/app.js"]["desc"] == "Front-end entry point for the widget viewer."
    assert links["src/widgetry/nodoc.py"]["desc"] == "Defines `x`."  # no docstring: what it defines
    assert result["sections"] == {name: len(urls) for name, urls in sections.items()}


def test_skips_are_counted_by_reason(project: Path, tmp_path: Path) -> None:
    files = _generate(project, tmp_path / "out")["files"]
    assert files["included"] == len(INCLUDED)
    assert files["skipped"] == {
        "binary": 2,  # logo.png by name, blob.txt by its NUL byte
        "default_ignored": 3,  # the three .gitignore files
        "empty": 1,
        "gitignored": 2,  # debug.log, src/generated_skip.py
        "oversized": 1,
        "undecodable": 1,
    }
    assert files["skipped_dirs"] == {"default_ignored": 1, "gitignored": 1}  # node_modules/, build/
    assert files["by_kind"] == {"config": 1, "docs": 3, "examples": 1, "meta": 1, "other": 1, "source": 7, "tests": 1}


def test_llms_full_holds_each_linked_file_after_a_banner(project: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = _generate(project, out)
    full = (out / LLMS_FULL_TXT).read_text(encoding="utf-8")
    banners = re.findall(r"^={64}\nFile: (.+)\nTokens: ~([\d,]+)\n={64}\n", full, flags=re.MULTILINE)
    index = parse_llms_file((out / LLMS_TXT).read_text(encoding="utf-8"))
    assert [rel for rel, _ in banners] == [link["url"] for links in index.sections.values() for link in links]
    total = 0
    for rel, tokens in banners:
        text = PROJECT_FILES[rel]
        assert isinstance(text, str)
        assert f"File: {rel}\nTokens: ~{tokens}\n{'=' * 64}\n{text}" in full
        assert int(tokens.replace(",", "")) == -(-len(text) // 4)
        total += -(-len(text) // 4)
    assert result["tokens"] == total
    assert full.startswith("# widgetry\n\n> Widgets into gadgets, as a library.\n")


def test_base_url_makes_links_absolute(project: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    _generate(project, out, base_url="https://example.org/widgetry/blob/main/")
    parsed = parse_llms_file((out / LLMS_TXT).read_text(encoding="utf-8"))
    urls = {link["url"] for links in parsed.sections.values() for link in links}
    assert urls == {f"https://example.org/widgetry/blob/main/{rel}" for rel in INCLUDED}


def test_awkward_names_still_parse(tmp_path: Path) -> None:
    info = FileInfo("dir (x)/a [b] c.md", "/p", 1, "docs", 1, "Title [with] brackets", "Desc: with (parens)\nnl")
    link = render_link(info)
    assert link == "- [Title (with) brackets](dir%20%28x%29/a%20%5Bb%5D%20c.md): Desc: with (parens) nl"
    parsed = parse_llms_file(f"# T\n\n> S\n\nNotes.\n\n## Docs\n\n{link}\n")
    assert parsed.sections["Docs"][0]["url"] == "dir%20%28x%29/a%20%5Bb%5D%20c.md"


def test_same_repository_gives_the_same_bytes(project: Path, tmp_path: Path) -> None:
    first = _generate(project, tmp_path / "one")
    second = _generate(project, tmp_path / "two")
    for name in (LLMS_TXT, LLMS_FULL_TXT):
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes()
        assert first["artifacts"][name]["sha256"] == second["artifacts"][name]["sha256"]


def test_output_inside_the_source_is_not_read_back(project: Path) -> None:
    first = _generate(project, project)
    before = (project / LLMS_FULL_TXT).read_bytes()
    second = _generate(project, project)
    assert (project / LLMS_FULL_TXT).read_bytes() == before
    assert first["artifacts"] == second["artifacts"]
    assert second["files"]["skipped"]["output"] == 2


def test_crlf_checkout_gives_the_same_output(tmp_path: Path) -> None:
    lf = write_tree(tmp_path / "lf" / "proj", {"README.md": "# P\n\nText.\n", "a.py": '"""A."""\nx = 1\n'})
    crlf = write_tree(
        tmp_path / "crlf" / "proj", {"README.md": "# P\r\n\r\nText.\r\n", "a.py": '"""A."""\r\nx = 1\r\n'}
    )
    _generate(lf, tmp_path / "o1")
    _generate(crlf, tmp_path / "o2")
    assert (tmp_path / "o1" / LLMS_FULL_TXT).read_bytes() == (tmp_path / "o2" / LLMS_FULL_TXT).read_bytes()


def test_events_report_the_milestones_and_change_no_byte(project: Path, tmp_path: Path) -> None:
    recorder = Recorder()
    result = _generate(project, tmp_path / "with", recorder)
    _generate(project, tmp_path / "without")
    for name in (LLMS_TXT, LLMS_FULL_TXT):
        assert (tmp_path / "with" / name).read_bytes() == (tmp_path / "without" / name).read_bytes()

    assert recorder.milestones() == [
        "repo_fetched",
        "analysis_started",
        "files_scanned",
        "budget_applied",
        *["section_generated"] * 4,
        "artifact_written",
        "artifact_written",
    ]
    data = {m["name"]: m["data"] for m in recorder.of("milestone")}
    assert data["repo_fetched"] == {"source": str(project), "commit": None, "cloned": False, "files": 25}
    assert data["files_scanned"]["files"] == len(INCLUDED)
    assert data["files_scanned"]["by_kind"] == result["files"]["by_kind"]
    sections = [m["data"] for m in recorder.of("milestone") if m["name"] == "section_generated"]
    assert [(s["section"], s["links"]) for s in sections] == list(result["sections"].items())

    fractions = [p["fraction"] for p in recorder.of("progress")]
    assert fractions[0] == 0.0
    assert fractions[-1] == 1.0
    assert all(a < b for a, b in itertools.pairwise(fractions))

    for name in (LLMS_TXT, LLMS_FULL_TXT):
        path = tmp_path / "with" / name
        body = path.read_bytes()
        partial = "".join(p["text"] for p in recorder.of("partial") if p["artifact_id"] == name)
        assert partial == body.decode("utf-8")
        (artifact,) = [a for a in recorder.of("artifact") if a["artifact_id"] == name]
        assert artifact["sha256"] == hashlib.sha256(body).hexdigest()
        assert artifact["size"] == len(body)
        assert artifact["path"] == str(path)
        written = [m["data"] for m in recorder.of("milestone") if m["name"] == "artifact_written"]
        assert {"artifact_id": name, "path": str(path), "bytes": len(body), "sha256": artifact["sha256"]} in written
    (index,) = [a for a in recorder.of("artifact") if a["artifact_id"] == LLMS_TXT]
    assert index["content"] == (tmp_path / "with" / LLMS_TXT).read_text(encoding="utf-8")


def test_partial_stream_of_llms_full_is_capped(project: Path, tmp_path: Path) -> None:
    recorder = Recorder()
    generate(Options(source=str(project), out=str(tmp_path), max_file_bytes=MAX_BYTES, partial_limit=300), recorder)
    full = (tmp_path / LLMS_FULL_TXT).read_text(encoding="utf-8")
    partial = "".join(p["text"] for p in recorder.of("partial") if p["artifact_id"] == LLMS_FULL_TXT)
    assert len(partial) == 300
    assert full.startswith(partial)


def test_cancel_at_any_check_before_the_commit_leaves_no_output(project: Path, tmp_path: Path) -> None:
    probe = Recorder()
    _generate(project, tmp_path / "probe", probe)
    first_written = next(i for i, (kind, data) in enumerate(probe.events) if data.get("name") == "artifact_written")
    commit_check = probe.checks_at[first_written] - 1  # the explicit check just before the files move into place
    assert commit_check > 50
    for cancel_after in range(commit_check):
        out = write_tree(tmp_path / f"out{cancel_after}", {LLMS_TXT: "old index\n"})
        with pytest.raises(Cancelled):
            _generate(project, out / "new" / "nested", Recorder(cancel_after=cancel_after))
        with pytest.raises(Cancelled):
            _generate(project, out, Recorder(cancel_after=cancel_after))
        assert listing(out) == [LLMS_TXT], cancel_after  # no temp file, no new directory
        assert (out / LLMS_TXT).read_text() == "old index\n"
