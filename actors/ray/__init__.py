"""Pipelines on a Ray cluster: ``RunSystem(executor=ray_executor(address="auto"))`` or ``executor="ray"``.

Ray itself is imported only when an executor is made, so this package loads without it; the
``ray`` extra installs it (``pip install 'runwire[ray]'``). See docs/scale-out.md.
"""

from __future__ import annotations

from ._executor import RayExecutor, RayWorkerError, ray_executor
from ._remote import RayContext

__all__ = ["RayContext", "RayExecutor", "RayWorkerError", "ray_executor"]
