"""Observe-Decide-Act loops: a run whose steps are child runs, chained by Terminal messages.

>>> from runwire.actors import RunSystem
>>> from runwire.actors.oda import Act, Finish
>>> def double(ctx):
...     return ctx.inputs["n"] * 2
>>> def decide(state):
...     n = 1 if state.last is None else state.last.result
...     return Finish(n) if n >= 8 else Act(double, {"n": n})
>>> with RunSystem() as system:
...     system.loop(None, decide).wait(10).result
8

See docs/oda.md for budgets, the step-failure policy, cancellation and the guarantees.
"""

from runwire.actors.ext import Pause  # the core debug seam, re-exported: one Pause for every actor

from ._events import LoopEventStream, loop_events
from ._handle import LoopHandle
from ._runner import StepRunnerActor
from ._start import start_loop
from ._types import (
    Act,
    Budget,
    Decision,
    FailureBudgetExceeded,
    Finish,
    LoopError,
    LoopState,
    Retry,
    StepFailed,
    StepFailurePolicy,
    StepOutcome,
)

__all__ = [
    "Act",
    "Budget",
    "Decision",
    "FailureBudgetExceeded",
    "Finish",
    "LoopError",
    "LoopEventStream",
    "LoopHandle",
    "LoopState",
    "Pause",
    "Retry",
    "StepFailed",
    "StepFailurePolicy",
    "StepOutcome",
    "StepRunnerActor",
    "loop_events",
    "start_loop",
]
