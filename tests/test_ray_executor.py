"""The Ray executor on a real local cluster (tests/ray_cluster.py): emits, outcomes, cancel, deaths."""

from __future__ import annotations

import os
import select
import signal
import socket
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from runwire.actors import RunSystem

from . import ray_pipelines as rp
from .helpers import assert_well_formed
from .ray_cluster import ENV_ADDRESS, need_ray, start_cluster, stop_cluster, stop_group

pytestmark = pytest.mark.timeout(180)


@pytest.fixture(scope="module")
def ray_system(ray_address: str) -> Iterator[RunSystem]:
    from runwire.actors.ray import ray_executor

    with RunSystem(executor=ray_executor(ray_address), cancel_deadline=1.0, workers=4) as system:
        yield system


def _wait_exit(pid: int, timeout: float) -> bool:
    """True once process ``pid`` (not our child) has exited: its pidfd turns readable."""
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return True
    try:
        return bool(select.select([fd], [], [], timeout)[0])
    finally:
        os.close(fd)


def _worker_pid(handle: object) -> int:
    for event in handle.events():  # type: ignore[attr-defined]
        if event.type == "run.milestone" and event.name == "worker":
            return int(event.data["pid"])
    raise AssertionError("the run ended before it told its worker's PID")


def test_emits_arrive_in_order_gapless_and_enter_the_bus_like_local_ones(ray_system: RunSystem) -> None:
    handle = ray_system.start(rp.stream, {"n": 5000})
    events = list(handle.events())
    assert_well_formed(events)
    deltas = [e.text for e in events if e.type == "text.delta"]
    assert "".join(deltas) == "".join(f"{i} " for i in range(5000))
    assert [e.type for e in events[-3:]] == ["run.progress", "run.milestone", "run.completed"]
    assert events[-1].result == {"n": 5000}
    with RunSystem() as local:  # the same pipeline locally: the same events, seq for seq
        here = list(local.start(rp.stream, {"n": 5000}).events())
    assert [(e.seq, e.type) for e in here] == [(e.seq, e.type) for e in events]


def test_async_pipeline_runs_on_ray(ray_system: RunSystem) -> None:
    events = list(ray_system.start(rp.async_stream).events())
    assert [e.type for e in events] == ["run.started", "run.log", "text.delta", "text.delta", "run.completed"]
    assert events[-1].result == "ok"


def test_a_raising_pipeline_fails_with_its_own_error_type_and_message(ray_system: RunSystem) -> None:
    terminal = ray_system.start(rp.boom).wait(60)
    assert terminal.type == "run.failed"
    assert (terminal.error_type, terminal.message) == ("KeyError", "'missing widget'")


def test_an_unpicklable_pipeline_fails_the_run_with_a_clear_error(ray_system: RunSystem) -> None:
    import threading

    lock = threading.Lock()
    terminal = ray_system.start(lambda ctx: lock.locked()).wait(60)
    assert terminal.type == "run.failed"
    assert "pickle" in terminal.message


def test_cancel_is_published_at_once_and_the_remote_context_sees_it(ray_system: RunSystem) -> None:
    with socket.create_server(("127.0.0.1", 0)) as server:
        server.settimeout(30)
        handle = ray_system.start(rp.pid_then_wait, {"port": server.getsockname()[1]})
        _worker_pid(handle)
        terminal = handle.cancel("enough", timeout=1.0)  # published here, not after the worker
        assert (terminal.type, terminal.reason) == ("run.cancelled", "enough")
        conn, _ = server.accept()  # the pipeline's wait_cancelled returned on the worker
        with conn:
            assert conn.recv(16) == b"stopped"
    assert ray_system.get(handle.run_id).worker_abandoned is False


def test_a_flooding_pipeline_stops_at_its_next_emit_on_the_worker(ray_system: RunSystem) -> None:
    with socket.create_server(("127.0.0.1", 0)) as server:
        server.settimeout(30)
        handle = ray_system.start(rp.flood_until_cancelled, {"port": server.getsockname()[1]})
        next(e for e in handle.events() if e.type == "text.delta")
        assert handle.cancel(timeout=1.0).type == "run.cancelled"
        conn, _ = server.accept()
        with conn:
            assert conn.recv(64) == b"Cancelled"
    events = list(handle.events())
    assert_well_formed(events)
    assert events[-1].type == "run.cancelled"


def test_the_ray_entry_point_and_an_executor_factory(ray_address: str) -> None:
    from runwire.actors.ext import LocalExecutor

    with RunSystem(executor="ray") as system:  # this process is connected already: the same cluster
        assert system.start(rp.stream, {"n": 3}).wait(60).result == {"n": 3}
    made: list[int] = []

    def factory(workers: int) -> LocalExecutor:
        made.append(workers)
        return LocalExecutor(workers)

    with RunSystem(executor=factory, workers=3) as system:
        assert system.start(rp.stream, {"n": 1}).wait(10).type == "run.completed"
    assert made == [3]
    with pytest.raises(TypeError, match="executor must be 'local', an executor name, an Executor or a factory"):
        RunSystem(executor=lambda workers: 42)


def test_a_worker_ignoring_its_cancel_is_abandoned_and_its_process_killed(ray_system: RunSystem) -> None:
    handle = ray_system.start(rp.stubborn)
    pid = _worker_pid(handle)
    assert handle.cancel(timeout=1.0).type == "run.cancelled"
    assert _wait_exit(pid, 30), "the stubborn worker was not killed after the cancel deadline"
    assert ray_system.get(handle.run_id).worker_abandoned is True


def test_a_killed_worker_process_fails_the_run_with_a_clear_error(ray_system: RunSystem) -> None:
    handle = ray_system.start(rp.pid_then_wait)
    os.kill(_worker_pid(handle), signal.SIGKILL)
    terminal = handle.wait(60)
    assert terminal.type == "run.failed"
    assert terminal.error_type == "RayWorkerError"
    assert "worker process" in terminal.message and "died" in terminal.message


def test_executor_arguments_are_checked_with_one_line_errors() -> None:
    need_ray()
    from runwire.actors.ray import RayExecutor, ray_executor

    for bad, match in (
        ({"address": ""}, "ray address"),
        ({"num_cpus": 0}, "num_cpus"),
        ({"window": 0}, "window"),
        ({"window": True}, "window"),
    ):
        with pytest.raises(ValueError, match=match) as err:
            ray_executor(**bad)  # type: ignore[arg-type]
        assert "\n" not in str(err.value)
    with pytest.raises(ValueError, match="workers"):
        RayExecutor(0)


_HEAD_DIES = textwrap.dedent(
    """
    import sys
    from runwire.actors import RunSystem
    from runwire.actors.ray import ray_executor
    from tests import ray_pipelines as rp

    with RunSystem(executor=ray_executor(sys.argv[1])) as system:
        handles = [system.start(rp.pid_then_wait) for _ in range(2)]
        for handle in handles:
            next(e for e in handle.events() if e.type == "run.milestone")
        print("ready", flush=True)
        for handle in handles:
            terminal = handle.wait(90)
            print("terminal:", terminal.type, terminal.error_type, terminal.message, flush=True)
    """
)


def test_the_head_going_away_gives_every_run_in_flight_a_terminal(tmp_path: Path) -> None:
    need_ray()
    address, folder = start_cluster(worker_node=False)  # a head of its own: this one dies
    try:
        env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parent.parent))
        env.pop(ENV_ADDRESS, None)
        proc = subprocess.Popen(
            [sys.executable, "-c", _HEAD_DIES, address],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        try:
            assert proc.stdout is not None
            for line in iter(proc.stdout.readline, ""):  # Ray may forward its own log lines first
                if line.strip() == "ready":
                    break
            else:
                raise AssertionError(proc.stderr.read() if proc.stderr else "the child ended before 'ready'")
            for group in (folder / "groups").read_text().split():
                stop_group(int(group))  # the whole head node: GCS, raylet, its workers
            out, err = proc.communicate(timeout=120)
        finally:
            proc.kill()
        # the driver's stdout also carries Ray's forwarded "(raylet) ..." log lines as the head dies
        lines = [line.removeprefix("terminal: ") for line in out.splitlines() if line.startswith("terminal: ")]
        assert len(lines) == 2, out[-2000:] + err[-2000:]
        for line in lines:
            assert line.startswith("run.failed RayWorkerError"), line
    finally:
        stop_cluster(folder)


def test_llms_txt_on_ray_writes_the_same_bytes_as_locally(tmp_path: Path, ray_address: str) -> None:
    from .llms_txt.conftest import PROJECT_FILES, write_tree

    source = write_tree(tmp_path / "repo", PROJECT_FILES)
    runwire = Path(sys.executable).with_name("runwire")
    outs = []
    for name, extra in (("local", []), ("ray", ["--executor", "ray", "--ray-address", ray_address])):
        out = tmp_path / name
        cmd = [str(runwire), "run", "llms-txt", str(source), "--out", str(out), "--json", "--no-store", *extra]
        result = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
        assert result.returncode == 0, result.stderr[-2000:]
        outs.append({p.name: p.read_bytes() for p in sorted(out.iterdir())})
    assert outs[0] == outs[1]
    assert set(outs[0]) == {"llms.txt", "llms-full.txt"}


def test_cli_executor_options_are_checked(tmp_path: Path) -> None:
    runwire = Path(sys.executable).with_name("runwire")
    cmd = [str(runwire), "run", "llms-txt", str(tmp_path), "--out", str(tmp_path / "o"), "--no-store"]
    wrong = subprocess.run([*cmd, "--ray-address", "auto"], capture_output=True, text=True, timeout=60, check=False)
    assert wrong.returncode == 2 and "--ray-address needs --executor ray" in wrong.stderr
    bad = subprocess.run([*cmd, "--executor", "spark"], capture_output=True, text=True, timeout=60, check=False)
    assert bad.returncode == 2 and "--executor must be 'local' or 'ray'" in bad.stderr
    serve = [str(runwire), "serve", "--no-store", "--ray-address", "auto"]
    served = subprocess.run(serve, capture_output=True, text=True, timeout=60, check=False, stdin=subprocess.DEVNULL)
    assert served.returncode == 2 and served.stderr.strip() == "runwire serve: --ray-address needs --executor ray"
