"""The generator end to end: fetch, walk, analyse, render, write, with events along the way.

Everything the caller sees goes through a :class:`Reporter` (the run context, or nothing), and
the events are computed from values the files are written from, so instrumentation never changes
an output byte. Checks for cancellation run per directory and per file; any exception leaves the
output directory as it was and removes the clone.
"""

from __future__ import annotations

import re
from collections import Counter
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .analyze import Analysis, FileInfo, analyze, count_kinds
from .context import NullReporter, ProgressTracker, Reporter
from .describer import Describer, ExtractiveDescriber
from .errors import LlmsTxtError, SourceError
from .fetch import FetchedSource, open_source
from .ignore import IgnoreRules, pattern_compiles
from .layout import Layout, lay_out, left_out
from .output import AtomicTextFile, WrittenFile, atomic_outputs, check_out_dir
from .project import detect_project
from .render import (
    Section,
    full_file_header,
    render_intro,
    render_section,
)
from .scan import WalkResult, path_key, walk_tree
from .spool import TextSpool
from .textio import CHARS_PER_TOKEN, estimate_tokens

if TYPE_CHECKING:  # annotations only: importing the package stays light
    from pydantic import JsonValue


__all__ = [
    "DEFAULT_FULL_TOKENS",
    "DEFAULT_INDEX_TOKENS",
    "DEFAULT_MAX_FILE_BYTES",
    "DEFAULT_PARTIAL_LIMIT",
    "FULL_NOTE",
    "LLMS_FULL_TXT",
    "LLMS_TXT",
    "PARTIAL_CHUNK_BYTES",
    "Options",
    "generate",
    "utf8_chunks",
]

LLMS_TXT = "llms.txt"
LLMS_FULL_TXT = "llms-full.txt"
DEFAULT_MAX_FILE_BYTES = 512 * 1024
DEFAULT_PARTIAL_LIMIT = 1 << 20
DEFAULT_INDEX_TOKENS = 50_000
DEFAULT_FULL_TOKENS = 1_000_000
MIN_INDEX_TOKENS = 1_000
INLINE_CONTENT_LIMIT = 64 * 1024
MEDIA_TYPE = "text/markdown"
PARTIAL_CHUNK_BYTES = 16 * 1024
_URL_RE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://\S+$")
FULL_NOTE = (
    "This file holds the full text of the files that llms.txt links, section by section in the same order; "
    "each file follows a banner with its path and estimated tokens."
)


@dataclass(frozen=True, slots=True)
class Options:
    """What to generate from where. ``partial_limit`` caps the llms-full.txt text streamed as partials."""

    source: str
    out: str = "."
    base_url: str | None = None
    exclude: tuple[str, ...] = ()
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES
    default_excludes: bool = True
    tmp_root: str | None = None
    partial_limit: int = DEFAULT_PARTIAL_LIMIT
    include_vendored: bool = False
    secret_scan: bool = True
    max_index_tokens: int = DEFAULT_INDEX_TOKENS
    max_full_tokens: int = DEFAULT_FULL_TOKENS

    def validate(self) -> None:
        """Raise :class:`LlmsTxtError` for option values that cannot work."""
        if self.base_url is not None and not _URL_RE.match(self.base_url):
            raise LlmsTxtError(f"base_url must be an absolute URL such as https://host/path/: {self.base_url!r}")
        if self.max_file_bytes < 1:
            raise LlmsTxtError(f"max_file_bytes must be a positive number of bytes: {self.max_file_bytes}")
        if self.max_index_tokens < MIN_INDEX_TOKENS:
            raise LlmsTxtError(f"max_index_tokens must be at least {MIN_INDEX_TOKENS:,}: {self.max_index_tokens}")
        if self.max_full_tokens < 1:
            raise LlmsTxtError(f"max_full_tokens must be a positive number of tokens: {self.max_full_tokens}")
        if self.partial_limit < 0:
            raise LlmsTxtError(f"partial_limit must be >= 0: {self.partial_limit}")
        for pattern in self.exclude:
            if pattern.strip() and not pattern_compiles(pattern):
                raise LlmsTxtError(f"exclude pattern is not a valid gitignore pattern: {pattern!r}")


@dataclass(frozen=True, slots=True)
class _Output:
    """A committed output file, its token estimate, and its text when small enough to inline."""

    file: WrittenFile
    tokens: int
    content: str | None


def utf8_chunks(text: str, limit: int = PARTIAL_CHUNK_BYTES) -> list[str]:
    """``text`` cut into pieces of at most ``limit`` UTF-8 bytes each, never inside a character."""
    data = text.encode("utf-8")
    chunks: list[str] = []
    start = 0
    while start < len(data):
        end = min(start + limit, len(data))
        while end < len(data) and (data[end] & 0xC0) == 0x80:  # a continuation byte: back off to the start
            end -= 1
        chunks.append(data[start:end].decode("utf-8"))
        start = end
    return chunks


class _Stream:
    """One output file plus its ``artifact.partial`` stream (buffered, and capped at ``budget`` chars).

    Each partial carries at most :data:`PARTIAL_CHUNK_BYTES` of UTF-8, however large one write is.
    """

    def __init__(self, handle: AtomicTextFile, reporter: Reporter, artifact_id: str, budget: int | None) -> None:
        self.handle = handle
        self.chars = 0
        self._reporter = reporter
        self._id = artifact_id
        self._budget = budget
        self._pending: list[str] = []
        self._pending_chars = 0

    def write(self, text: str) -> None:
        self.handle.write(text)
        self.chars += len(text)
        if self._budget is not None:
            if self._budget <= 0:
                return
            text = text[: self._budget]
            self._budget -= len(text)
            if self._budget <= 0:
                self._reporter.log(f"{self._id}: partial stream capped; the artifact event has the whole file")
        self._pending.append(text)
        self._pending_chars += len(text)
        if self._pending_chars >= PARTIAL_CHUNK_BYTES:
            self.flush()

    def flush(self) -> None:
        if self._pending:
            text = "".join(self._pending)
            self._pending.clear()
            self._pending_chars = 0
            for chunk in utf8_chunks(text):
                self._reporter.artifact_partial(self._id, chunk)


def _json_counts(counter: Counter[str] | dict[str, int]) -> dict[str, JsonValue]:
    return {key: counter[key] for key in sorted(counter) if counter[key]}


def generate(
    options: Options, reporter: Reporter | None = None, describer: Describer | None = None
) -> dict[str, JsonValue]:
    """Write llms.txt and llms-full.txt for ``options.source`` into ``options.out``; return a JSON summary."""
    options.validate()
    events: Reporter = reporter if reporter is not None else NullReporter()
    writer: Describer = describer if describer is not None else ExtractiveDescriber()
    out = Path(options.out).expanduser().resolve()
    check_out_dir(out, (LLMS_TXT, LLMS_FULL_TXT))
    progress = ProgressTracker(events)
    progress.update(0.0, "fetching the source", force=True)
    with ExitStack() as stack:
        src = stack.enter_context(
            open_source(
                options.source,
                tmp_root=options.tmp_root,
                check_cancelled=events.check_cancelled,
                on_cancel=events.on_cancel,
            )
        )
        walk = _walk(src, out, options, events)
        events.milestone("repo_fetched", source=src.source, commit=src.commit, cloned=src.cloned, files=walk.seen_files)
        progress.update(0.1, "scanned the tree", force=True)
        exclude: list[JsonValue] = list(options.exclude)
        events.milestone(
            "analysis_started",
            candidates=len(walk.candidates),
            max_file_bytes=options.max_file_bytes,
            exclude=exclude,
            default_excludes=options.default_excludes,
        )

        def on_file(done: int, total: int) -> None:
            events.check_cancelled()
            progress.phase(0.1, 0.6, done, total, "reading files")

        texts = stack.enter_context(TextSpool(options.tmp_root))
        analysis = analyze(
            walk.candidates,
            writer,
            max_file_bytes=options.max_file_bytes,
            root=str(src.root),
            on_file=on_file,
            texts=texts,
            secret_scan=options.secret_scan,
        )
        _report_secrets(analysis, events)
        skipped = walk.skipped_files + analysis.skipped_files
        if not analysis.files:
            raise SourceError(f"no text files to describe in {src.source} ({_skip_text(skipped)})")
        events.milestone(
            "files_scanned",
            files=len(analysis.files),
            by_kind=_json_counts(count_kinds(analysis.files)),
            skipped=_json_counts(skipped),
            skipped_dirs=_json_counts(walk.skipped_dirs),
            tokens=analysis.tokens,
        )
        if skipped:
            events.log(f"skipped {sum(skipped.values())} files ({_skip_text(skipped)})")
        facts = detect_project(analysis.project_texts, src.default_name, "url" if src.cloned else "directory")
        layout = lay_out(options, src, analysis, facts, writer)
        summary = layout.overview.summary
        selection = layout.selection
        events.milestone("budget_applied", **left_out(options, selection))
        sections = layout.sections
        written = _write(out, options, events, progress, analysis, layout, facts.name)
    for artifact_id, output in written.items():
        done = output.file
        events.milestone(
            "artifact_written", artifact_id=artifact_id, path=done.path, bytes=done.size, sha256=done.sha256
        )
        events.artifact(
            artifact_id,
            path=done.path,
            media_type=MEDIA_TYPE,
            size=done.size,
            sha256=done.sha256,
            content=output.content,
        )
    progress.update(1.0, "done", force=True)
    return _result(src, walk, analysis, facts.name, summary, sections, written, left_out(options, selection))


def _walk(src: FetchedSource, out: Path, options: Options, events: Reporter) -> WalkResult:
    rules = IgnoreRules.for_root(src.root, options.exclude, defaults=options.default_excludes)
    own = frozenset(
        (out / name).relative_to(src.root).as_posix()
        for name in (LLMS_TXT, LLMS_FULL_TXT)
        if (out / name).is_relative_to(src.root)
    )
    return walk_tree(
        src.root,
        rules,
        max_file_bytes=options.max_file_bytes,
        skip=own,
        check_cancelled=events.check_cancelled,
        vendored=options.include_vendored,
    )


def _skip_text(skipped: Counter[str]) -> str:
    if not skipped:
        return "no files found"
    return "skipped: " + ", ".join(f"{reason} {skipped[reason]}" for reason in sorted(skipped))


def _write(
    out: Path,
    options: Options,
    events: Reporter,
    progress: ProgressTracker,
    analysis: Analysis,
    layout: Layout,
    name: str,
) -> dict[str, _Output]:
    """Both files to temp files, then into place; returns each written file and its inline content (if small)."""
    notes = layout.notes
    summary = layout.overview.summary
    selection = layout.selection
    sections = layout.sections
    progress.update(0.6, f"writing {LLMS_TXT}", force=True)
    with atomic_outputs(out, (LLMS_TXT, LLMS_FULL_TXT)) as handles:
        index = _Stream(handles[LLMS_TXT], events, LLMS_TXT, None)
        parts = [render_intro(name, summary, notes)]
        index.write(parts[0])
        for section in sections:
            parts.append(render_section(section, options.base_url))
            index.write(parts[-1])
            index.flush()
            tokens = sum(info.tokens for info in section.files)
            events.milestone(
                "section_generated",
                section=section.name,
                links=len(section.files),
                tokens=tokens,
                summarized=sum(dirs.files for dirs in section.summaries),
            )
        full = _Stream(handles[LLMS_FULL_TXT], events, LLMS_FULL_TXT, options.partial_limit)
        full.write(render_intro(name, summary, [*notes, FULL_NOTE]))
        total = len(selection.in_full)
        done = 0
        for section in sections:
            kept = [info for info in section.files if info.rel in selection.in_full]
            if not kept:
                continue
            full.write(f"\n## {section.name}\n")
            for info in kept:
                events.check_cancelled()
                full.write("\n" + full_file_header(info))
                full.write(_spooled(analysis, info))
                done += 1
                progress.phase(0.65, 0.99, done, total, f"writing {LLMS_FULL_TXT}")
        full.flush()
        index_text = "".join(parts)
        for stream in (index, full):
            stream.handle.finish()
        events.check_cancelled()
        inline = index_text if len(index_text) <= INLINE_CONTENT_LIMIT else None
        return {
            LLMS_TXT: _Output(index.handle.commit(), estimate_tokens(index_text), inline),
            LLMS_FULL_TXT: _Output(full.handle.commit(), -(-full.chars // CHARS_PER_TOKEN), None),
        }


def _spooled(analysis: Analysis, info: FileInfo) -> str:
    """The file's text for llms-full.txt: the one read made while analysing (the file is not opened again)."""
    assert analysis.texts is not None
    text = analysis.texts.get(info.rel)
    return text if text.endswith("\n") else text + "\n"


def _report_secrets(analysis: Analysis, events: Reporter) -> None:
    """A milestone and one log line naming each file left out or redacted for secrets, and why."""
    if not analysis.secrets:
        return
    found = sorted(analysis.secrets, key=lambda finding: path_key(finding.rel))
    events.milestone(
        "secrets_excluded",
        files=[finding.rel for finding in found if not finding.lines],
        redacted=[finding.rel for finding in found if finding.lines],
        details=[finding.describe() for finding in found],
    )
    events.log(f"left out for secrets: {'; '.join(finding.describe() for finding in found)}", "warning")


def _result(
    src: FetchedSource,
    walk: WalkResult,
    analysis: Analysis,
    name: str,
    summary: str,
    sections: list[Section],
    written: dict[str, _Output],
    left_out: dict[str, JsonValue],
) -> dict[str, JsonValue]:
    largest = sorted(analysis.files, key=lambda info: (-info.tokens, info.rel))[:10]
    artifacts: dict[str, JsonValue] = {
        artifact_id: {
            "path": output.file.path,
            "bytes": output.file.size,
            "sha256": output.file.sha256,
            "tokens": output.tokens,
        }
        for artifact_id, output in written.items()
    }
    return {
        "name": name,
        "summary": summary,
        "source": src.source,
        "commit": src.commit,
        "files": {
            "seen": walk.seen_files,
            "included": len(analysis.files),
            "by_kind": _json_counts(count_kinds(analysis.files)),
            "skipped": _json_counts(walk.skipped_files + analysis.skipped_files),
            "skipped_dirs": _json_counts(walk.skipped_dirs),
        },
        "secrets": [
            {"path": finding.rel, "why": list(finding.kinds), "lines": list(finding.lines)}
            for finding in sorted(analysis.secrets, key=lambda finding: path_key(finding.rel))
        ],
        "tokens": analysis.tokens,
        "sections": {section.name: len(section.files) for section in sections},
        "largest_files": [{"path": info.rel, "tokens": info.tokens} for info in largest],
        "budget": left_out,
        "artifacts": artifacts,
    }
