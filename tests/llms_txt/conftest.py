"""Fixtures for the llms.txt generator: real files in tmp_path, real git repositories, an event recorder.

The recorder implements the generator's ``Reporter`` protocol the way the runtime's ``RunContext``
does (record each emit; raise on cancel), so library-level tests can check the events without a
RunSystem; the pipeline tests in test_pipeline.py use the real RunSystem.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from pydantic import JsonValue

GIT_ENV = {
    "GIT_AUTHOR_NAME": "Fixture",
    "GIT_AUTHOR_EMAIL": "fixture@example.invalid",
    "GIT_COMMITTER_NAME": "Fixture",
    "GIT_COMMITTER_EMAIL": "fixture@example.invalid",
    "GIT_AUTHOR_DATE": "2024-01-01T00:00:00Z",
    "GIT_COMMITTER_DATE": "2024-01-01T00:00:00Z",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
}

# A small but realistic project: every kind of file, nested .gitignore files, and files to skip.
PROJECT_FILES: dict[str, str | bytes] = {
    "README.md": (
        "# Widgetry\n\n[![CI](https://ci.example/badge.svg)](https://ci.example)\n\n"
        "Widgetry turns widgets into gadgets. It is small and fast.\n\n## Install\n\n```\npip install widgetry\n```\n"
    ),
    "pyproject.toml": '[project]\nname = "widgetry"\ndescription = "Widgets into gadgets, as a library."\n',
    ".gitignore": "build/\n*.log\n",
    "CHANGELOG.md": "# Changelog\n\n## 1.0\n\nFirst release.\n",
    "docs/guide.md": "---\ntitle: ignored front matter\n---\n\n# User guide\n\nHow to use the widgets, step by step.\n",
    "docs/api.rst": "API reference\n=============\n\n.. note:: skipped directive\n\nThe public API of widgetry.\n",
    "docs/.gitignore": "!keep.log\n",
    "docs/keep.log": "A log file a nested negation re-includes.\n",
    "src/widgetry/__init__.py": '"""Widgetry: widgets and gadgets."""\n\n__all__ = ["core"]\n',
    "src/widgetry/core.py": (
        "# Copyright 2024 Widgetry authors\n# SPDX-License-Identifier: MIT\n"
        '"""Core widget logic.\n\nLonger text that is not the description.\n"""\n\n\ndef spin() -> int:\n    return 1\n'
    ),
    "src/widgetry/native.c": (
        "/*\n * Copyright (c) 2024 Widgetry authors\n * Licensed under the MIT licence.\n */\n\n"
        "/* Fast path for gadget hashing. */\nint spin(void) { return 1; }\n"
    ),
    "src/widgetry/nodoc.py": "x = 1\n",
    "src/.gitignore": "generated_*.py\n!generated_keep.py\n",
    "src/generated_skip.py": '"""Generated and ignored by src/.gitignore."""\n',
    "src/generated_keep.py": '"""Generated but re-included by a negation."""\n',
    "scripts/build.sh": "#!/bin/sh\n# Build the release archives.\nset -e\n",
    "web/app.js": "// Front-end entry point for the widget viewer.\nconsole.log(1);\n",
    "examples/demo.py": '"""Demo: turn one widget into a gadget."""\nprint("demo")\n',
    "tests/test_core.py": '"""Tests for the core module."""\n\ndef test_spin() -> None:\n    assert True\n',
    "build/out.txt": "build output, ignored by the root .gitignore\n",
    "debug.log": "ignored by *.log\n",
    "node_modules/left-pad/index.js": "// default-ignored dependency\n",
    "assets/logo.png": b"\x89PNG\r\n\x1a\n\x00\x00\x00binary",
    "assets/blob.txt": b"text-looking name\x00but binary content\n",
    "assets/empty.txt": b"",
    "assets/latin1.txt": "caf\xe9 in latin-1\n".encode("latin-1"),
    "assets/huge.txt": "x" * 5000 + "\n",
}

# What the generator links for PROJECT_FILES with max_file_bytes=4096 (huge.txt is oversized).
INCLUDED = {
    "README.md",
    "pyproject.toml",
    "CHANGELOG.md",
    "docs/guide.md",
    "docs/api.rst",
    "docs/keep.log",
    "src/widgetry/__init__.py",
    "src/widgetry/core.py",
    "src/widgetry/native.c",
    "src/widgetry/nodoc.py",
    "src/generated_keep.py",
    "scripts/build.sh",
    "web/app.js",
    "examples/demo.py",
    "tests/test_core.py",
}
MAX_BYTES = 4096


def write_tree(root: Path, files: Mapping[str, str | bytes]) -> Path:
    """Create ``files`` (path -> text or bytes) under ``root``; return ``root``."""
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8", newline="")
    return root


def git(cwd: Path, *args: str) -> str:
    """Run git with a fixed identity and no user config; return stdout."""
    env = {**os.environ, **GIT_ENV}
    proc = subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True, check=True)
    return proc.stdout.strip()


def make_repo(path: Path, files: Mapping[str, str | bytes]) -> str:
    """A git repository at ``path`` with ``files`` committed (ignored ones stay untracked); returns HEAD."""
    write_tree(path, files)
    git(path, "init", "--quiet", "--initial-branch=main")
    git(path, "add", "--all")
    git(path, "commit", "--quiet", "-m", "fixture")
    return git(path, "rev-parse", "HEAD")


def listing(path: Path) -> list[str]:
    """Every entry under ``path`` (relative, sorted); [] when it does not exist."""
    return sorted(str(p.relative_to(path)) for p in path.rglob("*")) if path.exists() else []


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """The PROJECT_FILES tree as a plain directory."""
    return write_tree(tmp_path / "widgetry", PROJECT_FILES)


class Cancelled(Exception):
    """Stands in for the runtime's Cancelled in library-level tests."""


@dataclass
class Recorder:
    """Records every emit as (kind, payload); cancels (raises) after ``cancel_after`` cancel checks."""

    cancel_after: int | None = None
    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    checks_at: list[int] = field(default_factory=list)  # the check count at each recorded event
    checks: int = 0

    def check_cancelled(self) -> None:
        self.checks += 1
        if self.cancel_after is not None and self.checks > self.cancel_after:
            raise Cancelled

    def on_cancel(self, callback: Callable[[], object]) -> Callable[[], None]:
        return lambda: None  # this recorder cancels only at its checks

    def _emit(self, kind: str, **payload: Any) -> None:
        self.check_cancelled()
        self.events.append((kind, payload))
        self.checks_at.append(self.checks)

    def progress(
        self,
        fraction: float | None = None,
        *,
        current: int | None = None,
        total: int | None = None,
        message: str | None = None,
    ) -> None:
        self._emit("progress", fraction=fraction, current=current, total=total, message=message)

    def milestone(self, name: str, **data: JsonValue) -> None:
        self._emit("milestone", name=name, data=data)

    def log(self, message: str, level: str = "info") -> None:
        self._emit("log", message=message, level=level)

    def artifact_partial(self, artifact_id: str, text: str) -> None:
        self._emit("partial", artifact_id=artifact_id, text=text)

    def artifact(
        self,
        artifact_id: str,
        *,
        path: str | None = None,
        media_type: str = "text/plain",
        size: int | None = None,
        sha256: str | None = None,
        content: str | None = None,
    ) -> None:
        self._emit(
            "artifact",
            artifact_id=artifact_id,
            path=path,
            media_type=media_type,
            size=size,
            sha256=sha256,
            content=content,
        )

    def of(self, kind: str) -> list[dict[str, Any]]:
        return [payload for k, payload in self.events if k == kind]

    def milestones(self) -> list[str]:
        return [payload["name"] for payload in self.of("milestone")]
