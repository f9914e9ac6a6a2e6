"""Packaging hygiene: lazy integrations, no top-level clash, protocol independent of actors."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from pathlib import Path

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


def test_import_of_the_ray_integration_loads_no_ray() -> None:
    """Ray loads when a Ray executor is made (``executor="ray"``), not when its package is imported."""
    mods = _modules_after("import runwire.actors, runwire.actors.ray, runwire.actors.cli")
    assert "ray" not in {m.split(".")[0] for m in mods}


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


def _contracts() -> dict[str, dict[str, list[str]]]:
    pyproject = Path(__file__).resolve().parent.parent / "pyproject.toml"
    config = tomllib.loads(pyproject.read_text())["tool"]["importlinter"]["contracts"]
    return {c["name"]: c for c in config}


def _modules(folder: Path, prefix: str) -> set[str]:
    return {f"{prefix}.{p.stem}" for p in folder.glob("_*.py") if p.stem not in ("__init__", "__main__")}


def test_the_import_contracts_name_every_private_module_and_integration() -> None:
    """import-linter matches no ``_*`` pattern: a new module must be in the lists or it escapes the contracts."""
    actors = Path(runwire.actors.__file__).parent
    contracts = _contracts()
    core = _modules(actors, "runwire.actors")
    integrations = {f"runwire.actors.{p.parent.name}" for p in actors.glob("*/__init__.py")}
    private = set().union(*(_modules(actors / i.rsplit(".", 1)[1], i) for i in integrations))
    assert core <= set(contracts["the core imports no integration"]["source_modules"])
    forbidden = set(contracts["the core imports no integration"]["forbidden_modules"])
    assert integrations <= forbidden
    only_public = contracts["integrations import the core only through runwire.actors and runwire.actors.ext"]
    assert set(only_public["forbidden_modules"]) == core
    assert set(only_public["source_modules"]) == integrations
    each_other = contracts["integrations import each other only through public names"]
    assert set(each_other["forbidden_modules"]) == private
    assert set(each_other["source_modules"]) == integrations


def test_the_core_names_no_integration_in_strings() -> None:
    """No ``importlib`` or ``module:attr`` reach into an integration that import-linter cannot see."""
    actors = Path(runwire.actors.__file__).parent
    names = [p.parent.name for p in actors.glob("*/__init__.py")]
    for path in [*actors.glob("_*.py"), actors / "ext.py", actors / "__init__.py"]:
        text = path.read_text()
        assert "import_module" not in text and "__import__" not in text, path.name
        for name in names:
            for quoted in (f'"runwire.actors.{name}', f'".{name}', f"'runwire.actors.{name}", f"'.{name}"):
                assert quoted not in text, f"{path.name} names the {name} integration in a string"
