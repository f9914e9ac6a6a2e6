"""The text of llms.txt and the framing of llms-full.txt, as pure functions of the analysed files.

llms.txt follows llmstxt.org: ``# name``, ``> summary``, notes, then ``## Section`` lists of
``- [title](url): description``. Titles, URLs and descriptions are sanitised so every link line
parses (no ``]`` in a title, no ``)`` or space in a URL, one line each). Nothing depends on the
clock or the machine, so the same files give the same bytes.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import quote

from .analyze import FileInfo
from .classify import SECTION_OF_KIND, SECTION_ORDER

__all__ = [
    "FULL_RULE",
    "Section",
    "build_sections",
    "full_file_header",
    "link_url",
    "render_intro",
    "render_link",
    "render_notes",
    "render_section",
]

FULL_RULE = "=" * 64
_URL_SAFE = "/-._~!$&'*+,;=:@"


@dataclass(frozen=True, slots=True)
class Section:
    """One H2 section of llms.txt and the files it links, in order."""

    name: str
    files: tuple[FileInfo, ...]


def build_sections(files: Iterable[FileInfo], readme: str | None = None) -> list[Section]:
    """Files grouped into sections in llmstxt.org order; the root README leads Docs, the rest keep their order."""
    groups: dict[str, list[FileInfo]] = {name: [] for name in SECTION_ORDER}
    for info in files:
        groups[SECTION_OF_KIND[info.kind]].append(info)
    docs = groups["Docs"]
    leading = [info for info in docs if info.rel == readme]
    groups["Docs"] = leading + [info for info in docs if info.rel != readme]
    return [Section(name, tuple(groups[name])) for name in SECTION_ORDER if groups[name]]


def _one_line(text: str) -> str:
    return " ".join(text.split())


def link_url(rel: str, base_url: str | None = None) -> str:
    """The file's URL: its percent-encoded relative path, or that path under ``base_url``."""
    path = quote(rel, safe=_URL_SAFE)
    return f"{base_url.rstrip('/')}/{path}" if base_url else path


def render_link(info: FileInfo, base_url: str | None = None) -> str:
    """``- [title](url): description`` (no ``: ...`` when there is no description)."""
    title = _one_line(info.title or info.rel).replace("[", "(").replace("]", ")") or info.rel
    line = f"- [{title}]({link_url(info.rel, base_url)})"
    description = _one_line(info.description)
    return f"{line}: {description}" if description else line


def render_intro(name: str, summary: str, notes: Sequence[str]) -> str:
    """H1, blockquote summary and notes paragraphs, ending with one blank line."""
    parts = [f"# {_one_line(name)}", f"> {_one_line(summary)}", *(_one_line(note) for note in notes if note.strip())]
    return "\n\n".join(parts) + "\n"


def render_notes(
    files: int,
    tokens: int,
    source: str | None = None,
    commit: str | None = None,
    method: str = "extractive descriptions",
) -> list[str]:
    """The notes paragraph: what the index is and how big; the source only when cloned (local paths vary)."""
    notes = [
        f"This index was generated from the repository's own files, with {method}. "
        f"It links {files:,} files, about {tokens:,} tokens in all (estimated); llms-full.txt holds their full text."
    ]
    if source and commit:
        notes.append(f"Source: {source} at commit {commit}.")
    elif source:
        notes.append(f"Source: {source}.")
    return notes


def render_section(section: Section, base_url: str | None = None) -> str:
    """``## name`` and its link lines, preceded by a blank line."""
    links = "\n".join(render_link(info, base_url) for info in section.files)
    return f"\n## {section.name}\n\n{links}\n"


def full_file_header(info: FileInfo) -> str:
    """The banner before a file's text in llms-full.txt: path and token estimate between rules."""
    return f"{FULL_RULE}\nFile: {info.rel}\nTokens: ~{info.tokens:,}\n{FULL_RULE}\n"
