"""llms.txt as parts — the intro, then one part per H2 section — and llms-full.txt, computed from the
repository with the llms_txt library's public functions.

Why parts: a loop can then regenerate one part per step and still end with the one-shot pipeline's
bytes, because the one-shot file is exactly ``render_intro(...)`` followed by ``render_section(...)``
for each section, and these are the same pure functions used here on the same analysed files.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from runwire.actors.llms_txt import LLMS_FULL_TXT, LLMS_TXT, ExtractiveDescriber, Options, SourceError
from runwire.actors.llms_txt.analyze import analyze, read_candidate
from runwire.actors.llms_txt.classify import SECTION_ORDER
from runwire.actors.llms_txt.fetch import open_source
from runwire.actors.llms_txt.generate import FULL_NOTE
from runwire.actors.llms_txt.ignore import IgnoreRules
from runwire.actors.llms_txt.layout import lay_out
from runwire.actors.llms_txt.output import atomic_outputs
from runwire.actors.llms_txt.project import detect_project
from runwire.actors.llms_txt.render import Section, full_file_header, render_intro
from runwire.actors.llms_txt.render import render_section as _render_section
from runwire.actors.llms_txt.scan import Candidate, walk_tree
from runwire.actors.llms_txt.textio import SkipFile

__all__ = [
    "FULL",
    "INTRO",
    "Part",
    "RepoScan",
    "digest",
    "expected_parts",
    "full_pieces",
    "merge_parts",
    "out_dir",
    "read_parts",
    "render_section",
    "scan_repository",
    "write_text",
]

INTRO = "intro"
FULL = LLMS_FULL_TXT
Part = tuple[str, str]  # (name, text): name is INTRO or a section name
_HEADER = re.compile(r"^## (.*)$", re.MULTILINE)


@dataclass(frozen=True, slots=True)
class RepoScan:
    """What llms.txt is made of: the project's name and summary, the notes, the sections' files."""

    name: str
    summary: str
    notes: list[str]
    sections: list[Section]
    root: str = "/"  # the real root every file is read inside (checked on the descriptor)
    secret_scan: bool = True
    in_full: frozenset[str] | None = None  # the files llms-full.txt holds (None: every linked file)


def out_dir(options: Options) -> Path:
    return Path(options.out).expanduser().resolve()


def scan_repository(options: Options, section: str | None = None) -> RepoScan:
    """Analyse the repository as the one-shot generator does (same budgets, same layout); with
    ``section``, only that section is kept (every file is still read: the budgets rank them all).
    """
    options.validate()
    out = out_dir(options)
    describer = ExtractiveDescriber()
    with open_source(options.source, tmp_root=options.tmp_root) as src:
        rules = IgnoreRules.for_root(src.root, options.exclude, defaults=options.default_excludes)
        own = frozenset(
            (out / name).relative_to(src.root).as_posix()
            for name in (LLMS_TXT, LLMS_FULL_TXT)
            if (out / name).is_relative_to(src.root)
        )
        walk = walk_tree(
            src.root, rules, max_file_bytes=options.max_file_bytes, skip=own, vendored=options.include_vendored
        )
        analysis = analyze(
            walk.candidates,
            describer,
            max_file_bytes=options.max_file_bytes,
            root=str(src.root),
            secret_scan=options.secret_scan,
        )
        if not analysis.files:
            raise SourceError(f"no text files to describe in {src.source}")
        facts = detect_project(analysis.project_texts, src.default_name, "url" if src.cloned else "directory")
        layout = lay_out(options, src, analysis, facts, describer)
        sections = [s for s in layout.sections if section is None or s.name == section]
        return RepoScan(
            facts.name,
            layout.overview.summary,
            layout.notes,
            sections,
            str(src.root),
            options.secret_scan,
            layout.selection.in_full,
        )


def render_section(section: Section, base_url: str | None) -> str:
    return _render_section(section, base_url)


def expected_parts(scan: RepoScan, base_url: str | None) -> list[Part]:
    """llms.txt as the one-shot generator writes it, cut into parts: ''.join(texts) is the file."""
    intro = render_intro(scan.name, scan.summary, scan.notes)
    return [(INTRO, intro), *((s.name, _render_section(s, base_url)) for s in scan.sections)]


def read_parts(path: Path) -> list[Part]:
    """The parts of an existing llms.txt ([] when there is none): the text before the first H2, then each H2."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    except (OSError, UnicodeDecodeError):
        return [(INTRO, "\ufffd unreadable")]  # stale by construction: regenerated from scratch
    starts = [m.start() for m in _HEADER.finditer(text)]
    # a rendered section begins with the blank line before its header
    cuts = [s - 1 if s > 0 and text[s - 1] == "\n" else s for s in starts]
    parts: list[Part] = []
    if not cuts or cuts[0] > 0:
        parts.append((INTRO, text[: cuts[0]] if cuts else text))
    for i, cut in enumerate(cuts):
        end = cuts[i + 1] if i + 1 < len(cuts) else len(text)
        name = _HEADER.search(text, starts[i])
        parts.append((name.group(1).strip() if name else "", text[cut:end]))
    return parts


def merge_parts(current: list[Part], name: str, text: str | None) -> list[Part]:
    """``current`` with part ``name`` replaced, added or (text None) dropped, in llms.txt order."""
    parts = [(n, t) for n, t in current if n != name]
    if text is not None:
        parts.append((name, text))
    order = {INTRO: -1, **{s: i for i, s in enumerate(SECTION_ORDER)}}
    return sorted(parts, key=lambda p: order.get(p[0], len(order)))  # stable: unknown parts keep their order


def full_pieces(scan: RepoScan, max_file_bytes: int) -> Iterator[str]:
    """llms-full.txt in the one-shot generator's order and framing, piece by piece (never all in memory)."""
    yield render_intro(scan.name, scan.summary, [*scan.notes, FULL_NOTE])
    for section in scan.sections:
        kept = [info for info in section.files if scan.in_full is None or info.rel in scan.in_full]
        if not kept:
            continue
        yield f"\n## {section.name}\n"
        for info in kept:
            yield "\n" + full_file_header(info)
            try:  # screened and checked as in the one-shot read (a loop step reads in its own run)
                text, _ = read_candidate(
                    scan.root, Candidate(info.rel, info.path, info.size), max_file_bytes, secret_scan=scan.secret_scan
                )
            except SkipFile as exc:
                raise SourceError(f"{info.rel} changed while it was being read ({exc.reason})") from exc
            yield text if text.endswith("\n") else text + "\n"


def digest(pieces: Iterable[str]) -> str:
    h = hashlib.sha256()
    for piece in pieces:
        h.update(piece.encode("utf-8"))
    return h.hexdigest()


def file_digest(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def write_text(out: Path, name: str, pieces: Iterable[str]) -> tuple[str, int, str]:
    """Write ``pieces`` to ``out/name`` atomically; return (path, bytes, sha256)."""
    with atomic_outputs(out, (name,)) as handles:
        handle = handles[name]
        for piece in pieces:
            handle.write(piece)
        handle.finish()
        written = handle.commit()
    return written.path, written.size, written.sha256
