"""Extractive descriptions: Markdown/RST headings and paragraphs, Python docstrings, leading comments."""

from __future__ import annotations

import pytest

from runwire.actors.llms_txt.classify import classify
from runwire.actors.llms_txt.extract import (
    MAX_DESCRIPTION,
    clip,
    extract,
    leading_comment,
    markdown_outline,
    python_docstring,
    rst_outline,
)
from runwire.actors.llms_txt.textio import estimate_tokens


def test_markdown_first_heading_and_first_paragraph_skip_noise() -> None:
    text = (
        "---\ntitle: front matter\n---\n<!-- a comment\nover lines -->\n"
        '<p align="center"><img src="logo.png"></p>\n\n'
        "# The **Title**\n\n[![badge](b.svg)](https://ci) [![x](y.svg)](z)\n\n"
        "```\ncode block\n```\n\n- a list item\n  continued\n\n"
        "The first [real](https://x) paragraph,\nover two lines &amp; more.\n\nSecond paragraph.\n"
    )
    assert markdown_outline(text) == ("The Title", "The first real paragraph, over two lines & more.")


def test_markdown_setext_and_html_headings() -> None:
    assert markdown_outline("Project\n=======\n\nIntro text here.\n") == ("Project", "Intro text here.")
    assert markdown_outline('<h1 align="center">Fancy</h1>\n\nIt does things.\n') == ("Fancy", "It does things.")


def test_rst_title_and_paragraph() -> None:
    text = ":orphan:\n\n=====\nTitle\n=====\n\n.. toctree::\n   :maxdepth: 2\n\nSee :func:`spin` and ``code``.\n"
    assert rst_outline(text) == ("Title", "See spin and `code`.")


def test_python_docstring_after_comments_and_encoding() -> None:
    source = '#!/usr/bin/env python\n# -*- coding: utf-8 -*-\n# Copyright X\n"""Summary line.\n\nMore."""\nimport os\n'
    assert python_docstring(source) == "Summary line.\n\nMore."
    assert python_docstring('"a" "b"\nx = 1\n') == "ab"


@pytest.mark.parametrize(
    "source",
    ["import os\n'''not a docstring'''\n", "x = f'{1}'\n", "'''unterminated\n", "def broken(:\n", ""],
)
def test_python_without_docstring(source: str) -> None:
    assert python_docstring(source) is None


def test_python_docstring_only_parses_the_head() -> None:
    # the rest of the file is not valid Python: only the statements up to the docstring are parsed
    assert python_docstring('"""Head."""\n\ndef broken(:\n' + "x = 1\n" * 1000) == "Head."


def test_python_falls_back_to_leading_comment() -> None:
    assert extract("tool.py", "#!/usr/bin/env python\n# Rebuild the index.\nimport os\n") == (
        None,
        "Rebuild the index.",
    )


def test_python_rst_title_in_docstring_is_skipped() -> None:
    assert extract("ast.py", '"""\nast\n~~~\n\nThe ast module helps.\n"""\n') == (None, "The ast module helps.")


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        ("x.c", "/*\n * Copyright (c) 2024 A\n * Licensed MIT\n */\n\n/* Fast path. */\nint x;\n", "Fast path."),
        ("x.js", "// eslint-disable\n\n/**\n * @fileoverview Viewer entry.\n */\n", "Viewer entry."),
        ("x.rs", "//! Crate docs here.\n//! More.\nfn main() {}\n", "Crate docs here. More."),
        ("x.sh", "#!/bin/sh\n#\n# Build the release.\n#\nset -e\n", "Build the release."),
        ("x.sql", "-- Schema for widgets.\ncreate table w (id int);\n", "Schema for widgets."),
        ("x.html", "<!-- Landing page. -->\n<html></html>\n", "Landing page."),
        ("Makefile", "# Build targets for the docs.\nall:\n", "Build targets for the docs."),
        ("x.go", "package main\n// not leading\n", None),
        ("x.json", '{"a": 1}\n', None),
        ("x.c", "/* Copyright 2024 only a licence */\nint x;\n", None),
    ],
)
def test_leading_comments(name: str, text: str, expected: str | None) -> None:
    ext = name.rsplit(".", 1)[-1] if "." in name else ""
    assert leading_comment(text, ext, name) == expected


def test_clip_prefers_first_sentence_then_word_boundary() -> None:
    assert clip("Short one.") == "Short one."
    long_sentences = "First sentence is here and fine. " + "word " * 60
    assert clip(long_sentences) == "First sentence is here and fine."
    clipped = clip("word " * 100)
    assert clipped.endswith("…")
    assert len(clipped) <= MAX_DESCRIPTION
    assert "\n" not in clip("a\nb\n\nc")


@pytest.mark.parametrize(
    ("rel", "kind"),
    [
        ("README.md", "docs"),
        ("docs/guide.txt", "docs"),
        ("notes.txt", "other"),
        ("src/pkg/mod.py", "source"),
        ("tests/test_mod.py", "tests"),
        ("pkg/mod_test.go", "tests"),
        ("web/app.spec.ts", "tests"),
        ("examples/demo.py", "examples"),
        ("CHANGELOG.md", "meta"),
        ("LICENSE", "meta"),
        ("pyproject.toml", "config"),
        (".github/workflows/ci.yml", "config"),
        ("requirements-dev.txt", "config"),
        ("Dockerfile", "config"),
        ("data.csv", "other"),
    ],
)
def test_classify(rel: str, kind: str) -> None:
    assert classify(rel) == kind


def test_token_estimate_is_chars_over_four_rounded_up() -> None:
    assert [estimate_tokens("x" * n) for n in (0, 1, 4, 5, 8)] == [0, 1, 1, 2, 2]
