"""Keep llms.txt an index and llms-full.txt a readable size, whatever the size of the tree.

Files are taken in order of importance (:mod:`.rank`) while their link lines fit the llms.txt
budget; the rest are summarised per directory (one line each, coarser directories when even those
lines would not fit). llms-full.txt then takes the linked files, in the same order of importance,
while their text fits its own budget. Both choices depend only on paths and token estimates, so
they are the same on every run.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from .analyze import FileInfo
from .rank import ranked

__all__ = ["DirSummary", "Selection", "select"]

_SUMMARY_SHARE = 10  # at most 1/10 of the index budget is kept back for the per-directory lines
_EXAMPLES = 3


@dataclass(frozen=True, slots=True)
class DirSummary:
    """Files not linked one by one, counted under their directory ('' = the root)."""

    directory: str
    files: int
    tokens: int
    examples: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Selection:
    """What goes where: linked files (input order), per-directory summaries, and llms-full.txt's files."""

    linked: tuple[FileInfo, ...]
    summaries: tuple[DirSummary, ...]
    in_full: frozenset[str]
    full_left_out: tuple[FileInfo, ...]

    @property
    def summarized_files(self) -> int:
        """Files left out of llms.txt's links (each counted in one summary)."""
        return sum(summary.files for summary in self.summaries)


def _summaries(files: Sequence[FileInfo], depth: int) -> list[DirSummary]:
    groups: dict[str, list[FileInfo]] = {}
    for info in files:
        parts = info.rel.split("/")[:-1][:depth]
        groups.setdefault("/".join(parts), []).append(info)
    return [
        DirSummary(
            directory=directory,
            files=len(members),
            tokens=sum(info.tokens for info in members),
            examples=tuple(info.rel.rsplit("/", 1)[-1] for info in members[:_EXAMPLES]),
        )
        for directory, members in sorted(groups.items())
    ]


def select(
    files: Sequence[FileInfo],
    *,
    readme: str | None,
    index_tokens: int,
    full_tokens: int,
    link_tokens: Callable[[FileInfo], int],
    summary_tokens: Callable[[DirSummary], int],
    fixed_tokens: int,
    full_file_tokens: Callable[[FileInfo], int],
) -> Selection:
    """Choose the linked files and llms-full.txt's files within the two budgets (tokens, estimated)."""
    order = ranked(files, readme)
    room = index_tokens - fixed_tokens
    summaries: list[DirSummary] = []
    if sum(link_tokens(info) for info in order) <= room:
        chosen = list(order)
        rest: list[FileInfo] = []
    else:
        room_for_links = room - max(room // _SUMMARY_SHARE, 0)
        chosen, rest, used = [], [], 0
        for info in order:
            cost = link_tokens(info)
            if not rest and used + cost <= room_for_links:
                chosen.append(info)
                used += cost
            else:
                rest.append(info)
        rest.sort(key=lambda info: info.rel)
        max_depth = max((info.rel.count("/") for info in rest), default=0)
        for depth in range(max_depth, -1, -1):  # coarser directories until the lines fit
            summaries = _summaries(rest, depth)
            if used + sum(summary_tokens(s) for s in summaries) <= room or depth == 0:
                break
    linked_rels = {info.rel for info in chosen}
    in_full: set[str] = set()
    left_out: list[FileInfo] = []
    full_used = 0
    for info in order:
        if info.rel not in linked_rels:
            continue
        cost = full_file_tokens(info)
        if full_used + cost <= full_tokens:
            in_full.add(info.rel)
            full_used += cost
        else:
            left_out.append(info)
    return Selection(
        linked=tuple(info for info in files if info.rel in linked_rels),
        summaries=tuple(summaries),
        in_full=frozenset(in_full),
        full_left_out=tuple(left_out),
    )
