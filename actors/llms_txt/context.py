"""What the generator needs from its caller: progress/milestone/artifact emits and a cancel check.

The runtime's ``RunContext`` satisfies :class:`Reporter` structurally, so this package never imports
the runtime; library users who want no events pass nothing and get :class:`NullReporter`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:  # annotations only: importing the package stays light
    from pydantic import JsonValue

    from runwire.protocol import LogLevel


__all__ = ["NullReporter", "PipelineContext", "ProgressTracker", "Reporter"]


class Reporter(Protocol):
    """The emits the generator makes; every one may raise the runtime's Cancelled exception."""

    def progress(
        self,
        fraction: float | None = None,
        *,
        current: int | None = None,
        total: int | None = None,
        message: str | None = None,
    ) -> None: ...

    def milestone(self, name: str, **data: JsonValue) -> None: ...

    def log(self, message: str, level: LogLevel = "info") -> None: ...

    def artifact_partial(self, artifact_id: str, text: str) -> None: ...

    def artifact(
        self,
        artifact_id: str,
        *,
        path: str | None = None,
        media_type: str = "text/plain",
        size: int | None = None,
        sha256: str | None = None,
        content: str | None = None,
    ) -> None: ...

    def check_cancelled(self) -> None: ...

    def on_cancel(self, callback: Callable[[], object]) -> Callable[[], None]:
        """Run ``callback`` when the run is cancelled (to kill a subprocess); returns its remover."""
        ...


class PipelineContext(Reporter, Protocol):
    """A run context as the pipeline sees it: a :class:`Reporter` plus the run's inputs."""

    @property
    def inputs(self) -> Mapping[str, JsonValue]: ...


class NullReporter:
    """Reports nothing and is never cancelled: the plain library call."""

    def progress(
        self,
        fraction: float | None = None,
        *,
        current: int | None = None,
        total: int | None = None,
        message: str | None = None,
    ) -> None:
        return None

    def milestone(self, name: str, **data: JsonValue) -> None:
        return None

    def log(self, message: str, level: LogLevel = "info") -> None:
        return None

    def artifact_partial(self, artifact_id: str, text: str) -> None:
        return None

    def artifact(
        self,
        artifact_id: str,
        *,
        path: str | None = None,
        media_type: str = "text/plain",
        size: int | None = None,
        sha256: str | None = None,
        content: str | None = None,
    ) -> None:
        return None

    def check_cancelled(self) -> None:
        return None

    def on_cancel(self, callback: Callable[[], object]) -> Callable[[], None]:
        return _nothing


def _nothing() -> None:
    return None


class ProgressTracker:
    """Maps per-phase progress onto one run-wide fraction that only grows, and throttles emits.

    Thousands of files would otherwise mean thousands of progress events; one per ``min_step``
    of the whole run is plenty for a progress bar.
    """

    def __init__(self, reporter: Reporter, *, min_step: float = 0.01) -> None:
        self._reporter = reporter
        self._min_step = min_step
        self._last = -1.0

    @property
    def fraction(self) -> float:
        """The last fraction emitted (0 before any)."""
        return max(self._last, 0.0)

    def update(
        self,
        fraction: float,
        message: str | None = None,
        *,
        current: int | None = None,
        total: int | None = None,
        force: bool = False,
    ) -> None:
        """Emit ``fraction`` if it grew: by at least ``min_step``, or at all when ``force`` is set or it is 1."""
        value = min(max(fraction, 0.0), 1.0)
        if value <= self._last:
            return
        if not force and value < 1.0 and value - self._last < self._min_step:
            return
        self._last = value
        self._reporter.progress(value, current=current, total=total, message=message)

    def phase(self, start: float, end: float, done: int, total: int, message: str) -> None:
        """Progress ``done/total`` of a phase that spans ``start..end`` of the run."""
        share = done / total if total else 1.0
        self.update(start + (end - start) * share, message, current=done, total=total)
