"""Shared fixtures: a real RunSystem per test, closed afterwards; hypothesis profiles."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, settings

from runwire.actors import RunSystem

from .backends import backend_system, stored_factory, system_factory
from .ray_cluster import ray_address

# fixtures: every test module may take them
__all__ = ["backend_system", "ray_address", "stored_factory", "system_factory"]

# No deadline: examples drive real threads on a shared machine. The ``system`` fixture is meant to
# be shared by a test's examples (each example starts its own runs).
settings.register_profile(
    "dev", deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
)
# CI (.ci/run): the same, but derandomized, so a red run is red again on the next push, and a
# failure prints the blob that reproduces it (@reproduce_failure).
settings.register_profile("ci", settings.get_profile("dev"), derandomize=True, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))


@pytest.fixture(autouse=True, scope="session")
def _hermetic_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """CLI runs persist to the run store by default: keep them in a temp dir, never the user's."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("RUNWIRE_DATA_DIR", str(tmp_path_factory.mktemp("runwire-data")))
        yield


@pytest.fixture
def system() -> Iterator[RunSystem]:
    with RunSystem(cancel_deadline=2.0) as s:
        yield s
