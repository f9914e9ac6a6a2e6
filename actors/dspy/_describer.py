"""The LM describer of llms.txt: DSPy signatures write the summary and each link's description.

Why a separate describer: the generator (``runwire.actors.llms_txt``) asks a ``Describer`` for
words and nothing else, from its own thread. This one keeps the extractive title (the file's own
heading is the best title there is), asks the LM for the prose, and streams it while it is being
written: ``text.delta`` with field ``summary`` (artifact ``llms.txt``) or ``description``
(artifact ``llms.txt#<Section>/<path>``, the link it is for). The text then lands in llms.txt
through the generator, so the artifact carries the same words.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from typing import Any

import dspy  # type: ignore[import-untyped]
from pydantic import JsonValue

from runwire.actors.llms_txt import FileDescription, Overview, ProjectFacts
from runwire.actors.llms_txt.classify import SECTION_OF_KIND, classify
from runwire.actors.llms_txt.extract import extract
from runwire.protocol import LogLevel

from ._stream import DeltaSink, StreamOptions, stream_program

__all__ = [
    "DEFAULT_CONCURRENCY",
    "DEFAULT_FILE_CHARS",
    "AnalyzeRepository",
    "DescribeFile",
    "LMDescriber",
    "link_artifact_id",
]

DEFAULT_FILE_CHARS = 6000
DEFAULT_CONCURRENCY = 8
MAX_KEY_FILES = 10
MAX_TREE_CHARS = 20_000
Submit = Callable[[Callable[[], Awaitable[Any]]], "concurrent.futures.Future[Any]"]
Wait = Callable[["concurrent.futures.Future[Any]"], Any]


class AnalyzeRepository(dspy.Signature):  # type: ignore[misc]
    """Read what a repository says about itself and its file tree, and explain it for its llms.txt index.

    The reader is a person or a language model deciding what to read. Plain sentences, no Markdown,
    no marketing. Name only paths that appear in the tree.
    """

    name: str = dspy.InputField(desc="the project's name")
    facts: str = dspy.InputField(desc="what the repository says about itself (manifest, README)")
    tree: str = dspy.InputField(desc="the files the index links: one 'path (section)' per line")
    summary: str = dspy.OutputField(desc="one sentence: what the project is and what it is for")
    purpose: str = dspy.OutputField(desc="one or two sentences: the problem it solves and for whom")
    concepts: str = dspy.OutputField(desc="one or two sentences: the key concepts a reader must know")
    architecture: str = dspy.OutputField(desc="one to three sentences: the main parts and how they fit together")
    key_files: list[str] = dspy.OutputField(desc=f"up to {MAX_KEY_FILES} paths to read first, most important first")
    optional_files: list[str] = dspy.OutputField(desc="paths a reader can skip (generated, vendored, peripheral)")


class DescribeFile(dspy.Signature):  # type: ignore[misc]
    """Write the one-line description of a file for a project's llms.txt index.

    Say what a reader finds in the file and when to read it. One plain sentence, no Markdown,
    do not repeat the path.
    """

    path: str = dspy.InputField(desc="the file's path in the repository")
    section: str = dspy.InputField(desc="the llms.txt section of the link: Docs, Source, Examples or Optional")
    text: str = dspy.InputField(desc="the start of the file")
    description: str = dspy.OutputField(desc="one sentence")


def link_artifact_id(rel: str) -> str:
    """Where a file's description lands: ``llms.txt#<Section>/<path>``."""
    return f"llms.txt#{SECTION_OF_KIND[classify(rel)]}/{rel}"


def _facts_text(facts: ProjectFacts) -> str:
    lines = [
        f"Manifest description: {facts.manifest_description}" if facts.manifest_description else "",
        f"README title: {facts.readme_title}" if facts.readme_title else "",
        f"README first paragraph: {facts.readme_paragraph}" if facts.readme_paragraph else "",
    ]
    return "\n".join(line for line in lines if line) or "(the repository says nothing about itself)"


class _RunReasons:
    """The run's sink, keeping the first unusual finish_reason (e.g. ``length``) over later ``stop`` s.

    Each LM call reports its own finish_reason and the terminal keeps the last one; across one
    llms.txt run, a truncated description must stay visible on the terminal.
    """

    def __init__(self, sink: DeltaSink) -> None:
        self._sink = sink
        self._unusual = False

    @property
    def cancelled(self) -> bool:
        return self._sink.cancelled

    def delta(self, field: str, text: str, artifact_id: str | None = None) -> None:
        self._sink.delta(field, text, artifact_id)

    def log(self, message: str, level: LogLevel = "info") -> None:
        self._sink.log(message, level)

    def milestone(self, name: str, **data: JsonValue) -> None:
        self._sink.milestone(name, **data)

    def report_finish_reason(self, reason: str) -> None:
        if self._unusual:
            return
        self._unusual = reason != "stop"
        self._sink.report_finish_reason(reason)


def _tree_text(files: Sequence[tuple[str, str]]) -> str:
    lines: list[str] = []
    size = 0
    for index, (rel, section) in enumerate(files):
        line = f"{rel} ({section})"
        size += len(line) + 1
        if size > MAX_TREE_CHARS:
            lines.append(f"... and {len(files) - index} more files")
            break
        lines.append(line)
    return "\n".join(lines)


class LMDescriber:
    """A ``Describer`` whose words come from an LM, streamed into one run, up to ``concurrency`` calls at once.

    ``submit(make_coroutine)`` starts a coroutine on the run's event loop from the generator's
    thread and returns its future; ``wait(future)`` blocks for its result (raising the run's
    ``Cancelled`` if the run was cancelled). Descriptions come back in input order whatever the
    order the LM finishes them in, so the output bytes do not depend on timing.
    """

    def __init__(
        self,
        sink: DeltaSink,
        lm: Any,
        submit: Submit,
        wait: Wait,
        *,
        max_file_chars: int = DEFAULT_FILE_CHARS,
        concurrency: int = DEFAULT_CONCURRENCY,
    ) -> None:
        if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
            raise ValueError(f"concurrency must be a positive number of LM calls: {concurrency!r}")
        if isinstance(max_file_chars, bool) or not isinstance(max_file_chars, int) or max_file_chars < 1:
            raise ValueError(f"max_file_chars must be a positive number of characters: {max_file_chars!r}")
        self._sink = _RunReasons(sink)
        self._lm = lm
        self._submit = submit
        self._wait = wait
        self._max_chars = max_file_chars
        self._concurrency = concurrency
        self._slots: asyncio.Semaphore | None = None  # made on the loop, at the first call
        self._analyze = dspy.Predict(AnalyzeRepository)
        self._describe = dspy.Predict(DescribeFile)

    async def _ask(self, program: Any, artifact_id: str, inputs: dict[str, Any]) -> Any:
        if self._slots is None:
            self._slots = asyncio.Semaphore(self._concurrency)
        options = StreamOptions(lm=self._lm, artifact_id=artifact_id, milestones=False, async_program=True)
        async with self._slots:
            return await stream_program(self._sink, program, inputs, options)

    def overview(self, facts: ProjectFacts, files: Sequence[tuple[str, str]]) -> Overview:
        """Summary, notes (purpose, key concepts, architecture) and key/optional files, in one LM call.

        Its inputs are the project facts (manifests, README) and the list of paths, not the other
        files' text: editing a source file never re-runs it (DSPy's cache answers).
        """
        inputs = {"name": facts.name, "facts": _facts_text(facts), "tree": _tree_text(files)}

        async def analyze() -> Any:
            prediction = await self._ask(self._analyze, "llms.txt", inputs)
            self._sink.milestone("overview_written", artifact_id="llms.txt", key_files=len(prediction.key_files or []))
            return prediction

        prediction = self._wait(self._submit(analyze))
        notes = [
            f"{label}: {text}"
            for label, text in (
                ("Purpose", prediction.purpose),
                ("Key concepts", prediction.concepts),
                ("Architecture", prediction.architecture),
            )
            if isinstance(text, str) and text.strip()
        ]
        return Overview(
            summary=str(prediction.summary),
            notes=tuple(notes),
            key_files=_paths(prediction.key_files)[:MAX_KEY_FILES],
            optional_files=_paths(prediction.optional_files),
            method=f"descriptions written by an LM ({getattr(self._lm, 'model', 'unknown model')})",
        )

    def summarize(self, facts: ProjectFacts) -> str:
        """The blockquote under the H1 (the summary of :meth:`overview`, with no tree)."""
        return self.overview(facts, ()).summary

    def _start(self, rel: str, text: str) -> concurrent.futures.Future[Any]:
        artifact_id = link_artifact_id(rel)
        inputs = {"path": rel, "section": SECTION_OF_KIND[classify(rel)], "text": text[: self._max_chars]}

        async def describe() -> Any:
            prediction = await self._ask(self._describe, artifact_id, inputs)
            self._sink.milestone("file_described", path=rel, artifact_id=artifact_id)
            return prediction

        return self._submit(describe)

    def _finish(self, rel: str, title: str | None, future: concurrent.futures.Future[Any]) -> FileDescription:
        return FileDescription(title, str(self._wait(future).description))

    def describe(self, rel: str, text: str) -> FileDescription:
        """The extractive title, and a description written by the LM from the start of the file."""
        return next(self.describe_many([(rel, text)]))

    def describe_many(self, items: Iterable[tuple[str, str]]) -> Iterator[FileDescription]:
        """Descriptions of ``(rel, text)`` items in input order, up to ``concurrency`` LM calls in flight.

        Reads at most four times ``concurrency`` items ahead of the one it yields; on an error or
        a cancel the calls still running are cancelled.
        """
        window: deque[tuple[str, str | None, concurrent.futures.Future[Any]]] = deque()
        try:
            for rel, text in items:
                title, _ = extract(rel, text)
                window.append((rel, title, self._start(rel, text)))
                if len(window) >= 4 * self._concurrency:
                    yield self._finish(*window.popleft())
            while window:
                yield self._finish(*window.popleft())
        finally:
            for _, _, future in window:
                future.cancel()


def _paths(value: Any) -> tuple[str, ...]:
    """The paths an LM named (a list of strings; anything else names none)."""
    if not isinstance(value, list | tuple):
        return ()
    return tuple(dict.fromkeys(item.strip() for item in value if isinstance(item, str) and item.strip()))
