"""The loop's public vocabulary: what decide returns, the budgets, the failure policy, the state.

Plain frozen values, so a decision or a state can cross threads (observe/decide run off the
actor) without anyone sharing mutable data.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, TypeAlias

from pydantic import JsonValue

from runwire.actors import RunwireError
from runwire.protocol import RunEvent

__all__ = [
    "Act",
    "Budget",
    "Decision",
    "FailureBudgetExceeded",
    "Finish",
    "LoopError",
    "LoopState",
    "Retry",
    "StepFailed",
    "StepFailurePolicy",
    "StepOutcome",
    "check_policy",
]

Outcome: TypeAlias = Literal["completed", "failed", "cancelled"]


@dataclass(frozen=True, slots=True)
class Act:
    """Run ``pipeline(ctx)`` with ``inputs`` as the loop's next step (a child run)."""

    pipeline: Callable[..., Any]
    inputs: Mapping[str, Any] | None = None
    name: str | None = None


@dataclass(frozen=True, slots=True)
class Finish:
    """End the loop: its ``run.completed`` carries ``result`` (a JSON value)."""

    result: JsonValue = None


Decision: TypeAlias = Act | Finish


@dataclass(frozen=True, slots=True)
class Retry:
    """Step-failure policy: run the failed step again, up to ``times`` more times.

    When the retries are spent, ``then`` says what happens: ``"stop"`` fails the loop,
    ``"continue"`` hands the failure to observe/decide.
    """

    times: int = 1
    then: Literal["stop", "continue"] = "stop"

    def __post_init__(self) -> None:
        if self.times < 0:
            raise ValueError(f"Retry.times must be >= 0, got {self.times}")
        if self.then not in ("stop", "continue"):
            raise ValueError(f"Retry.then must be 'stop' or 'continue', got {self.then!r}")


StepFailurePolicy: TypeAlias = Literal["stop", "continue"] | Retry


def check_policy(policy: object) -> StepFailurePolicy:
    """The policy if valid; a one-line ValueError otherwise."""
    if isinstance(policy, Retry) or policy in ("stop", "continue"):
        return policy
    raise ValueError(f"on_step_failure must be 'stop', 'continue' or Retry(times=N), got {policy!r}")


@dataclass(frozen=True, slots=True)
class Budget:
    """Limits that end a loop. ``None`` = no limit.

    - ``max_steps``: steps (child runs, retries included) the loop may start. A decision to act
      beyond it ends the loop ``run.completed`` with ``finish_reason="max_steps"``.
    - ``deadline``: seconds of wall-clock time from the loop's start. When it passes, the running
      step is cancelled and the loop ends ``run.completed`` with ``finish_reason="deadline"``.
    - ``max_consecutive_failures``: the Nth failed step in a row ends the loop ``run.failed``
      (``FailureBudgetExceeded``), whatever the step-failure policy.
    """

    max_steps: int | None = None
    deadline: float | None = None
    max_consecutive_failures: int | None = None

    def __post_init__(self) -> None:
        if self.max_steps is not None and self.max_steps < 0:
            raise ValueError(f"max_steps must be >= 0, got {self.max_steps}")
        if self.deadline is not None and not (self.deadline > 0 and math.isfinite(self.deadline)):
            raise ValueError(f"deadline must be a positive number of seconds, got {self.deadline}")
        if self.max_consecutive_failures is not None and self.max_consecutive_failures < 1:
            raise ValueError(f"max_consecutive_failures must be >= 1, got {self.max_consecutive_failures}")


@dataclass(frozen=True, slots=True)
class StepOutcome:
    """How one step ended, read from its terminal event."""

    index: int
    child_run_id: str
    name: str
    attempt: int
    """0 for a decided step, 1.. for its retries."""
    terminal: RunEvent

    @property
    def outcome(self) -> Outcome:
        kind = self.terminal.type
        return "completed" if kind == "run.completed" else "failed" if kind == "run.failed" else "cancelled"

    @property
    def ok(self) -> bool:
        return self.terminal.type == "run.completed"

    @property
    def result(self) -> JsonValue:
        """The step's result (``run.completed``), else None."""
        return self.terminal.result if self.terminal.type == "run.completed" else None

    @property
    def error(self) -> str | None:
        """``"ErrorType: message"`` for a failed step, ``"cancelled: reason"`` for a cancelled one."""
        if self.terminal.type == "run.failed":
            return f"{self.terminal.error_type}: {self.terminal.message}"
        if self.terminal.type == "run.cancelled":
            return f"cancelled: {self.terminal.reason}"
        return None

    def summary(self) -> dict[str, JsonValue]:
        """A JSON summary (what a budget stop puts in the loop's result)."""
        return {
            "index": self.index,
            "child_run_id": self.child_run_id,
            "name": self.name,
            "outcome": self.outcome,
            "result": self.result,
            "error": self.error,
        }


@dataclass(frozen=True, slots=True)
class LoopState:
    """What observe receives: the loop so far, and the last step's terminal (result or error)."""

    loop_run_id: str
    inputs: dict[str, JsonValue]
    steps: int
    """Steps started so far (retries included): the index the next step gets."""
    last: StepOutcome | None
    consecutive_failures: int
    elapsed: float
    """Seconds since the loop started."""


class LoopError(RunwireError):
    """Base class of the errors that end a loop ``run.failed``."""


class StepFailed(LoopError):
    """A step failed and the policy said stop (``"stop"``, or ``Retry`` with its retries spent)."""


class FailureBudgetExceeded(LoopError):
    """``Budget.max_consecutive_failures`` steps failed in a row."""
