"""runwire's runtime: start runs, stream their events, cancel them, get exactly one terminal.

>>> from runwire.actors import RunSystem
>>> def hello(ctx):
...     ctx.progress(0.5, message="halfway")
...     return {"greeting": f"hello {ctx.inputs['name']}"}
>>> with RunSystem() as system:
...     handle = system.start(hello, {"name": "world"})
...     [e.type for e in handle.events()]
['run.started', 'run.progress', 'run.completed']
"""

from ._context import RunContext
from ._errors import (
    Cancelled,
    RunExpiredError,
    RunTimeoutError,
    RunwireError,
    SubscriberTooSlowError,
    SystemClosedError,
    UnknownRunError,
)
from ._handle import RunHandle
from ._info import RunInfo
from ._subscription import EventStream
from ._system import RunSystem

__all__ = [
    "Cancelled",
    "EventStream",
    "RunContext",
    "RunExpiredError",
    "RunHandle",
    "RunInfo",
    "RunSystem",
    "RunTimeoutError",
    "RunwireError",
    "SubscriberTooSlowError",
    "SystemClosedError",
    "UnknownRunError",
]
