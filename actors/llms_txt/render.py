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
from .budget import DirSummary
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
    "render_summary",
]

FULL_RULE = "=" * 64
_URL_SAFE = "/-._~!$&'*+,;=:@"


@dataclass(frozen=True, slots=True)
class Section:
    """One H2 section of llms.txt and the files it links, in order."""

    name: str
    files: tuple[FileInfo, ...]
    summaries: tuple[DirSummary, ...] = ()


def build_sections(
    files: Iterable[FileInfo], readme: str | None = None, summaries: Sequence[DirSummary] = ()
) -> list[Section]:
    """Files grouped into sections in llmstxt.org order; the root README leads Docs, the rest keep their order.

    ``summaries`` (the files left out for size, per directory) close the Optional section.
    """
    groups: dict[str, list[FileInfo]] = {name: [] for name in SECTION_ORDER}
    for info in files:
        groups[SECTION_OF_KIND[info.kind]].append(info)
    docs = groups["Docs"]
    leading = [info for info in docs if info.rel == readme]
    groups["Docs"] = leading + [info for info in docs if info.rel != readme]
    return [
        Section(name, tuple(groups[name]), tuple(summaries) if name == "Optional" else ())
        for name in SECTION_ORDER
        if groups[name] or (name == "Optional" and summaries)
    ]


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


def render_summary(summary: DirSummary, base_url: str | None = None) -> str:
    """``- [dir/](dir/): N more files, ~T tokens: a.py, b.py, ...`` for files left out of the links."""
    label = f"{summary.directory}/" if summary.directory else "./"
    examples = ", ".join(summary.examples) + (", …" if summary.files > len(summary.examples) else "")
    files = "file" if summary.files == 1 else "files"
    shown = label.replace("[", "(").replace("]", ")")
    return (
        f"- [{shown}]({link_url(label, base_url)}): {summary.files:,} more {files} not linked here, "
        f"~{summary.tokens:,} tokens: {examples}"
    )


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
    *,
    summarized: int = 0,
    full_left_out: int = 0,
) -> list[str]:
    """The notes paragraph: what the index is and how big, and what was left out for size.

    The source is named only when cloned (local paths vary).
    """
    full = "llms-full.txt holds their full text"
    if full_left_out:
        full = f"llms-full.txt holds the full text of all but {full_left_out:,} of them, left out for size"
    notes = [
        f"This index was generated from the repository's own files, with {method}. "
        f"It links {files:,} files, about {tokens:,} tokens in all (estimated); {full}."
    ]
    if summarized:
        notes.append(
            f"Left out for size: {summarized:,} less important files (tests, fixtures, vendored and deeper "
            "modules first) are not linked one by one; the Optional section counts them per directory."
        )
    if source and commit:
        notes.append(f"Source: {source} at commit {commit}.")
    elif source:
        notes.append(f"Source: {source}.")
    return notes


def render_section(section: Section, base_url: str | None = None) -> str:
    """``## name`` and its link lines, preceded by a blank line."""
    lines = [render_link(info, base_url) for info in section.files]
    lines += [render_summary(summary, base_url) for summary in section.summaries]
    return f"\n## {section.name}\n\n" + "\n".join(lines) + "\n"


def full_file_header(info: FileInfo) -> str:
    """The banner before a file's text in llms-full.txt: path and token estimate between rules."""
    return f"{FULL_RULE}\nFile: {info.rel}\nTokens: ~{info.tokens:,}\n{FULL_RULE}\n"
