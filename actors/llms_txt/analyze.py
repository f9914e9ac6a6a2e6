"""Read each candidate once: decide it is text, screen it for secrets, estimate its tokens, describe it.

The one read is checked on its descriptor (inside the root, a regular file: see safe_open), and
its screened text is the only text used: it goes to a spool file that llms-full.txt is copied
from, so no name is opened twice (nothing to swap in between) and memory stays flat however large
the tree; only the root README and manifests are kept for the project facts.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from .classify import Kind, classify
from .describer import Describer, describe_all
from .project import is_project_file
from .safe_open import read_bytes_inside
from .scan import Candidate
from .secrets import SecretFinding, redact_secrets, secret_file_reason
from .spool import TextSpool
from .textio import SkipFile, decode_text, estimate_tokens

__all__ = ["OWN_OUTPUT_MARKS", "Analysis", "FileInfo", "analyze", "count_kinds", "is_own_output", "read_candidate"]

# Phrases only runwire's own llms.txt / llms-full.txt carry (its notes, and the llms-full.txt banner).
OWN_OUTPUT_MARKS: tuple[str, ...] = (
    "This index was generated from the repository's own files",
    "This file holds the full text of the files that llms.txt links",
)
_OWN_OUTPUT_NAMES = frozenset({"llms.txt", "llms-full.txt"})


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
    secrets: list[SecretFinding] = field(default_factory=list)
    texts: TextSpool | None = None

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


def is_own_output(rel: str, text: str) -> bool:
    """True for an llms.txt / llms-full.txt that runwire wrote (an earlier run, or the MCP tool's)."""
    return rel.rsplit("/", 1)[-1] in _OWN_OUTPUT_NAMES and any(mark in text[:8192] for mark in OWN_OUTPUT_MARKS)


def read_candidate(
    root: str, candidate: Candidate, max_file_bytes: int, *, secret_scan: bool = True
) -> tuple[str, SecretFinding | None]:
    """The candidate's text, read once from a descriptor checked to be inside ``root``, secrets removed.

    Raises :class:`SkipFile` for everything that is not published: ``secret`` (a credential file
    or a private key; the finding is on the exception), ``output`` (runwire's own), and the read
    reasons (``symlink`` when the path now leads out of the root, ``special``, ``binary``...).
    """
    name = candidate.rel.rsplit("/", 1)[-1]
    reason = secret_file_reason(name) if secret_scan else None
    if reason:
        raise _SecretSkip(SecretFinding(candidate.rel, (reason,)))
    text = decode_text(read_bytes_inside(root, candidate.path, max_file_bytes), max_file_bytes)
    if is_own_output(candidate.rel, text):
        raise SkipFile("output")
    if not secret_scan:
        return text, None
    screened, finding = redact_secrets(candidate.rel, text)
    if screened is None:
        assert finding is not None
        raise _SecretSkip(finding)
    return screened, finding


class _SecretSkip(SkipFile):
    def __init__(self, finding: SecretFinding) -> None:
        super().__init__("secret")
        self.finding = finding


def analyze(
    candidates: Sequence[Candidate],
    describer: Describer,
    *,
    max_file_bytes: int,
    root: str,
    on_file: Callable[[int, int], None] = _no_progress,
    texts: TextSpool | None = None,
    secret_scan: bool = True,
) -> Analysis:
    """Read, screen and describe every candidate; ``on_file(done, total)`` runs after each one.

    ``root`` is the real path every file must stay inside; ``texts`` keeps each text for llms-full.txt.
    Files are read lazily as the describer asks for them (:func:`describe_all`): a concurrent
    describer reads a bounded window ahead, and the descriptions come back in candidate order.
    """
    result = Analysis(texts=texts)
    total = len(candidates)
    done = 0
    read: deque[tuple[Candidate, int]] = deque()  # read, not yet described: (candidate, tokens)

    def skipped(reason: str) -> None:
        nonlocal done
        result.skipped_files[reason] += 1
        done += 1
        on_file(done, total)

    def readable() -> Iterator[tuple[str, str]]:
        for candidate in candidates:
            try:
                text, finding = read_candidate(root, candidate, max_file_bytes, secret_scan=secret_scan)
            except _SecretSkip as skip:
                result.secrets.append(skip.finding)
                skipped("secret")
                continue
            except SkipFile as skip:
                skipped(skip.reason)
                continue
            if finding is not None:
                result.secrets.append(finding)
            if texts is not None:
                texts.put(candidate.rel, text)
            if is_project_file(candidate.rel):
                result.project_texts[candidate.rel] = text
            read.append((candidate, estimate_tokens(text)))
            yield candidate.rel, text

    for described in describe_all(describer, readable()):
        candidate, tokens = read.popleft()
        result.files.append(
            FileInfo(
                rel=candidate.rel,
                path=candidate.path,
                size=candidate.size,
                kind=classify(candidate.rel),
                tokens=tokens,
                title=described.title,
                description=described.description,
            )
        )
        done += 1
        on_file(done, total)
    return result
