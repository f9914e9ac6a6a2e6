"""A real local Ray cluster for the tests: a head and one extra worker node on 127.0.0.1.

``RUNWIRE_TEST_RAY_ADDRESS`` set (``.ci/run`` exports it from ``python -m tests.ray_cluster
start``): the tests use that cluster. Unset: the session starts one itself (``ray_address``
fixture) and stops it at the end. Each node is a ``ray start`` in a process group of its own,
stopped by that group's id (never ``ray stop``, which stops every Ray on the machine); a start
that hangs fails by a timeout. Without Ray installed the tests skip locally and fail in CI.

    eval "$(python -m tests.ray_cluster start)"   # exports the address and the cluster's dir
    python -m tests.ray_cluster stop              # stops it and removes the dir
"""

from __future__ import annotations

import contextlib
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from .store.pg_server import in_ci

ENV_ADDRESS = "RUNWIRE_TEST_RAY_ADDRESS"
ENV_DIR = "RUNWIRE_TEST_RAY_DIR"
START_TIMEOUT = 90.0
_ROOT = Path(__file__).resolve().parent.parent


def _ray_bin() -> str:
    return str(Path(sys.executable).with_name("ray"))


def ray_installed() -> bool:
    try:
        import ray  # noqa: F401
    except ModuleNotFoundError:
        return False
    return True


def need_ray() -> None:
    if ray_installed():
        return
    reason = "Ray is not installed: pip install -e '.[test]' (the ray extra)"
    if in_ci():
        pytest.fail(f"CI needs Ray: {reason}")
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _env() -> dict[str, str]:
    env = dict(os.environ, RAY_USAGE_STATS_ENABLED="0")
    # workers import the tests' pipelines by reference (cloudpickle), so the repo must be importable
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(_ROOT), env.get("PYTHONPATH")]))
    return env


def start_node(folder: Path, args: list[str], cpus: int) -> int:
    """``ray start`` one node in a new process group; its id (the group to stop), after it started."""
    log = open(folder / f"node-{len(list(folder.glob('node-*.log')))}.log", "w")  # noqa: SIM115 - the node's
    cmd = [_ray_bin(), "start", *args, "--num-cpus", str(cpus), "--node-ip-address", "127.0.0.1"]
    cmd += ["--disable-usage-stats", *(["--include-dashboard", "false"] if "--head" in args else [])]
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=_env(), start_new_session=True)
    try:
        code = proc.wait(START_TIMEOUT)
    except subprocess.TimeoutExpired:
        stop_group(proc.pid)
        raise RuntimeError(f"ray start did not finish in {START_TIMEOUT:.0f} s; see {log.name}") from None
    finally:
        log.close()
    if code != 0:
        stop_group(proc.pid)
        raise RuntimeError(f"ray start failed ({code}): {Path(log.name).read_text()[-2000:]}")
    return proc.pid


def _members(pgid: int) -> list[int]:
    pids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[2]) == pgid:
                pids.append(int(stat.parent.name))
    return pids


def _wait_gone(pids: list[int], timeout: float) -> None:
    """Wait for processes we did not parent to exit: a pidfd each turns readable when it does."""
    deadline = time.monotonic() + timeout
    for pid in pids:
        try:
            fd = os.pidfd_open(pid)
        except ProcessLookupError:
            continue
        try:
            select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
        finally:
            os.close(fd)


def stop_group(pgid: int) -> None:
    """Stop one node: its process group, politely, then for good."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        pids = _members(pgid)
        if not pids:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, sig)
        _wait_gone(pids, 10.0)


def start_cluster(worker_node: bool = True) -> tuple[str, Path]:
    """A head (2 CPUs) and a worker node (1 CPU): the GCS address and the cluster's folder."""
    folder = Path(tempfile.mkdtemp(prefix="rw-ray-"))  # short: Ray's socket paths live under it
    port = _free_port()
    groups = [start_node(folder, ["--head", "--port", str(port), "--temp-dir", str(folder / "t")], 2)]
    (folder / "groups").write_text(f"{groups[0]}\n")
    address = f"127.0.0.1:{port}"
    try:
        if worker_node:
            groups.append(start_node(folder, ["--address", address], 1))
    except BaseException:
        stop_cluster(folder)
        raise
    (folder / "groups").write_text("".join(f"{g}\n" for g in groups))
    return address, folder


def stop_cluster(folder: Path) -> None:
    groups = (folder / "groups").read_text().split() if (folder / "groups").exists() else []
    for group in reversed(groups):
        stop_group(int(group))
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def ray_address() -> Iterator[str]:
    """The test cluster's address (started for the session unless ``RUNWIRE_TEST_RAY_ADDRESS`` is set)."""
    need_ray()
    given = os.environ.get(ENV_ADDRESS, "")
    if given:
        yield given
        return
    address, folder = start_cluster()
    try:
        yield address
    finally:
        with contextlib.suppress(Exception):
            import ray

            ray.shutdown()
        stop_cluster(folder)


if __name__ == "__main__":
    if sys.argv[1:] == ["start"]:
        started, where = start_cluster()
        print(f"export {ENV_ADDRESS}={started}")
        print(f"export {ENV_DIR}={where}")
    elif sys.argv[1:] == ["stop"]:
        stop_cluster(Path(os.environ[ENV_DIR]))
    else:
        sys.exit("usage: python -m tests.ray_cluster start|stop")
