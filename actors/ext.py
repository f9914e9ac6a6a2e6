"""The extension seam: what integrations (stores, executors, transports, pipeline plug-ins) build on.

Integrations import ``runwire.protocol``, ``runwire.actors`` and this module only, never
``runwire.actors._*`` (import-linter enforces it in CI). Everything here is public and
documented in docs/extending.md; the names below are the whole contract:

- subscribers (transports): ``Sink`` and its push results ``OK``/``FULL``/``DEAD``, the
  ``Policy`` names, ``SyncSink``/``AsyncSink`` and ``loop_waker`` (thread-to-loop wake-up);
- stores: ``SystemStore`` (what a RunSystem holds), ``StoreSource`` (an object passed as
  ``store=``), ``StoreOpener`` (the ``runwire.stores`` entry point, by URL scheme), ``NewRun``,
  ``FailRun``, ``open_store``, ``store_scheme``;
- executors: ``Executor``, ``Job``, ``ExecutorFactory`` (the ``runwire.executors`` entry
  point), ``LocalExecutor``;
- pipelines: ``register_pipeline``, ``resolve_pipeline``, ``pipelines`` (``runwire.pipelines``
  entry points);
- cancellation: ``CancelHook`` (``RunHandle.set_cancel_hook``);
- handles of runs not in memory (stored, or owned by another process): ``RemoteRunHandle``;
- the debug seam (tests, diagnosis): ``Pause`` (hold an actor so racing messages queue up in order);
- entry point groups: ``STORES``, ``EXECUTORS``, ``PIPELINES``, ``LOOPS``.
"""

from __future__ import annotations

from ._executor import Executor, ExecutorFactory, Job, LocalExecutor
from ._handle import CancelHook, RemoteRunHandle
from ._messages import Pause
from ._pipelines import available as pipelines
from ._pipelines import register as register_pipeline
from ._pipelines import resolve as resolve_pipeline
from ._plugins import EXECUTORS, LOOPS, PIPELINES, STORES
from ._shard import tell_quietly
from ._storage import FailRun, NewRun, StoreOpener, StoreSource, SystemStore, open_store, store_scheme
from ._subscription import DEAD, FULL, OK, POLICIES, AsyncSink, Policy, Sink, SyncSink, loop_waker

__all__ = [
    "DEAD",
    "EXECUTORS",
    "FULL",
    "LOOPS",
    "OK",
    "PIPELINES",
    "POLICIES",
    "RemoteRunHandle",
    "STORES",
    "AsyncSink",
    "CancelHook",
    "Executor",
    "ExecutorFactory",
    "FailRun",
    "Job",
    "LocalExecutor",
    "NewRun",
    "Pause",
    "Policy",
    "Sink",
    "StoreOpener",
    "StoreSource",
    "SyncSink",
    "SystemStore",
    "loop_waker",
    "open_store",
    "pipelines",
    "register_pipeline",
    "resolve_pipeline",
    "store_scheme",
    "tell_quietly",
]
