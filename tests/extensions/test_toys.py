"""docs/extending.md shows tests/extensions/toys.py as it is: the code the suite runs is the code the docs teach."""

from __future__ import annotations

from pathlib import Path

import pytest
from pytest_examples import find_examples

from runwire.actors import RunSystem, RunwireError
from runwire.actors.ext import RemoteRunHandle, resolve_pipeline

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


class _Binding(MemoryStore):
    """The toy store, recording the bind call (or failing it)."""

    def __init__(self, fail: bool) -> None:
        super().__init__()
        self.fail = fail
        self.bound: list[RunSystem] = []

    def bind(self, system: RunSystem) -> None:
        self.bound.append(system)
        if self.fail:
            raise RuntimeError("bind failed")


def test_bind_is_called_once_when_the_system_is_up_and_a_failing_bind_fails_the_system() -> None:
    store = _Binding(fail=False)
    with RunSystem(store=store) as system:
        assert store.bound == [system]
        assert system.start(shout).wait(timeout=10).type == "run.completed"  # up before the first run
    failing = _Binding(fail=True)
    with pytest.raises(RuntimeError, match="bind failed"):
        RunSystem(store=failing)
    assert len(failing.bound) == 1 and failing.bound[0].closed  # it closed itself, then re-raised


def test_a_stored_handle_is_built_through_the_public_remote_run_handle() -> None:
    store = MemoryStore()
    with RunSystem(store=store) as system:
        ended = system.start(shout, run_id="toy-2").wait(timeout=10)
    with RunSystem(store=store) as system:
        handle = system.handle("toy-2")
        assert isinstance(handle, RemoteRunHandle) and handle.pipeline == "shout"
        assert handle.cancel() == ended and handle.info().from_store
        with pytest.raises(RunwireError, match="only the system running it"):
            handle.complete("late")
        with pytest.raises(TypeError, match="run_id must be a str"):
            RemoteRunHandle(system, 3, "p")  # type: ignore[arg-type]
