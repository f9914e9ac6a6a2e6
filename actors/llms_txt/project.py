"""The project's name and candidate summaries, from its manifests and README.

Manifests (pyproject.toml, package.json, Cargo.toml) name a project more reliably than a README
heading, so they win for the name; the summary prefers a manifest description and falls back to
the README's first paragraph. Only files the scan kept are consulted.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .classify import is_readme
from .extract import clean_inline, markdown_outline, rst_outline
from .textio import extension

__all__ = ["MANIFESTS", "ProjectFacts", "detect_project", "is_project_file", "pick_readme"]

MANIFESTS: tuple[str, ...] = ("pyproject.toml", "package.json", "Cargo.toml")
_README_PREFERENCE = ("md", "markdown", "rst", "txt", "")


@dataclass(frozen=True, slots=True)
class ProjectFacts:
    """What the repository says about itself; a :class:`Describer` turns it into the summary."""

    name: str
    name_from: str  # the file the name came from, or "directory" / "url"
    manifest_description: str | None
    readme: str | None  # path of the root README used
    readme_title: str | None
    readme_paragraph: str | None


def is_project_file(rel: str) -> bool:
    """True for root files that describe the project (README*, the manifests): their text is kept."""
    return "/" not in rel and (rel in MANIFESTS or is_readme(rel))


def pick_readme(names: list[str]) -> str | None:
    """The root README to use when several exist: Markdown over RST over text, then by name."""
    readmes = [name for name in names if "/" not in name and is_readme(name)]

    def rank(name: str) -> tuple[int, str]:
        ext = extension(name)
        return (_README_PREFERENCE.index(ext) if ext in _README_PREFERENCE else len(_README_PREFERENCE), name)

    return min(readmes, key=rank) if readmes else None


def _str(value: Any) -> str | None:
    if isinstance(value, str) and value.strip():
        return " ".join(value.split())
    return None


def _manifest_facts(rel: str, text: str) -> tuple[str | None, str | None]:
    """(name, description) declared by one manifest; (None, None) when it says nothing or does not parse."""
    try:
        if rel == "package.json":
            data = json.loads(text)
            return (_str(data.get("name")), _str(data.get("description"))) if isinstance(data, dict) else (None, None)
        data = tomllib.loads(text)
    except (ValueError, tomllib.TOMLDecodeError):
        return None, None
    poetry = data.get("tool", {}).get("poetry") if isinstance(data.get("tool"), dict) else None
    table = data.get("package") if rel == "Cargo.toml" else data.get("project") or poetry
    if not isinstance(table, dict):
        return None, None
    return _str(table.get("name")), _str(table.get("description"))


def detect_project(texts: Mapping[str, str], default_name: str, default_from: str = "directory") -> ProjectFacts:
    """Facts from the root README and manifests in ``texts`` (path -> text of the files the scan kept)."""
    name: str | None = None
    name_from = default_from
    description: str | None = None
    for manifest in MANIFESTS:
        if manifest not in texts:
            continue
        found_name, found_description = _manifest_facts(manifest, texts[manifest])
        if name is None and found_name:
            name, name_from = found_name, manifest
        description = description or found_description
    readme = pick_readme(sorted(texts))
    title = paragraph = None
    if readme is not None:
        outline = rst_outline if extension(readme) == "rst" else markdown_outline
        title, paragraph = outline(texts[readme])
    if name is None and title:
        name, name_from = clean_inline(title), readme or default_from
    return ProjectFacts(
        name=name or default_name,
        name_from=name_from,
        manifest_description=description,
        readme=readme,
        readme_title=title,
        readme_paragraph=paragraph,
    )
