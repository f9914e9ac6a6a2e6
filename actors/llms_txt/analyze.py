"""Read each candidate once: decide it is text, estimate its tokens, and describe it.

The text is dropped right after (llms-full.txt reads it again while streaming), so memory stays
flat however large the tree; only the root README and manifests are kept for the project facts.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from .classify import Kind, classify
from .describer import Describer
from .project import is_project_file
from .scan import Candidate
from .textio import SkipFile, estimate_tokens, read_text

__all__ = ["Analysis", "FileInfo", "analyze", "count_kinds"]


@dataclass(frozen=True, slots=True)
class FileInfo:
    """One file that llms.txt links: where it is, what it is, and how it is described."""

    rel: str
    path: str
    size: int
    kind: Kind
    tokens: int
    title: str | None
    description: str


@dataclass(slots=True)
class Analysis:
    """The described files (in candidate order) and the ones skipped on reading, by reason."""

    files: list[FileInfo] = field(default_factory=list)
    skipped_files: Counter[str] = field(default_factory=Counter)
    project_texts: dict[str, str] = field(default_factory=dict)

    @property
    def tokens(self) -> int:
        """Estimated tokens of all described files."""
        return sum(info.tokens for info in self.files)


def count_kinds(files: Iterable[FileInfo]) -> dict[str, int]:
    """Files per kind, in a stable key order."""
    counts = Counter(info.kind for info in files)
    return {kind: counts[kind] for kind in sorted(counts)}


def _no_progress(done: int, total: int) -> None:
    return None


def analyze(
    candidates: Sequence[Candidate],
    describer: Describer,
    *,
    max_file_bytes: int,
    on_file: Callable[[int, int], None] = _no_progress,
) -> Analysis:
    """Read, check and describe every candidate; ``on_file(done, total)`` runs after each one."""
    result = Analysis()
    total = len(candidates)
    for done, candidate in enumerate(candidates, 1):
        try:
            text = read_text(candidate.path, max_file_bytes)
        except SkipFile as skipped:
            result.skipped_files[skipped.reason] += 1
        else:
            described = describer.describe(candidate.rel, text)
            result.files.append(
                FileInfo(
                    rel=candidate.rel,
                    path=candidate.path,
                    size=candidate.size,
                    kind=classify(candidate.rel),
                    tokens=estimate_tokens(text),
                    title=described.title,
                    description=described.description,
                )
            )
            if is_project_file(candidate.rel):
                result.project_texts[candidate.rel] = text
        on_file(done, total)
    return result
