"""The LM describer of llms.txt: DSPy signatures write the summary and each link's description.

Why a separate describer: the generator (``runwire.actors.llms_txt``) asks a ``Describer`` for
words and nothing else, from its own thread. This one keeps the extractive title (the file's own
heading is the best title there is), asks the LM for the prose, and streams it while it is being
written: ``text.delta`` with field ``summary`` (artifact ``llms.txt``) or ``description``
(artifact ``llms.txt#<Section>/<path>``, the link it is for). The text then lands in llms.txt
through the generator, so the artifact carries the same words.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import dspy  # type: ignore[import-untyped]
from pydantic import JsonValue

from runwire.actors.llms_txt import FileDescription, ProjectFacts
from runwire.actors.llms_txt.classify import SECTION_OF_KIND, classify
from runwire.actors.llms_txt.extract import extract
from runwire.protocol import LogLevel

from ._stream import DeltaSink, StreamOptions, stream_program

__all__ = ["DEFAULT_FILE_CHARS", "DescribeFile", "LMDescriber", "SummarizeProject", "link_artifact_id"]

DEFAULT_FILE_CHARS = 6000
RunOnLoop = Callable[[Callable[[], Awaitable[Any]]], Any]


class SummarizeProject(dspy.Signature):  # type: ignore[misc]
    """Write the one-line summary that goes under a project's name at the top of its llms.txt index.

    Say what the project is and what it is for, for a reader (or a language model) deciding
    whether to read on. One plain sentence, no Markdown, no marketing.
    """

    name: str = dspy.InputField(desc="the project's name")
    facts: str = dspy.InputField(desc="what the repository says about itself (manifest, README)")
    summary: str = dspy.OutputField(desc="one sentence")


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


class LMDescriber:
    """A ``Describer`` whose words come from an LM, streamed into one run.

    ``run_on_loop(make_coroutine)`` runs a coroutine on the run's event loop and returns its
    result to the generator's thread (raising the run's ``Cancelled`` if the run was cancelled).
    """

    def __init__(
        self, sink: DeltaSink, lm: Any, run_on_loop: RunOnLoop, *, max_file_chars: int = DEFAULT_FILE_CHARS
    ) -> None:
        self._sink = _RunReasons(sink)
        self._lm = lm
        self._run = run_on_loop
        self._max_chars = max_file_chars
        self._summarize = dspy.Predict(SummarizeProject)
        self._describe = dspy.Predict(DescribeFile)

    def _ask(self, program: Any, artifact_id: str, inputs: dict[str, Any]) -> Any:
        options = StreamOptions(lm=self._lm, artifact_id=artifact_id, milestones=False, async_program=True)
        return self._run(lambda: stream_program(self._sink, program, inputs, options))

    def summarize(self, facts: ProjectFacts) -> str:
        """The blockquote under the H1, written by the LM from what the repository says about itself."""
        prediction = self._ask(self._summarize, "llms.txt", {"name": facts.name, "facts": _facts_text(facts)})
        return str(prediction.summary)

    def describe(self, rel: str, text: str) -> FileDescription:
        """The extractive title, and a description written by the LM from the start of the file."""
        title, _ = extract(rel, text)
        section = SECTION_OF_KIND[classify(rel)]
        head = text[: self._max_chars]
        inputs = {"path": rel, "section": section, "text": head}
        prediction = self._ask(self._describe, link_artifact_id(rel), inputs)
        return FileDescription(title, str(prediction.description))
