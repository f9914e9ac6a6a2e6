"""The public API: handles, lookups, clear errors for bad input, retention, shutdown."""

from __future__ import annotations

import threading

import anyio
import pytest

from runwire.actors import (
    RunContext,
    RunExpiredError,
    RunSystem,
    RunTimeoutError,
    SystemClosedError,
    UnknownRunError,
)

from .helpers import blocker, collect


def test_start_returns_at_once_and_wait_returns_the_terminal(system: RunSystem) -> None:
    gate = threading.Event()
    handle = system.start(blocker(gate), {"n": 1}, run_id="my-run", name="blocker")
    assert handle.run_id == "my-run" and handle.pipeline == "blocker"
    with pytest.raises(RunTimeoutError, match="did not end within"):
        handle.wait(timeout=0.05)
    gate.set()
    terminal = handle.wait(10)
    assert terminal.type == "run.completed" and terminal.result == "done"
    started = collect(handle)[0]
    assert started.type == "run.started" and started.pipeline == "blocker" and started.inputs == {"n": 1}


def test_get_runs_and_handle_lookups(system: RunSystem) -> None:
    a = system.start(lambda ctx: 1, run_id="a")
    b = system.start(lambda ctx: 2, run_id="b")
    a.wait(10)
    b.wait(10)
    assert system.get("a").state == "completed"
    assert [i.run_id for i in system.runs()] == ["a", "b"]
    assert system.handle("b").wait(10).result == 2


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_wait_async_on_both_backends(system: RunSystem, backend: str) -> None:
    gate = threading.Event()
    handle = system.start(blocker(gate))

    async def main() -> str:
        async with anyio.create_task_group() as tg:
            tg.start_soon(anyio.to_thread.run_sync, gate.set)
            terminal = await handle.wait_async()
        return terminal.type

    assert anyio.run(main, backend=backend) == "run.completed"


def test_unknown_run_is_a_clear_error(system: RunSystem) -> None:
    with pytest.raises(UnknownRunError, match="unknown run: 'nope'"):
        system.get("nope")
    with pytest.raises(UnknownRunError):
        list(system.handle("nope").events())


def test_expired_run_says_so() -> None:
    with RunSystem(retention=0.0) as system:
        handle = system.start(lambda ctx: 1)
        handle.wait(10)
        with pytest.raises(RunExpiredError, match="expired"):
            system.get(handle.run_id)
        with pytest.raises(RunExpiredError):
            list(handle.events())


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"inputs": {"x": object()}}, ValueError, "inputs must be a JSON object"),
        ({"run_id": ""}, ValueError, "non-empty"),
    ],
)
def test_bad_start_arguments(system: RunSystem, kwargs: dict, error: type, message: str) -> None:  # type: ignore[type-arg]
    with pytest.raises(error, match=message):
        system.start(lambda ctx: 1, **kwargs)


def test_not_callable_and_duplicate_run_id(system: RunSystem) -> None:
    with pytest.raises(TypeError, match="callable"):
        system.start("not a function")  # type: ignore[arg-type]
    system.start(lambda ctx: 1, run_id="dup").wait(10)
    with pytest.raises(ValueError, match="already exists"):
        system.start(lambda ctx: 1, run_id="dup")


def test_bad_cursor_and_event_timeout(system: RunSystem) -> None:
    gate = threading.Event()
    handle = system.start(blocker(gate))
    with pytest.raises(ValueError, match="after_seq"):
        handle.events(-1)
    with pytest.raises(RunTimeoutError):
        list(handle.events(after_seq=1, timeout=0.05))
    gate.set()


def test_closed_system_refuses_work_and_cancels_live_runs() -> None:
    system = RunSystem()
    gate = threading.Event()
    handle = system.start(blocker(gate))

    def stubborn_until_cancel(ctx: RunContext) -> None:
        ctx.wait_cancelled(30)

    other = system.start(stubborn_until_cancel)
    system.close()
    gate.set()
    assert other.wait(1).type == "run.cancelled"
    assert handle.wait(1).type == "run.cancelled"
    assert handle.wait(1).reason == "system closed"
    with pytest.raises(SystemClosedError):
        system.start(lambda ctx: 1)
    system.close()  # idempotent


def test_invalid_system_settings() -> None:
    with pytest.raises(ValueError, match=">= 1"):
        RunSystem(shards=0)
    with pytest.raises(ValueError, match=">= 0"):
        RunSystem(retention=-1)


def test_ctx_emit_refuses_lifecycle_events(system: RunSystem) -> None:
    from runwire.protocol import RunCompleted

    def pipeline(ctx: RunContext) -> None:
        ctx.emit(RunCompleted(run_id="x", result=1))

    terminal = system.start(pipeline).wait(10)
    assert terminal.type == "run.failed" and "cannot emit 'run.completed'" in terminal.message


def test_on_terminal_callback_fires_once_after_the_terminal_is_in_the_log(system: RunSystem) -> None:
    gate = threading.Event()
    handle = system.start(blocker(gate))
    got: list[object] = []
    fired = threading.Event()

    def callback(event: object) -> None:
        got.append((event, handle._record.terminal.done()))
        fired.set()

    handle.on_terminal(callback)
    gate.set()
    assert fired.wait(10)
    terminal = handle.wait(10)
    assert got == [(terminal, True)]
    late: list[object] = []
    handle.on_terminal(late.append)  # already ended: called at once
    assert late == [terminal]
