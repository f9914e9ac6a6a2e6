"""Public arguments checked at the call, with one clear ``TypeError``/``ValueError`` each.

Why here and not where they are used: a value a caller passes is used later on an actor's
thread (the bus slices its log with a cursor, the completion side builds a terminal from a
reason). A bad one found there fails somebody's run with an ``InternalError``; found at the
call, it fails only the caller.
"""

from __future__ import annotations

import math
from typing import Any

from pydantic import ConfigDict, JsonValue, TypeAdapter, ValidationError

from runwire.protocol._base import Json
from runwire.protocol._frozen import encodable

__all__ = [
    "POLICIES",
    "check_buffer",
    "check_result",
    "check_cursor",
    "check_policy",
    "check_text",
    "check_timeout",
    "first_error",
]


POLICIES: tuple[str, ...] = ("block", "coalesce", "disconnect")


def check_cursor(value: object, name: str = "after_seq") -> int:
    """A seq cursor: a non-negative int (not a bool, not a float)."""
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if value < 0:
        raise ValueError(f"{name} must be >= 0, got {value}")
    return int(value)


def check_buffer(value: object) -> int | None:
    """A subscriber buffer: None (unbounded) or a positive int."""
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"buffer must be an int or None, got {type(value).__name__}")
    if value < 1:
        raise ValueError(f"buffer must be >= 1 event, got {value}")
    return int(value)


def check_policy(value: object) -> Any:
    """One of the policy names (exactly a ``str``: an object that only compares equal is refused)."""
    if type(value) is not str or value not in POLICIES:
        raise ValueError(f"policy must be one of {', '.join(POLICIES)}, got {value!r}")
    return value


def check_timeout(value: object, name: str = "timeout") -> float | None:
    """None (wait forever) or a finite number of seconds >= 0."""
    if value is None:
        return None
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise TypeError(f"{name} must be a number of seconds or None, got {type(value).__name__}")
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value}")
    return float(value)


def check_text(value: object, name: str, *, optional: bool = False) -> Any:
    """A ``str`` that JSON can encode (no lone surrogate); None too when ``optional``."""
    if value is None and optional:
        return None
    if type(value) is not str:
        raise TypeError(f"{name} must be a str, got {type(value).__name__}")
    if not encodable(value):
        raise ValueError(f"{name} holds text JSON cannot encode (a lone surrogate): {value!r}")
    return value


def first_error(exc: ValidationError) -> str:
    """One line naming the first bad field and why."""
    err = exc.errors()[0]
    where = ".".join(str(p) for p in err["loc"])
    return f"{where}: {err['msg']}" if where else str(err["msg"])


# what a terminal's ``result`` may hold: finite numbers, encodable text (read-only containers)
_RESULT: TypeAdapter[JsonValue] = TypeAdapter(Json, config=ConfigDict(allow_inf_nan=False))


def check_result(value: object) -> JsonValue:
    """A run's result as ``run.completed`` will carry it; ``ValueError`` naming what JSON cannot hold."""
    try:
        return _RESULT.validate_python(value)
    except ValidationError as exc:
        raise ValueError(f"result is not a JSON value: {first_error(exc)}") from None


def check_run_options(name: object, parent_run_id: object, step: object, rate: object, delay: object) -> None:
    """``start()``'s keyword arguments, before anything about the run exists."""
    check_text(name, "name", optional=True)
    if parent_run_id is not None and not check_text(parent_run_id, "parent_run_id"):
        raise ValueError("parent_run_id must be a non-empty string or None")
    if step is not None and (not isinstance(step, int) or isinstance(step, bool) or step < 0):
        raise ValueError(f"step must be an int >= 0 or None, got {step!r}")
    if rate != "default" and rate is not None and not _positive(rate):
        raise ValueError(f"delta_max_rate must be a finite number > 0, None or 'default', got {rate!r}")
    if delay is not None and not (_positive(delay) or delay == 0):
        raise ValueError(f"delta_max_delay must be a finite number >= 0 or None, got {delay!r}")


def _positive(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value) and value > 0
