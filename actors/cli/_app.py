"""Typer application: the ``runwire`` command and its subcommands."""

from __future__ import annotations

import importlib
from typing import Annotated

import typer

import runwire

from ._demo import demo_pipeline
from ._live import exit_code, follow
from ._stores import DataDir, NoStore, StoreUrl, open_system

app = typer.Typer(
    name="runwire",
    help="Deterministic, streaming, cancellable runs: start a pipeline, watch its ordered events, "
    "cancel it (Ctrl-C), and always get exactly one terminal event.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"runwire {runwire.__version__}")
        raise typer.Exit


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """runwire: runs you can trust."""


@app.command()
def demo(
    steps: Annotated[int, typer.Option(min=1, max=10_000, help="How many items the demo 'analyses'.")] = 20,
    delay: Annotated[float, typer.Option(min=0.0, max=10.0, help="Seconds per item (paced so you can watch).")] = 0.05,
    json_lines: Annotated[
        bool, typer.Option("--json", help="Print every event as one JSON line on stdout, and nothing else.")
    ] = False,
    data_dir: DataDir = None,
    store_url: StoreUrl = None,
    no_store: NoStore = False,
) -> None:
    """Run a small built-in pipeline with live progress (exit 0 completed, 1 failed, 130 cancelled)."""
    with open_system(data_dir, no_store, store=store_url) as system:
        handle = system.start(demo_pipeline, {"steps": steps, "delay": delay}, name="demo")
        terminal = follow(handle, as_json=json_lines)
    raise typer.Exit(exit_code(terminal))


# Subcommands that live in their own modules, each exposing ``register(app)``. A module that is
# not there yet is skipped (an integration not installed in this build); any other error raises.
_COMMAND_MODULES = ("_llms", "_runs", "_serve", "_loop")
for _name in _COMMAND_MODULES:
    try:
        _module = importlib.import_module(f"{__package__}.{_name}")
    except ModuleNotFoundError as _exc:
        if _exc.name != f"{__package__}.{_name}":
            raise
        continue
    _module.register(app)
