"""Files with no docstring or doc comment are still described from their content.

Stylesheets by their selectors, batch files by their REM line or commands, logs by their first line,
``key = value`` configs by their keys, barrel modules by what they re-export, JSON lists by their
leading comment string (even when a line was removed for a secret), and plain-text change logs and
VBScript by their prose. Each case runs through ``generate`` and is read back from llms.txt.
"""

from __future__ import annotations

import re

import pytest

from runwire.actors.llms_txt import LLMS_TXT, Options, generate
from runwire.actors.llms_txt.treesit import grammar_available

from .conftest import write_tree

TREE: dict[str, str] = {
    "README.md": "# Formats\n\nEvery format, described.\n",
    "docs/css/custom.css": "div.doc {\n  padding: 0;\n}\n\ndiv.members, span.x:hover {\n  margin: 1px;\n}\n",
    "docs/theme.css": "/* The site theme: colours and fonts. */\nbody { color: red; }\n",
    "scripts/idle.bat": "@echo off\nrem Start IDLE using the right interpreter\nstart idle.pyw\n",
    "scripts/fetch.bat": "svn export --force http://svn.example/trunk/ .\nxcopy a b\n",
    "logs/build.log": "2024-01-01 10:00 build started\n2024-01-01 10:01 build done\n",
    "demo/turtle.cfg": "width = 800\nheight = 600\nshape = arrow\nmode = standard\ntitle = Demo\n",
    "web/helpers/index.ts": "export * from './server.js';\nexport * from './parse-body.js';\n",
    "tests/data/cases.json": (
        '[\n  "See ../README.md for a description of the format.",\n'
        '  {"input": "http://user:s3cr3tpassw0rd@example.org/"},\n  {"input": "x"}\n]\n'
    ),
    "ChangeLog": "Please refer to the repository history for changes after 1.0.\n\n2001-07-20  someone\n",
    "test/empty.vbs": "'Empty VBS file, does nothing. Helper for the startfile test.\n",
}


@pytest.fixture(scope="module")
def described(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    root = tmp_path_factory.mktemp("formats")
    repo = write_tree(root / "repo", TREE)
    generate(Options(source=str(repo), out=str(root / "out")))
    index = (root / "out" / LLMS_TXT).read_text()
    return {m[1]: m[2] or "" for m in re.finditer(r"^- \[[^\]]*\]\(([^)]*)\)(?:: (.*))?$", index, re.MULTILINE)}


def test_css_is_described_by_its_selectors_unless_it_has_a_comment(described: dict[str, str]) -> None:
    assert described["docs/css/custom.css"] == "Styles `div.doc`, `div.members`, `span.x:hover`."
    assert described["docs/theme.css"] == "The site theme: colours and fonts."


def test_batch_files_by_their_rem_line_else_their_commands(described: dict[str, str]) -> None:
    assert described["scripts/idle.bat"] == "Start IDLE using the right interpreter"
    assert described["scripts/fetch.bat"] == "Runs `svn`, `xcopy`."


def test_logs_and_key_value_configs(described: dict[str, str]) -> None:
    assert described["logs/build.log"] == "Log of 2 lines; the first: 2024-01-01 10:00 build started"
    assert described["demo/turtle.cfg"] == "Sets `width`, `height`, `shape`, `mode` and 1 more."


@pytest.mark.skipif(not grammar_available("ts"), reason="tree-sitter-typescript not installed")
def test_a_barrel_module_says_what_it_re_exports(described: dict[str, str]) -> None:
    assert described["web/helpers/index.ts"] == "Re-exports everything from `./server.js`, `./parse-body.js`."


def test_a_json_list_by_its_leading_comment_even_with_a_line_removed_for_a_secret(described: dict[str, str]) -> None:
    assert described["tests/data/cases.json"] == (
        "JSON array (its first item: See ../README.md for a description of the format)."
    )


def test_change_logs_and_vbscript_by_their_prose(described: dict[str, str]) -> None:
    assert described["ChangeLog"] == "Please refer to the repository history for changes after 1.0."
    assert described["test/empty.vbs"] == "Empty VBS file, does nothing. Helper for the startfile test."
