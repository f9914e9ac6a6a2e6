"""docs/extending.md shows tests/extensions/toys.py as it is: the code the suite runs is the code the docs teach."""

from __future__ import annotations

from pathlib import Path

from pytest_examples import find_examples

from runwire.actors import RunSystem
from runwire.actors.ext import resolve_pipeline

from .toys import MemoryStore, ThreadExecutor, shout

ROOT = Path(__file__).resolve().parents[2]


def test_the_extending_docs_show_the_toy_back_ends_as_the_suite_runs_them() -> None:
    module = (Path(__file__).parent / "toys.py").read_text()
    blocks = [example.source for example in find_examples(str(ROOT / "docs" / "extending.md"))]
    assert any(block.startswith(module) for block in blocks), "docs/extending.md: copy tests/extensions/toys.py"


def test_a_toy_store_serves_a_closed_systems_runs_to_the_next_system() -> None:
    store = MemoryStore()
    with RunSystem(store=store, executor=ThreadExecutor()) as system:
        ended = system.start(shout, {"text": "hi"}, run_id="toy-1").wait(timeout=10)
    with RunSystem(store=store, executor=ThreadExecutor()) as system:
        replayed = list(system.handle("toy-1").events(timeout=10))
        info = system.get("toy-1")
        assert [info.run_id for info in system.runs()] == ["toy-1"]
        assert system.handle("toy-1").wait() == ended
    assert replayed[-1] == ended and [e.seq for e in replayed] == list(range(1, len(replayed) + 1))
    assert info.from_store and info.state == "completed" and info.last_seq == ended.seq


def test_the_toy_pipeline_plug_in_is_startable_by_name() -> None:
    with RunSystem() as system:
        ended = system.start(resolve_pipeline("shout"), {"text": "hey"}).wait(timeout=10)
    assert ended.type == "run.completed" and ended.result == "HEY"
