"""The seam where descriptions are written: extractive here, an LM in ``runwire.actors.dspy``.

The generator asks a :class:`Describer` for the project summary and for each linked file's
description, and nothing else; an LM-backed describer only has to implement these two methods
(and may stream its text through the run context it was built with). Two optional methods let a
slow describer do more: ``describe_many`` (describe files concurrently, results in input order)
and ``overview`` (a repository-level reading that writes the notes and guides the sections);
:func:`describe_all` and :func:`overview_of` call them when present.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from .classify import SECTION_ORDER
from .extract import clip, extract
from .project import ProjectFacts

if TYPE_CHECKING:
    from .render import Section

__all__ = [
    "Describer",
    "ExtractiveDescriber",
    "FileDescription",
    "MAX_SUMMARY",
    "Overview",
    "describe_all",
    "guide_sections",
    "overview_of",
]

MAX_SUMMARY = 300


@dataclass(frozen=True, slots=True)
class FileDescription:
    """How one file is linked: ``title`` (None = use the path) and a one-line ``description`` ('' = none)."""

    title: str | None
    description: str


@dataclass(frozen=True, slots=True)
class Overview:
    """A repository-level reading: the summary line, notes paragraphs, and how to arrange the links.

    ``method`` names how the words were written (it goes into the notes). ``key_files`` lead their
    sections, in that order; ``optional_files`` move to the Optional section. Unknown paths are ignored.
    """

    summary: str
    notes: tuple[str, ...] = ()
    key_files: tuple[str, ...] = ()
    optional_files: tuple[str, ...] = ()
    method: str = "extractive descriptions"


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


def describe_all(describer: Describer, items: Iterable[tuple[str, str]]) -> Iterator[FileDescription]:
    """One description per ``(rel, text)``, in input order: concurrently when the describer can.

    ``items`` is consumed lazily (a concurrent describer reads a bounded window ahead).
    """
    many = getattr(describer, "describe_many", None)
    if many is not None:
        yield from many(items)
        return
    for rel, text in items:
        yield describer.describe(rel, text)


def overview_of(describer: Describer, facts: ProjectFacts, files: Sequence[tuple[str, str]]) -> Overview:
    """The describer's :class:`Overview` of the repository (``files``: ``(rel, section)`` pairs), else its summary."""
    reader = getattr(describer, "overview", None)
    if reader is not None:
        overview = reader(facts, files)
        if not isinstance(overview, Overview):
            raise TypeError(f"{type(describer).__name__}.overview must return an Overview, got {type(overview)}")
        return overview
    return Overview(describer.summarize(facts))


def guide_sections(sections: Sequence[Section], overview: Overview, readme: str | None = None) -> list[Section]:
    """``sections`` with the overview's key files first in their sections and its optional files moved to Optional.

    The root README (``readme``) keeps its place at the head of Docs; all else keeps its order.
    """
    from .render import Section  # render imports this module's users: import at call time

    rank = {rel: index for index, rel in enumerate(dict.fromkeys(overview.key_files))}
    optional = set(overview.optional_files) - set(rank) - {readme}
    if not rank and not optional:
        return list(sections)
    groups = {
        section.name: [info for info in section.files if section.name == "Optional" or info.rel not in optional]
        for section in sections
    }
    moved = [info for sec in sections if sec.name != "Optional" for info in sec.files if info.rel in optional]
    groups["Optional"] = moved + groups.get("Optional", [])
    for files in groups.values():
        files.sort(key=lambda info: -1 if info.rel == readme else rank.get(info.rel, len(rank)))  # stable
    names = [name for name in SECTION_ORDER if name in groups] + [name for name in groups if name not in SECTION_ORDER]
    summaries = {section.name: section.summaries for section in sections}  # per-directory lines stay put
    return [
        Section(name, tuple(groups[name]), summaries.get(name, ()))
        for name in names
        if groups[name] or summaries.get(name)
    ]
