"""Every file described: one source of descriptions per language, titles from the first H1, clean prose.

All cases are real files in one tmp tree run through ``generate`` once, then read back from llms.txt
with the reference parser, so each test checks what a reader of the published file sees.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from llms_txt import parse_llms_file

from runwire.actors.llms_txt import LLMS_TXT, Options, generate
from runwire.actors.llms_txt.treesit import grammar_available

from .conftest import write_tree

TREE: dict[str, str] = {
    "README.md": (
        '<p align="center"><img src="logo.png"></p>\n\n## Features\n\n'
        "Polyglot parses everything. It is a test fixture.\n"
    ),
    "pyproject.toml": '[project]\nname = "polyglot"\n',
    "requirements.txt": "# We're pinning our tooling, because it's an environment we control.\nruff==0.5\n",
    "notes.txt": "Plain notes\n===========\n\nThese notes are plain text, not Markdown.\n",
    "docs/index.md": (
        '<h1 align="center" style="font-size: 3rem;">\n  Polyglot\n</h1>\n\n'
        "!!! hint\n    If you are coming from elsewhere, read this hint first.\n\n"
        "First, start by importing polyglot:\n\n```python\nimport polyglot\n```\n\n"
        "Polyglot reads code in many languages.\n"
    ),
    "docs/setext.md": "Setext Title\n============\n\nBody of the setext page.\n",
    "docs/guide.rst": "=====\nGuide\n=====\n\n.. note:: aside\n\nThe guide, in RST.\n",
    "src/polyglot/client.py": (
        "import os\n\n\nclass Client:\n"
        '    """An HTTP client, with connection pooling.\n\n    More text.\n    """\n\n\n'
        'def get(url: str) -> None:\n    """Sends a GET request."""\n\n\ndef _private() -> None:\n    pass\n'
    ),
    "src/polyglot/errors.py": (
        '"""Our exception hierarchy:\n\n* PolyError\n  + NetError\n"""\n\n\n'
        'class PolyError(Exception):\n    """Base class for all polyglot errors."""\n'
    ),
    "src/polyglot/__init__.py": 'from .client import Client, get\n\n__all__ = ["Client", "get"]\n',
    "web/client.ts": (
        "import {x} from './x.js';\n\n/**\n * Create a client for the API.\n * @param base the base URL\n */\n"
        "export function makeClient(base: string): number { return 1; }\n\n"
        "/** Options of a request. */\nexport interface Options { timeout: number }\n"
    ),
    "web/pad.js": "/** Pads a string on the left. */\nfunction leftPad(s) { return s; }\nmodule.exports = leftPad;\n",
    "go/server.go": (
        "package server\n\n// Server answers requests.\ntype Server struct{}\n\n"
        "// Serve starts the Server.\nfunc Serve() {}\n"
    ),
    "rust/lib.rs": (
        "/// A parsed value.\npub struct Value;\n\n"
        "/// Parse text into a Value.\npub fn parse(s: &str) -> Value { Value }\n"
    ),
    "rust/inner.rs": "//! Inner docs of this module.\n\nfn f() {}\n",
    "c/api.h": (
        '#ifndef API_H\n#define API_H\n#ifdef __cplusplus\nextern "C" {\n#endif\n'
        "/* Open a handle to the device. */\nint api_open(const char *path);\n"
        "#ifdef __cplusplus\n}\n#endif\n#endif\n"
    ),
    "scripts/release.sh": "#!/bin/sh\nset -e\n\n# Print how to use this script.\nusage() { echo usage; }\n",
    "scripts/test": "#!/bin/sh\nset -ex\ncoverage run -m pytest\nmypy src\n",
    ".github/workflows/ci.yml": "name: Test Suite\non: [push]\n",
}
LANGUAGE_CASES = [
    (
        "src/polyglot/client.py",
        "Defines `Client`: An HTTP client, with connection pooling; `get`: Sends a GET request.",
    ),
    ("src/polyglot/__init__.py", "Exports `Client`; `get`."),
    ("web/client.ts", "Defines `makeClient`: Create a client for the API; `Options`: Options of a request."),
    ("web/pad.js", "Pads a string on the left."),
    ("go/server.go", "Defines `Server`: Server answers requests; `Serve`: Serve starts the Server."),
    ("rust/lib.rs", "Defines `Value`: A parsed value; `parse`: Parse text into a Value."),
    ("rust/inner.rs", "Inner docs of this module."),
    ("c/api.h", "Defines `api_open`: Open a handle to the device."),
    ("scripts/release.sh", "Defines `usage`: Print how to use this script."),
    ("scripts/test", "Runs `coverage`, `mypy`."),
    (".github/workflows/ci.yml", "GitHub Actions workflow: Test Suite."),
]


@pytest.fixture(scope="module")
def links(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    root = tmp_path_factory.mktemp("describe")
    write_tree(root / "polyglot", TREE)
    generate(Options(source=str(root / "polyglot"), out=str(root / "out")))
    parsed = parse_llms_file((root / "out" / LLMS_TXT).read_text(encoding="utf-8"))
    return {link["url"]: link for section in parsed.sections.values() for link in section}


def test_every_file_of_the_tree_is_described(links: dict[str, dict[str, Any]]) -> None:
    assert set(links) == set(TREE)
    assert [url for url, link in links.items() if not link["desc"]] == []


@pytest.mark.parametrize(("rel", "expected"), LANGUAGE_CASES, ids=[rel for rel, _ in LANGUAGE_CASES])
def test_code_without_a_docstring_is_described_by_what_it_defines(
    links: dict[str, dict[str, Any]], rel: str, expected: str
) -> None:
    ext = rel.rsplit(".", 1)[-1] if "." in rel.rsplit("/", 1)[-1] else "sh"
    if ext not in ("py", "yml") and not grammar_available(ext):
        pytest.skip(f"tree-sitter grammar for .{ext} not installed")
    assert links[rel]["desc"] == expected


def test_a_docstring_that_ends_at_a_colon_gives_way_to_the_definitions(links: dict[str, dict[str, Any]]) -> None:
    assert links["src/polyglot/errors.py"]["desc"] == "Defines `PolyError`: Base class for all polyglot errors."


def test_readme_without_an_h1_is_titled_with_the_project_name(links: dict[str, dict[str, Any]]) -> None:
    assert links["README.md"]["title"] == "polyglot"  # not "Features", its first ##
    assert links["README.md"]["desc"] == "Polyglot parses everything. It is a test fixture."


def test_html_h1_over_several_lines_is_the_title_and_admonitions_are_skipped(
    links: dict[str, dict[str, Any]],
) -> None:
    assert links["docs/index.md"]["title"] == "Polyglot"
    assert links["docs/index.md"]["desc"] == "Polyglot reads code in many languages."  # no hint, no colon intro


def test_setext_and_rst_titles_without_adornment(links: dict[str, dict[str, Any]]) -> None:
    assert (links["docs/setext.md"]["title"], links["docs/setext.md"]["desc"]) == (
        "Setext Title",
        "Body of the setext page.",
    )
    assert (links["docs/guide.rst"]["title"], links["docs/guide.rst"]["desc"]) == ("Guide", "The guide, in RST.")


def test_plain_text_files_are_not_markdown(links: dict[str, dict[str, Any]]) -> None:
    assert links["requirements.txt"]["title"] == "requirements.txt"  # the # comment is no title
    assert links["requirements.txt"]["desc"].startswith("We're pinning our tooling")
    assert links["notes.txt"]["title"] == "notes.txt"
    assert links["notes.txt"]["desc"] == "These notes are plain text, not Markdown."


def test_without_tree_sitter_a_file_keeps_its_leading_comment(tmp_path: Path) -> None:
    from runwire.actors.llms_txt import treesit

    saved = dict(treesit._languages)
    treesit._languages.update(dict.fromkeys(set(treesit.GRAMMARS.values())))  # as if no grammar were installed
    try:
        write_tree(
            tmp_path / "src", {"a.ts": "// Entry point.\nexport const a = 1;\n", "b.ts": "export const b = 1;\n"}
        )
        generate(Options(source=str(tmp_path / "src"), out=str(tmp_path / "out")))
    finally:
        treesit._languages.clear()
        treesit._languages.update(saved)
    text = (tmp_path / "out" / LLMS_TXT).read_text(encoding="utf-8")
    assert "- [a.ts](a.ts): Entry point.\n" in text
    assert "- [b.ts](b.ts)\n" in text
