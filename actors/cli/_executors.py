"""``--executor local|ray`` and ``--ray-address``: where the runs a command starts execute.

Ray is imported only for ``--executor ray`` (the ``ray`` extra), so the CLI starts without it.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

__all__ = ["ExecutorOption", "RayAddress", "executor_errors", "executor_spec"]

ExecutorOption = Annotated[
    str,
    typer.Option(
        "--executor",
        metavar="local|ray",
        help="Where pipelines execute: this process (local) or a Ray cluster (ray; needs runwire[ray]).",
    ),
]
RayAddress = Annotated[
    str | None,
    typer.Option(
        "--ray-address",
        metavar="auto|HOST:PORT",
        help="With --executor ray: the cluster ('auto': the one `ray start` began here). Default: RAY_ADDRESS.",
    ),
]


def executor_spec(executor: str, ray_address: str | None) -> Any:
    """What ``RunSystem(executor=...)`` takes for these options; ValueError (one line) if they are wrong."""
    if executor not in ("local", "ray"):
        raise ValueError(f"--executor must be 'local' or 'ray', got {executor!r}")
    if executor == "local":
        if ray_address is not None:
            raise ValueError("--ray-address needs --executor ray")
        return "local"
    try:
        from runwire.actors.ray import ray_executor
    except ImportError as exc:  # pragma: no cover - the package ships with runwire
        raise ValueError(f"--executor ray: {exc}") from None
    return ray_executor(ray_address)


def executor_errors(executor: str) -> tuple[type[BaseException], ...]:
    """The errors making this executor reports as one line (Ray missing, its cluster unreachable)."""
    if executor != "ray":
        return ()
    from runwire.actors.ray import RayWorkerError

    return (ImportError, RayWorkerError)
