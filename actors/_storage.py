"""The store seam: what a RunSystem asks of the run store it persists to.

The system never knows which back-end it holds. It opens one from ``RunSystem(store=...)``:
a path or URL picks the back-end by scheme through the ``runwire.stores`` entry points (a
plain path or ``sqlite://...``: SQLite; ``postgresql://`` next), and an object that can
``attach`` itself (e.g. an open ``SqliteRunStore``) is adopted. What it gets back is a
:class:`SystemStore`: the durable subscriber of each new run, and the reads that serve runs no
longer in memory. docs/extending.md shows a complete in-memory one.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol, TypeAlias, runtime_checkable

from pydantic import JsonValue

from runwire.protocol import RunEvent, RunState

from ._plugins import STORES, load

if TYPE_CHECKING:
    from ._handle import RunHandle
    from ._info import RunInfo
    from ._subscription import Sink
    from ._system import RunSystem

__all__ = ["FailRun", "NewRun", "StoreOpener", "StoreSource", "SystemStore", "open_store", "store_scheme"]

FailRun: TypeAlias = Callable[[str, str], None]
"""``fail_run(run_id, message)``: the store could not persist the run; the system fails it
(``run.failed``, ``StoreWriteError``). Callable from any thread; never blocks."""


@dataclass(frozen=True, slots=True)
class NewRun:
    """A run the system is about to start: what a store records before its first event."""

    run_id: str
    pipeline: str
    inputs: dict[str, JsonValue]
    parent_run_id: str | None
    created_at: datetime


@runtime_checkable
class SystemStore(Protocol):
    """A run store as one RunSystem holds it. Every method is called off the actors' threads,
    except the sink ``create`` returns, whose ``push`` runs on the bus thread (never block it)."""

    @property
    def store(self) -> Any:
        """The back-end's own store object (``RunSystem.store``), e.g. a ``SqliteRunStore``."""
        ...

    def check_new(self, run_id: str) -> None:
        """Raise ValueError if a run with this caller-chosen run_id is stored already."""
        ...

    def create(self, run: NewRun) -> Sink:
        """Record ``run`` and return the sink the system subscribes from seq 1 to persist its log."""
        ...

    def handle(self, system: RunSystem, run_id: str) -> RunHandle | None:
        """A handle to a stored run that is not in memory, or None if not stored."""
        ...

    def info(self, run_id: str) -> RunInfo | None:
        """A snapshot of a stored run (``from_store=True``), or None if not stored."""
        ...

    def runs(self, state: RunState | None, limit: int | None, skip: set[str]) -> list[RunInfo]:
        """Stored runs not in ``skip`` (those in memory), at most ``limit`` + len(skip) of them."""
        ...

    def bind(self, system: RunSystem) -> None:
        """Called once by ``RunSystem.__init__`` once its actors are up, before its first run: e.g.
        start serving other processes' cancel requests for this system's runs. Raising makes the
        system close and re-raise. Nothing to do: ``pass``."""
        ...

    def replay(
        self, run_id: str, after_seq: int, missing: Exception, timeout: float | None = None
    ) -> Iterator[list[RunEvent]]:
        """A stored run's events after ``after_seq``, in pages; raise ``missing`` if not stored.

        A run in flight in another process may be followed live, to its terminal; ``timeout``
        then bounds the wait for each next page (``runwire.actors.RunTimeoutError``)."""
        ...

    def fill(self, batch: list[RunEvent]) -> Iterator[list[RunEvent]]:
        """``batch`` with a leading retention ``stream.gap`` replaced by the stored events it stands for."""
        ...

    def close(self, timeout: float | None = None) -> None:
        """The system is closing (after every terminal is handed to the sinks): let go of the store,
        waiting at most ``timeout`` s for what is queued."""
        ...


@runtime_checkable
class StoreSource(Protocol):
    """An open store object a caller passes as ``RunSystem(store=obj)``."""

    def attach(self, fail_run: FailRun) -> SystemStore:
        """Bind to one system (recovering runs a dead process left in flight, if it can)."""
        ...


StoreOpener: TypeAlias = Callable[[str, FailRun], SystemStore]
"""What a ``runwire.stores`` entry point names: opens the store at a path or URL for one system
(the system then owns it and closes it at ``close()``)."""


def store_scheme(target: str) -> str:
    """The back-end a store path or URL names: its URL scheme, ``sqlite`` for a plain path."""
    scheme, sep, _ = target.partition("://")
    return scheme.lower() if sep and scheme.isidentifier() else "sqlite"


def open_store(spec: object, fail_run: FailRun) -> SystemStore:
    """The store ``RunSystem(store=spec)`` asks for: a path, ``"default"``, a URL, or a StoreSource."""
    if isinstance(spec, os.PathLike):
        spec = os.fspath(spec)
    if isinstance(spec, str):
        if not spec:
            raise ValueError("store must be a non-empty path or URL")
        opener = load(STORES, store_scheme(spec), "store back-end (URL scheme)")
        if not callable(opener):
            raise TypeError(f"the store entry point for {spec!r} is not callable")
        opened = opener(spec, fail_run)
    elif isinstance(spec, StoreSource):
        opened = spec.attach(fail_run)
    else:
        raise TypeError(
            f"store must be a path, a URL, 'default' or a store object with attach(), got {type(spec).__name__}"
        )
    if not isinstance(opened, SystemStore):
        raise TypeError(f"the store back-end returned {type(opened).__name__}, not a SystemStore")
    return opened
