"""Packaging hygiene: lazy integrations, no top-level clash, protocol independent of actors."""

from __future__ import annotations

import json
import subprocess
import sys

import runwire.actors
import runwire.protocol


def _modules_after(code: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", f"{code}; import sys, json; print(json.dumps(sorted(sys.modules)))"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return set(json.loads(out.stdout))


def test_import_actors_pulls_no_optional_integration() -> None:
    mods = _modules_after("import runwire.actors")
    heavy = {"dspy", "mcp", "ray", "litellm", "typer", "rich", "autogen_core", "fastapi", "starlette", "opentelemetry"}
    assert not heavy & {m.split(".")[0] for m in mods}


def test_protocol_imports_nothing_from_actors_and_starts_no_thread() -> None:
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            "import threading, sys; import runwire.protocol; "
            "print(threading.active_count(), any(m.startswith('runwire.actors') for m in sys.modules))",
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert out.stdout.split() == ["1", "False"]


def test_no_top_level_actors_or_protocol_module() -> None:
    mods = _modules_after("import runwire.actors, runwire.protocol")
    assert "actors" not in mods
    assert "protocol" not in mods


def test_public_api_is_explicit() -> None:
    for module in (runwire.actors, runwire.protocol):
        assert module.__all__
        for name in module.__all__:
            assert hasattr(module, name), f"{module.__name__}.{name} is in __all__ but missing"


def test_import_of_the_http_integration_loads_no_web_stack() -> None:
    mods = _modules_after("import runwire.actors, runwire.actors.http")
    heavy = {"fastapi", "starlette", "uvicorn", "httpx", "opentelemetry", "sse_starlette"}
    assert not heavy & {m.split(".")[0] for m in mods}
