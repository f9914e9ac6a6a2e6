"""LM mode for real use: concurrent calls in a deterministic order, incremental re-runs, the overview."""

from __future__ import annotations

import threading
import uuid
from pathlib import Path
from typing import Any

import pytest

from runwire.actors import RunSystem
from runwire.actors.dspy import lm_pipeline
from runwire.actors.dspy.scripted import Reply, ScriptedServer, chat_reply
from runwire.protocol import RunCompleted, RunMilestone

from .conftest import MakeLM
from .helpers import terminal, watch
from .test_llms import ARCHITECTURE, CONCEPTS, PURPOSE, SUMMARY, describe_of, lm_script, overview_reply, path_of

CONCURRENCY = 8


def _write(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


def _tree(tmp_path: Path, modules: int, tag: str = "") -> Path:
    """A README and ``modules`` source files; ``tag`` makes every prompt unique to one test (DSPy's cache)."""
    files = {"README.md": f"# Many\n\nA project with many modules. {tag}\n"}
    files |= {f"src/many/m{i:02d}.py": f'"""Module {i}. {tag}"""\n\nVALUE = {i}\n' for i in range(modules)}
    return _write(tmp_path / "many", files)


def _run(system: RunSystem, pipeline: Any, source: Path, out: Path) -> list[Any]:
    events = [s.event for s in watch(system.start(pipeline, {"source": str(source), "out": str(out)}), 90)]
    assert isinstance(terminal(events), RunCompleted), terminal(events)
    return events


def test_lm_calls_run_concurrently_up_to_the_limit_and_the_output_keeps_file_order(
    system: RunSystem, lm_server: ScriptedServer, make_lm: MakeLM, tmp_path: Path
) -> None:
    source = _tree(tmp_path, 2 * CONCURRENCY - 1)  # 16 described files: two full rounds of 8
    together = threading.Barrier(CONCURRENCY)  # a description is answered only once 8 are in flight
    arrived: list[str] = []
    lock = threading.Lock()

    def script(body: dict[str, Any]) -> Reply:
        path = path_of(body)
        if path is None:
            return Reply(overview_reply())
        with lock:
            position = len(arrived) % CONCURRENCY
            arrived.append(path)
        together.wait(timeout=60)  # raises (the run fails) if fewer than 8 calls are ever in flight
        # within a round, later arrivals finish first: completion order is not the files' order
        return Reply(chat_reply(description=describe_of(path)), first_delay=0.1 * (CONCURRENCY - 1 - position))

    lm_server.reply_with(script)
    concurrent = _run(system, lm_pipeline(make_lm(), concurrency=CONCURRENCY), source, tmp_path / "a")
    assert lm_server.max_in_flight == CONCURRENCY

    lm_server.reply_with(lm_script)
    _run(system, lm_pipeline(make_lm(), concurrency=1), source, tmp_path / "b")
    index = (tmp_path / "a" / "llms.txt").read_bytes()
    assert index == (tmp_path / "b" / "llms.txt").read_bytes()  # same bytes as one call at a time
    assert (tmp_path / "a" / "llms-full.txt").read_bytes() == (tmp_path / "b" / "llms-full.txt").read_bytes()
    links = [line.split("](")[1].split(")")[0] for line in index.decode().splitlines() if line.startswith("- [")]
    assert links == ["README.md", *(f"src/many/m{i:02d}.py" for i in range(2 * CONCURRENCY - 1))]
    finished = [e.data["path"] for e in concurrent if isinstance(e, RunMilestone) and e.name == "file_described"]
    assert sorted(finished) == sorted(links)
    assert finished != links  # the LM finished them in another order; the index did not follow it


def test_an_unchanged_repository_makes_no_lm_call_and_a_one_file_change_makes_one(
    system: RunSystem, lm_server: ScriptedServer, make_lm: MakeLM, tmp_path: Path
) -> None:
    source = _tree(tmp_path, 6, tag=uuid.uuid4().hex)
    lm_server.reply_with(lm_script)
    pipeline = lm_pipeline(make_lm(cache=True))

    def calls(out: str) -> list[str | None]:
        before = len(lm_server.requests)
        _run(system, pipeline, source, tmp_path / out)
        return sorted((path_of(body) or "(overview)" for body in lm_server.requests[before:]), key=str)

    assert len(calls("first")) == 7 + 1  # every file, and the repository overview
    assert calls("unchanged") == []
    assert (tmp_path / "first" / "llms.txt").read_bytes() == (tmp_path / "unchanged" / "llms.txt").read_bytes()

    (source / "src/many/m03.py").write_text('"""Module three, rewritten."""\n')
    assert calls("one-source-file") == ["src/many/m03.py"]  # the overview does not read source files

    readme = source / "README.md"
    readme.write_text(readme.read_text().replace("many modules", "a great many modules"))
    assert calls("readme") == ["(overview)", "README.md"]  # the overview reads the README

    (source / "src/many/new.py").write_text('"""A new module."""\n')
    assert calls("new-file") == ["(overview)", "src/many/new.py"]  # and the list of paths


def test_the_overview_writes_the_notes_and_guides_the_sections(
    system: RunSystem, lm_server: ScriptedServer, make_lm: MakeLM, tmp_path: Path
) -> None:
    source = _write(
        tmp_path / "sky",
        {
            "README.md": "# Sky\n\nFacts about the sky.\n",
            "docs/guide.md": "# Guide\n\nHow to read the facts.\n",
            "src/sky/__init__.py": '"""Sky."""\n',
            "src/sky/colour.py": '"""Why the sky is blue."""\n',
        },
    )

    def script(body: dict[str, Any]) -> Reply:
        if path_of(body) is None:
            key = '["src/sky/colour.py", "not/in/the/tree.py"]'
            return Reply(overview_reply(key_files=key, optional_files='["docs/guide.md", "README.md"]'))
        return lm_script(body)

    lm_server.reply_with(script)
    events = _run(system, lm_pipeline(make_lm()), source, tmp_path / "out")
    index = (tmp_path / "out" / "llms.txt").read_text()
    intro, rest = index.split("\n## ", 1)
    assert f"> {SUMMARY}" in intro
    assert "with descriptions written by an LM (openai/test-model)" in intro
    for note in (f"Purpose: {PURPOSE}", f"Key concepts: {CONCEPTS}", f"Architecture: {ARCHITECTURE}"):
        assert f"\n\n{note}\n" in intro
    sections = {part.split("\n", 1)[0]: part for part in ("## " + rest).split("\n## ")}
    docs, source_links, optional = sections["## Docs"], sections["Source"], sections["Optional"]
    assert "README.md" in docs  # the README stays at the head of Docs, whatever the LM says
    assert "docs/guide.md" not in docs and "docs/guide.md" in optional  # moved to Optional
    assert source_links.index("src/sky/colour.py") < source_links.index("src/sky/__init__.py")  # key file first
    streamed = {e.field for e in events if e.type == "text.delta" and e.artifact_id == "llms.txt"}
    assert streamed == {"summary", "purpose", "concepts", "architecture"}


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "8"])
def test_lm_concurrency_must_be_a_positive_integer(bad: Any) -> None:
    with pytest.raises(ValueError, match="concurrency"):
        lm_pipeline("openai/test-model", concurrency=bad)
