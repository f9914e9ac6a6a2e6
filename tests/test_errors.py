"""Every exception runwire raises for a user-facing condition derives from ``RunwireError``:
a caller catches one base class, whichever integration raised it."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest

import runwire.actors
from runwire.actors import RunwireError

_CONTROL_FLOW = {"SkipFile"}  # llms_txt.textio: caught by its callers (a skipped file is counted), never reaches a user


def _public_exceptions() -> list[type[BaseException]]:
    found: dict[str, type[BaseException]] = {}
    for info in pkgutil.walk_packages(runwire.actors.__path__, "runwire.actors."):
        if info.name.endswith("__main__"):
            continue
        module = importlib.import_module(info.name)
        for name in getattr(module, "__all__", ()):
            value = getattr(module, name, None)
            if inspect.isclass(value) and issubclass(value, BaseException) and value.__module__.startswith("runwire"):
                found[f"{value.__module__}.{value.__qualname__}"] = value
    return list(found.values())


def _by_name(exceptions: list[type[BaseException]], name: str) -> type[BaseException]:
    return next(e for e in exceptions if e.__name__ == name)


def test_every_public_exception_derives_from_runwire_error() -> None:
    pytest.importorskip("mcp")
    exceptions = _public_exceptions()
    names = {e.__name__ for e in exceptions}
    assert {"StoreError", "StoreWriteError", "LlmsTxtError", "LoopError", "PathError"} <= names
    outside = sorted(e.__name__ for e in exceptions if e.__name__ not in _CONTROL_FLOW)
    outside = [name for name in outside if not issubclass(_by_name(exceptions, name), RunwireError)]
    assert outside == []
