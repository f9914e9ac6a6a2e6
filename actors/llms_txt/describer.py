"""The seam where descriptions are written: extractive now, an LM (DSPy) later.

The generator asks a :class:`Describer` for the project summary and for each linked file's
description, and nothing else; an LM-backed describer only has to implement these two methods
(and may stream its text through the run context it was built with).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from .extract import clip, extract
from .project import ProjectFacts

__all__ = ["Describer", "ExtractiveDescriber", "FileDescription", "MAX_SUMMARY"]

MAX_SUMMARY = 300


@dataclass(frozen=True, slots=True)
class FileDescription:
    """How one file is linked: ``title`` (None = use the path) and a one-line ``description`` ('' = none)."""

    title: str | None
    description: str


class Describer(Protocol):
    """Writes the words of llms.txt; must be deterministic for the output to be."""

    def summarize(self, facts: ProjectFacts) -> str:
        """One line for the blockquote under the H1."""
        ...

    def describe(self, rel: str, text: str) -> FileDescription:
        """Title and one-line description of the file at ``rel`` whose full text is ``text``."""
        ...


class ExtractiveDescriber:
    """Takes every word from the repository itself: headings, first paragraphs, docstrings, comments."""

    def summarize(self, facts: ProjectFacts) -> str:
        """The manifest description, else the README's first paragraph, else a plain fallback."""
        text = facts.manifest_description or facts.readme_paragraph
        return clip(text, MAX_SUMMARY) if text else f"The {facts.name} repository."

    def describe(self, rel: str, text: str) -> FileDescription:
        """First heading/paragraph, module docstring or leading comment (see :func:`extract`)."""
        title, description = extract(rel, text)
        return FileDescription(title, description)
