"""The pipeline under the real RunSystem: typed events, same bytes as the library call, failure, cancel."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from llms_txt import parse_llms_file

from runwire.actors import RunContext, RunSystem
from runwire.actors.llms_txt import (
    LLMS_FULL_TXT,
    LLMS_TXT,
    FileDescription,
    Options,
    ProjectFacts,
    generate,
    llms_txt_pipeline,
    pipeline_with,
)
from runwire.protocol import RunEvent

from .conftest import INCLUDED, MAX_BYTES, PROJECT_FILES, listing, make_repo

WAIT = 30.0


def _events(system: RunSystem, pipeline: Callable[[Any], Any], inputs: dict[str, Any]) -> list[RunEvent]:
    handle = system.start(pipeline, inputs, name="llms_txt")
    return list(handle.events(timeout=WAIT))


def test_run_streams_typed_events_and_writes_the_library_bytes(
    system: RunSystem, project: Path, tmp_path: Path
) -> None:
    out = tmp_path / "run"
    events = _events(system, llms_txt_pipeline, {"source": str(project), "out": str(out), "max_file_bytes": MAX_BYTES})
    expected = generate(Options(source=str(project), out=str(tmp_path / "lib"), max_file_bytes=MAX_BYTES))
    for name in (LLMS_TXT, LLMS_FULL_TXT):
        assert (out / name).read_bytes() == (tmp_path / "lib" / name).read_bytes()

    assert events[0].type == "run.started"
    terminal = events[-1]
    assert terminal.type == "run.completed"
    result = terminal.result
    assert isinstance(result, dict)
    assert result["files"] == expected["files"]
    assert result["tokens"] == expected["tokens"]

    milestones = [e for e in events if e.type == "run.milestone"]
    assert [m.name for m in milestones] == [
        "repo_fetched",
        "analysis_started",
        "files_scanned",
        "budget_applied",
        *["section_generated"] * 4,
        "artifact_written",
        "artifact_written",
    ]
    fractions = [e.fraction for e in events if e.type == "run.progress"]
    assert fractions[0] == 0.0
    assert fractions[-1] == 1.0
    assert all(a is not None and b is not None and a < b for a, b in itertools.pairwise(fractions))

    partial = "".join(e.text for e in events if e.type == "artifact.partial" and e.artifact_id == LLMS_TXT)
    assert partial == (out / LLMS_TXT).read_text(encoding="utf-8")
    artifacts = {e.artifact_id: e for e in events if e.type == "artifact"}
    assert set(artifacts) == {LLMS_TXT, LLMS_FULL_TXT}
    for name, event in artifacts.items():
        assert event.sha256 == expected["artifacts"][name]["sha256"]
        assert event.path == str(out / name)
    parsed = parse_llms_file(partial)
    assert {link["url"] for links in parsed.sections.values() for link in links} == INCLUDED


def test_bad_input_fails_the_run_with_the_clear_message(system: RunSystem, tmp_path: Path) -> None:
    missing = tmp_path / "missing"
    events = _events(system, llms_txt_pipeline, {"source": str(missing), "out": str(tmp_path / "out")})
    terminal = events[-1]
    assert terminal.type == "run.failed"
    assert terminal.error_type == "SourceError"
    assert terminal.message == f"source not found: {missing}"
    assert listing(tmp_path) == []


class CountingDescriber:
    """Another Describer, as the LM one will be: every word of the index comes from it."""

    def summarize(self, facts: ProjectFacts) -> str:
        return f"Summary of {facts.name} by the describer."

    def describe(self, rel: str, text: str) -> FileDescription:
        return FileDescription(None, f"{rel} has {len(text)} characters.")


def test_describer_seam_writes_the_summary_and_every_description(
    system: RunSystem, project: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    inputs = {"source": str(project), "out": str(out), "max_file_bytes": MAX_BYTES}
    events = _events(system, pipeline_with(CountingDescriber()), inputs)
    assert events[-1].type == "run.completed"
    parsed = parse_llms_file((out / LLMS_TXT).read_text(encoding="utf-8"))
    assert parsed.summary == "Summary of widgetry by the describer."
    links = [link for links in parsed.sections.values() for link in links]
    assert {link["url"] for link in links} == INCLUDED
    for link in links:
        text = PROJECT_FILES[link["url"]]
        assert isinstance(text, str)
        assert (link["title"], link["desc"]) == (link["url"], f"{link['url']} has {len(text)} characters.")


class _Gate:
    """Wraps the real run context and holds the worker at one milestone until the test lets it go."""

    def __init__(self, ctx: RunContext, at: str) -> None:
        self._ctx = ctx
        self._at = at
        self.reached = threading.Event()
        self.release = threading.Event()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._ctx, name)

    def milestone(self, name: str, **data: Any) -> None:
        self._ctx.milestone(name, **data)
        if name == self._at:
            self.reached.set()
            self.release.wait(WAIT)


def test_cancel_mid_run_leaves_no_output_and_no_clone(system: RunSystem, tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    make_repo(repo, PROJECT_FILES)
    out, clones = tmp_path / "out", tmp_path / "clones"
    gates: list[_Gate] = []
    finished = threading.Event()

    def pipeline(ctx: RunContext) -> Any:
        gate = _Gate(ctx, "section_generated")  # llms.txt is half written by then
        gates.append(gate)
        try:
            options = Options(source=repo.as_uri(), out=str(out), tmp_root=str(clones))
            return generate(options, reporter=gate)
        finally:
            finished.set()

    handle = system.start(pipeline, {}, name="llms_txt")
    for event in handle.events(timeout=WAIT):
        if event.type == "run.milestone" and event.name == "section_generated":
            break
    assert gates[0].reached.wait(WAIT)
    assert listing(clones) != []  # the clone exists while the run is held
    terminal = handle.cancel("test")
    assert terminal.type == "run.cancelled"
    gates[0].release.set()
    assert finished.wait(WAIT)
    assert listing(clones) == []
    assert not out.exists()


def test_subscribers_change_no_output_byte(system: RunSystem, project: Path, tmp_path: Path) -> None:
    """No subscriber, a fast one, and a slow lossless one that holds the producer: same bytes."""
    import hashlib

    def run(out: Path, mode: str) -> None:
        inputs = {"source": str(project), "out": str(out), "max_file_bytes": MAX_BYTES}
        handle = system.start(llms_txt_pipeline, inputs, name="llms_txt")
        if mode == "fast":
            list(handle.events(timeout=WAIT))
        elif mode == "slow":  # buffer of 1 with `block`: the pipeline waits on this reader
            for event in handle.events(timeout=WAIT, buffer=1, policy="block"):
                for _ in range(200):  # real work per event, no sleeping
                    hashlib.sha256(event.model_dump_json().encode()).digest()
        assert handle.wait(WAIT).type == "run.completed"

    outputs = {}
    for mode in ("none", "fast", "slow"):
        run(tmp_path / mode, mode)
        outputs[mode] = [(tmp_path / mode / name).read_bytes() for name in (LLMS_TXT, LLMS_FULL_TXT)]
    assert outputs["none"] == outputs["fast"] == outputs["slow"]
