"""The LM mode of llms.txt: DSPy writes the summary and descriptions, streamed, then lands in the artifact."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from runwire.actors import RunSystem
from runwire.actors.dspy import lm_pipeline
from runwire.actors.dspy.scripted import Reply, ScriptedServer, chat_reply
from runwire.actors.llms_txt import llms_txt_pipeline
from runwire.protocol import Artifact, RunCancelled, RunCompleted, RunFailed, TextDelta

from .conftest import MakeLM
from .helpers import deltas, terminal, texts, watch

FILES = {
    "README.md": "# Skyfacts\n\nFacts about the sky.\n",
    "pyproject.toml": '[project]\nname = "skyfacts"\ndescription = "Facts about the sky."\n',
    "src/skyfacts/__init__.py": '"""Skyfacts."""\n',
    "src/skyfacts/colour.py": '"""Why the sky is blue."""\n\ndef colour() -> str:\n    return "blue"\n',
    "docs/guide.md": "# Guide\n\nHow to read the facts.\n",
}
SUMMARY = "Skyfacts is a small library of facts about the sky, written by an LM."
PURPOSE = "It answers questions about the colour of the sky."
CONCEPTS = "A fact is a function that returns a colour."
ARCHITECTURE = "One package, src/skyfacts, with one module per fact."


def describe_of(path: str) -> str:
    return f"What {path} holds, in the words of an LM."


def overview_reply(key_files: str = "[]", optional_files: str = "[]") -> str:
    """A ChatAdapter answer to AnalyzeRepository."""
    return chat_reply(
        summary=SUMMARY,
        purpose=PURPOSE,
        concepts=CONCEPTS,
        architecture=ARCHITECTURE,
        key_files=key_files,
        optional_files=optional_files,
    )


def path_of(body: dict[str, Any]) -> str | None:
    """The path a DescribeFile request asks about (None for the repository overview)."""
    found = re.search(r"\[\[ ## path ## \]\]\n(.+)", body["messages"][-1]["content"])
    return found.group(1) if found is not None else None


def lm_script(body: dict[str, Any]) -> Reply:
    """Answers the two signatures: the overview, or a description naming the file it was asked about."""
    path = path_of(body)
    if path is not None:
        return Reply(chat_reply(description=describe_of(path)))
    return Reply(overview_reply())


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "skyfacts"
    for rel, text in FILES.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


def _inputs(project: Path, out: Path) -> dict[str, Any]:
    return {"source": str(project), "out": str(out)}


def test_lm_mode_streams_each_description_and_the_artifact_has_the_same_words(
    system: RunSystem, lm_server: ScriptedServer, make_lm: MakeLM, project: Path, tmp_path: Path
) -> None:
    lm_server.reply_with(lm_script)
    out = tmp_path / "out"
    events = [s.event for s in watch(system.start(lm_pipeline(make_lm()), _inputs(project, out)), 60)]
    end = terminal(events)
    assert isinstance(end, RunCompleted), end
    streamed = texts(events)
    assert streamed["summary@llms.txt"] == SUMMARY
    assert streamed["description@llms.txt#Source/src/skyfacts/colour.py"] == describe_of("src/skyfacts/colour.py")
    assert streamed["description@llms.txt#Docs/docs/guide.md"] == describe_of("docs/guide.md")
    assert len(deltas(events)) > len(streamed)  # streamed in pieces, not one piece per field
    index = (out / "llms.txt").read_text()
    assert f"> {SUMMARY}" in index
    assert f"- [src/skyfacts/colour.py](src/skyfacts/colour.py): {describe_of('src/skyfacts/colour.py')}" in index
    assert f"- [Guide](docs/guide.md): {describe_of('docs/guide.md')}" in index  # extractive title kept
    artifact = next(e for e in events if isinstance(e, Artifact) and e.artifact_id == "llms.txt")
    assert artifact.content == index
    last_delta = max(i for i, e in enumerate(events) if isinstance(e, TextDelta))
    assert last_delta < events.index(artifact)  # the words stream before the file they land in
    assert end.result["summary"] == SUMMARY  # type: ignore[index]


def test_without_an_lm_the_pipeline_stays_extractive(system: RunSystem, project: Path, tmp_path: Path) -> None:
    events = [s.event for s in watch(system.start(llms_txt_pipeline, _inputs(project, tmp_path / "out")))]
    assert isinstance(terminal(events), RunCompleted)
    assert not deltas(events)
    assert "> Facts about the sky." in (tmp_path / "out" / "llms.txt").read_text()


def test_a_second_run_from_the_cache_gives_the_same_files_one_delta_per_field(
    system: RunSystem, lm_server: ScriptedServer, make_lm: MakeLM, project: Path, tmp_path: Path
) -> None:
    lm_server.reply_with(lm_script)
    pipeline = lm_pipeline(make_lm(cache=True))
    first = [s.event for s in watch(system.start(pipeline, _inputs(project, tmp_path / "a")), 60)]
    asked = len(lm_server.requests)
    second = [s.event for s in watch(system.start(pipeline, _inputs(project, tmp_path / "b")), 60)]
    assert len(lm_server.requests) == asked  # every LM call was a cache hit
    assert (tmp_path / "a" / "llms.txt").read_bytes() == (tmp_path / "b" / "llms.txt").read_bytes()
    assert texts(second) == texts(first)
    assert len(deltas(second)) == len(texts(second))  # a cache hit streams no chunk: one reconciled delta each


def test_an_lm_error_fails_the_run_and_writes_nothing(
    system: RunSystem, lm_server: ScriptedServer, make_lm: MakeLM, project: Path, tmp_path: Path
) -> None:
    lm_server.reply_with(Reply(status=503, error_message="the model is overloaded"))
    out = tmp_path / "out"
    events = [s.event for s in watch(system.start(lm_pipeline(make_lm()), _inputs(project, out)), 60)]
    end = terminal(events)
    assert isinstance(end, RunFailed)
    assert end.error_type == "LMServerError"
    assert "the model is overloaded" in end.message
    assert not out.exists()


def test_cancel_while_the_lm_hangs_closes_its_stream_and_leaves_no_output(
    system: RunSystem, lm_server: ScriptedServer, make_lm: MakeLM, project: Path, tmp_path: Path
) -> None:
    lm_server.reply_with(Reply(chat_reply(description="never finishes " * 20), hang_after=4))
    out = tmp_path / "out"
    handle = system.start(lm_pipeline(make_lm()), _inputs(project, out))
    assert lm_server.hanging.wait(20)  # the stream sent its chunks and now hangs: cancel then
    cancelled = handle.cancel("stop", timeout=10)
    assert isinstance(cancelled, RunCancelled)
    assert lm_server.aborted.wait(5)
    assert lm_server.wait_idle(10)  # every call in flight (up to the concurrency) has ended ...
    outcomes = lm_server.outcomes
    assert len(outcomes) == len(lm_server.requests) and "hang-aborted" in outcomes
    assert set(outcomes) <= {"hang-aborted", "client-aborted"}  # ... by its client going away, none completed
    events = [s.event for s in watch(handle)]
    assert events[-1] == cancelled
    assert not handle.info().worker_abandoned
    assert not out.exists()  # the generator removed the directory it had created
    assert not list(tmp_path.glob("**/.llms*.tmp"))


def test_bad_inputs_fail_before_any_lm_call(
    system: RunSystem, lm_server: ScriptedServer, make_lm: MakeLM, tmp_path: Path
) -> None:
    events = [s.event for s in watch(system.start(lm_pipeline(make_lm()), {"source": str(tmp_path / "missing")}))]
    end = terminal(events)
    assert isinstance(end, RunFailed)
    assert end.error_type == "SourceError"
    assert lm_server.requests == []


def test_an_empty_model_string_is_refused() -> None:
    with pytest.raises(ValueError, match="model string"):
        lm_pipeline(" ")


def test_a_truncated_description_keeps_length_on_the_terminal(
    system: RunSystem, lm_server: ScriptedServer, make_lm: MakeLM, project: Path, tmp_path: Path
) -> None:
    def script(body: dict[str, Any]) -> Reply:
        reply = lm_script(body)
        if "[[ ## path ## ]]\ndocs/guide.md" in body["messages"][-1]["content"]:
            return Reply(reply.text, finish_reason="length")  # later calls end with "stop"
        return reply

    lm_server.reply_with(script)
    events = [s.event for s in watch(system.start(lm_pipeline(make_lm()), _inputs(project, tmp_path / "out")), 60)]
    end = terminal(events)
    assert isinstance(end, RunCompleted)
    assert end.finish_reason == "length"
