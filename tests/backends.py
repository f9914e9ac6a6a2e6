"""The back-ends the guarantee suite runs on: every store and executor must keep the same promises.

``system_factory`` is parametrised over (store, executor) pairs: no store, a SQLite file, a
PostgreSQL schema of its own on the test server (``RUNWIRE_TEST_POSTGRES_URL``; skipped locally
without it, a failure in CI), the toy in-memory store of docs/extending.md, each with the local
executor, and the toy thread-per-run executor without a store (not the full cross product: the
store and the executor are independent seams, and each pair costs a pass of the suite), and the
Ray executor on the session's local cluster (tests/ray_cluster.py) without a store: ``none-ray``.
A test whose pipeline shares in-process objects with the test (a ``threading.Event`` it waits
on, a list it appends to) cannot run on Ray: it is marked ``@pytest.mark.in_process`` and
skipped there (docs/scale-out.md). A guarantee test takes it through a module-level ``system``
fixture::

    @pytest.fixture
    def system(backend_system: RunSystem) -> RunSystem:
        return backend_system
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from itertools import count
from pathlib import Path
from typing import Any

import pytest

from runwire.actors import RunSystem
from runwire.actors.ext import Executor

from .extensions.toys import MemoryStore, ThreadExecutor
from .store.pg_server import fresh_schema, schema_url

STORES: dict[str, Callable[[Path], object | None]] = {
    "none": lambda tmp: None,
    "sqlite": lambda tmp: tmp / "runs.db",
    "postgresql": lambda tmp: schema_url(fresh_schema()),
    "toy": lambda tmp: MemoryStore(),
}
EXECUTORS: dict[str, Callable[[], str | Executor]] = {"local": lambda: "local", "toy": ThreadExecutor}
BACKENDS = [
    ("none", "local"),
    ("sqlite", "local"),
    ("postgresql", "local"),
    ("toy", "local"),
    ("none", "toy"),
    ("none", "ray"),
]
DURABLE = [name for name in STORES if name != "none"]
"""The stores that persist: the stored-read suite (tests/test_stored_reads.py) runs on each of them.
A new back-end is one entry in ``STORES`` (a factory of the value ``RunSystem(store=...)`` takes,
reopened by every system a test makes) and, for the guarantee suite, one pair in ``BACKENDS``."""

SystemFactory = Callable[..., RunSystem]


@pytest.fixture(params=BACKENDS, ids=[f"{store}-{executor}" for store, executor in BACKENDS])
def system_factory(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SystemFactory]:
    """``system_factory(**options)``: a RunSystem on this back-end pair, closed after the test."""
    store_name, executor_name = request.param
    executor: Callable[[], Any] = EXECUTORS.get(executor_name, lambda: "local")
    if executor_name == "ray":
        if request.node.get_closest_marker("in_process") is not None:
            pytest.skip("its pipeline shares in-process objects with the test: it cannot run on a Ray worker")
        from runwire.actors.ray import ray_executor

        factory = ray_executor(request.getfixturevalue("ray_address"))
        executor = lambda: factory  # noqa: E731
    made = count()
    with ExitStack() as stack:

        def make(**options: Any) -> RunSystem:
            store = STORES[store_name](tmp_path / f"store-{next(made)}")  # a file of its own per system
            if isinstance(store, Path):
                store.parent.mkdir(parents=True, exist_ok=True)
            return stack.enter_context(RunSystem(store=store, executor=executor(), **options))

        yield make


@pytest.fixture
def backend_system(system_factory: SystemFactory) -> RunSystem:
    """The ``system`` fixture's settings, on each back-end pair."""
    return system_factory(cancel_deadline=2.0)


@pytest.fixture(params=DURABLE)
def stored_factory(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SystemFactory]:
    """``stored_factory(**options)``: a RunSystem on one store that every system of the test shares
    (a later system reads what an earlier one wrote), each closed after the test."""
    target = STORES[request.param](tmp_path / "shared")
    if isinstance(target, Path):
        target.parent.mkdir(parents=True, exist_ok=True)
    with ExitStack() as stack:

        def make(**options: Any) -> RunSystem:
            return stack.enter_context(RunSystem(store=target, **options))

        yield make
