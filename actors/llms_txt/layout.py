"""What goes where: the budgets applied, the sections arranged, the notes written, for any caller.

The one-shot generator and the ODA loop (``runwire loop llms-txt``) both lay the analysed files
out through :func:`lay_out`, so every option (budgets, vendored folders, secret screening) means
the same in both and the loop still ends with the one-shot bytes.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from .analyze import Analysis
from .budget import Selection, select
from .classify import SECTION_OF_KIND
from .describer import Describer, ExtractiveDescriber, Overview, guide_sections, overview_of
from .fetch import FetchedSource
from .project import ProjectFacts
from .render import Section, build_sections, full_file_header, render_intro, render_link, render_notes, render_summary
from .textio import estimate_tokens

if TYPE_CHECKING:  # annotations only: importing the package stays light
    from pydantic import JsonValue


if TYPE_CHECKING:
    from .generate import Options

__all__ = ["Layout", "lay_out", "left_out"]


@dataclass(frozen=True, slots=True)
class Layout:
    """The files within both budgets, arranged in sections, and the notes paragraph that says so."""

    overview: Overview
    selection: Selection
    sections: list[Section]
    notes: list[str]


def lay_out(options: Options, src: FetchedSource, analysis: Analysis, facts: ProjectFacts, writer: Describer) -> Layout:
    """Apply both budgets to ``analysis`` and arrange the linked files (the describer may guide the sections)."""
    tree = [(info.rel, SECTION_OF_KIND[info.kind]) for info in analysis.files]
    overview = overview_of(writer, facts, tree)
    readme_title = facts.name if isinstance(writer, ExtractiveDescriber) else None
    selection = _select(options, src, analysis, facts, overview, readme_title)
    sections = guide_sections(
        build_sections(selection.linked, facts.readme, selection.summaries), overview, facts.readme
    )
    return Layout(overview, selection, sections, _notes(src, selection, overview))


def _notes(src: FetchedSource, selection: Selection, overview: Overview) -> list[str]:
    tokens = sum(info.tokens for info in selection.linked)
    notes = render_notes(
        len(selection.linked),
        tokens,
        src.source if src.cloned else None,
        src.commit,
        overview.method,
        summarized=selection.summarized_files,
        full_left_out=len(selection.full_left_out),
    )
    return [*notes, *overview.notes]


def _select(
    options: Options,
    src: FetchedSource,
    analysis: Analysis,
    facts: ProjectFacts,
    overview: Overview,
    readme_title: str | None,
) -> Selection:
    """The files within both budgets; the extractive title of a README without an H1 is the project name."""
    files = [
        replace(info, title=readme_title) if readme_title and info.rel == facts.readme and not info.title else info
        for info in analysis.files
    ]
    widest = render_notes(
        10**9,
        10**12,
        src.source if src.cloned else None,
        src.commit,
        overview.method,
        summarized=10**9,
        full_left_out=10**9,
    )
    fixed = estimate_tokens(render_intro(facts.name, overview.summary, [*widest, *overview.notes])) + 8 * 4
    return select(
        files,
        readme=facts.readme,
        index_tokens=options.max_index_tokens,
        full_tokens=options.max_full_tokens,
        link_tokens=lambda info: estimate_tokens(render_link(info, options.base_url) + "\n"),
        summary_tokens=lambda dirs: estimate_tokens(render_summary(dirs, options.base_url) + "\n"),
        fixed_tokens=fixed,
        full_file_tokens=lambda info: info.tokens + estimate_tokens(full_file_header(info)) + 1,
    )


def left_out(options: Options, selection: Selection) -> dict[str, JsonValue]:
    """What the budgets left out, for the milestone and the result."""
    return {
        "max_index_tokens": options.max_index_tokens,
        "max_full_tokens": options.max_full_tokens,
        "linked": len(selection.linked),
        "index_left_out": selection.summarized_files,
        "index_left_out_dirs": len(selection.summaries),
        "index_left_out_largest": [
            summary.directory or "."
            for summary in sorted(selection.summaries, key=lambda s: (-s.files, s.directory))[:5]
        ],
        "full_left_out": len(selection.full_left_out),
        "full_left_out_tokens": sum(info.tokens for info in selection.full_left_out),
    }
