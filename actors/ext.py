"""The extension seam: what integrations (stores, executors, transports, pipeline plug-ins) build on.

Integrations import ``runwire.protocol``, ``runwire.actors`` and this module only, never
``runwire.actors._*``. Everything here is public and documented in docs/extending.md; the
names below are the whole contract (issue "One core, public seams" grows it: store and
executor protocols, cancel hooks).
"""

from __future__ import annotations

from ._pipelines import available as pipelines
from ._pipelines import register as register_pipeline
from ._pipelines import resolve as resolve_pipeline
from ._shard import tell_quietly
from ._subscription import DEAD, FULL, OK, POLICIES, AsyncSink, Policy, Sink, SyncSink, loop_waker

__all__ = [
    "DEAD",
    "FULL",
    "OK",
    "POLICIES",
    "AsyncSink",
    "Policy",
    "Sink",
    "SyncSink",
    "loop_waker",
    "pipelines",
    "register_pipeline",
    "resolve_pipeline",
    "tell_quietly",
]
