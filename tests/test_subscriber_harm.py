"""Subscribers cannot harm a run (2): what a consumer passes or does with its events hurts only it.

Bad arguments are refused at the call (they used to reach the bus and fail somebody else's live
run with an InternalError); events are values (frozen, read-only containers), so a consumer that
edits what it received changes nothing for the other subscribers, ``wait()``, ``get()``, the
replay or the store.
"""

from __future__ import annotations

import contextlib
import copy
import pickle
import threading
from pathlib import Path
from typing import Any

import pytest

from runwire.actors import RunContext, RunSystem
from runwire.actors.ext import Sink
from runwire.actors.store import SqliteRunStore
from runwire.protocol import dump_event

from .helpers import assert_well_formed, blocker, collect

_BAD_EVENTS_ARGS: list[tuple[dict[str, Any], type[Exception]]] = [
    ({"after_seq": 1.5}, TypeError),
    ({"after_seq": True}, TypeError),
    ({"after_seq": "3"}, TypeError),
    ({"after_seq": None}, TypeError),
    ({"after_seq": -1}, ValueError),
    ({"buffer": 1.5}, TypeError),
    ({"buffer": True}, TypeError),
    ({"buffer": "10"}, TypeError),
    ({"buffer": 0}, ValueError),
    ({"policy": 5}, ValueError),
    ({"policy": ["coalesce"]}, ValueError),
    ({"policy": "Block"}, ValueError),
    ({"timeout": -1}, ValueError),
    ({"timeout": float("nan")}, ValueError),
    ({"timeout": "1"}, TypeError),
]


class _EqualsEverything(str):
    def __eq__(self, other: object) -> bool:
        return True

    __hash__ = str.__hash__


@pytest.mark.parametrize(("kwargs", "error"), _BAD_EVENTS_ARGS, ids=[repr(k) for k, _ in _BAD_EVENTS_ARGS])
def test_a_bad_subscribe_argument_is_refused_at_the_call_and_harms_no_run(
    system: RunSystem, kwargs: dict[str, Any], error: type[Exception]
) -> None:
    release = threading.Event()
    handle = system.start(blocker(release))
    with pytest.raises(error):
        stream = handle.events(**kwargs)
        next(iter(stream))  # had the call accepted it, subscribing would reach the bus
    release.set()
    events = collect(handle)
    assert_well_formed(events)
    assert events[-1].type == "run.completed"


def test_a_sink_refuses_a_bad_buffer_or_policy_when_made() -> None:
    for limit, policy in ((1.5, "block"), (True, "block"), (0, "block"), (None, _EqualsEverything("x"))):
        with pytest.raises((TypeError, ValueError)):
            Sink(limit, policy)  # type: ignore[arg-type]


def _pipeline(ctx: RunContext) -> dict[str, Any]:
    ctx.milestone("m", items=[1, 2], nested={"k": "v"})
    ctx.log("line")
    ctx.delta("answer", "text")
    return {"answer": [1, 2, 3], "meta": {"k": "v"}}


def _vandalise(event: Any) -> None:
    """Everything a careless or hostile consumer might do to an event it holds."""
    for name, value in (("seq", 1), ("run_id", "other"), ("text", "changed"), ("message", "changed")):
        with contextlib.suppress(Exception):
            setattr(event, name, value)
    for name in ("data", "result", "inputs"):
        value = getattr(event, name, None)
        for attempt in (
            lambda v: v.__setitem__("injected", 1),
            lambda v: v.clear(),
            lambda v: v.append("injected"),
            lambda v: v["answer"].append(4),
            lambda v: v["meta"].update(k="changed"),
            lambda v: v["items"].append(3),
            lambda v: v["nested"].pop("k"),
        ):
            with contextlib.suppress(Exception):
                attempt(value)


def test_a_consumer_editing_its_events_changes_nothing_for_anyone_else(tmp_path: Path) -> None:
    store = SqliteRunStore(tmp_path / "runs.db")
    try:
        with RunSystem(store=store) as system:
            gate = threading.Event()
            handle = system.start(lambda ctx: gate.wait(10) and _pipeline(ctx))
            vandal = iter(handle.events())
            witness = iter(handle.events())
            gate.set()
            seen = []
            for event in vandal:  # the vandal goes first: the witness reads the same objects after it
                _vandalise(event)
                seen.append(event)
            witnessed = [dump_event(e) for e in witness]
            terminal = handle.wait(10)
            _vandalise(terminal)
            assert [dump_event(e) for e in seen] == witnessed
            assert dump_event(handle.wait(10)) == witnessed[-1]
            assert dump_event(handle.info().terminal) == witnessed[-1]  # type: ignore[arg-type]
            assert handle.wait(10).result == {"answer": [1, 2, 3], "meta": {"k": "v"}}
            assert [dump_event(e) for e in collect(handle)] == witnessed  # the replay
            run_id = handle.run_id
        store.flush(10)  # the writer commits on its own thread
        stored = [dump_event(e) for e in store.read_events(run_id)]
        assert stored == witnessed  # the store: every event, the run completed
        assert b'"run.completed"' in stored[-1]
    finally:
        store.close()


def test_events_are_values_all_the_way_down(system: RunSystem) -> None:
    events = collect(system.start(_pipeline, {"config": {"depth": [1]}}))
    started, milestone, terminal = events[0], events[1], events[-1]
    with pytest.raises(Exception, match="frozen"):
        milestone.seq = 5  # type: ignore[misc]
    for container in (started.inputs, started.inputs["config"], milestone.data["items"], terminal.result):
        with pytest.raises(TypeError, match="read-only"):
            container.clear()  # type: ignore[union-attr]
    # still plain JSON values to read, compare, copy, pickle and dump
    assert terminal.result == {"answer": [1, 2, 3], "meta": {"k": "v"}}
    assert isinstance(terminal.result, dict) and isinstance(milestone.data["items"], list)
    mutable = dict(terminal.result)  # type: ignore[arg-type]
    mutable["extra"] = 1
    assert copy.deepcopy(terminal) == terminal and pickle.loads(pickle.dumps(terminal)) == terminal
    assert dump_event(pickle.loads(pickle.dumps(milestone))) == dump_event(milestone)


def test_a_pipeline_changing_what_it_emitted_changes_nothing_in_the_log(system: RunSystem) -> None:
    def pipeline(ctx: RunContext) -> int:
        data = {"items": [1]}
        ctx.milestone("m", **data)
        data["items"].append(2)  # its own object: the event holds a copy
        return 1

    handle = system.start(pipeline)
    live = collect(handle)
    assert live[1].data == {"items": [1]}
    assert [dump_event(e) for e in live] == [dump_event(e) for e in collect(handle)]
