"""``runwire loop llms-txt SOURCE``: keep llms.txt current with an ODA loop, one part per step."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from pydantic import JsonValue

from ._live import exit_code, follow
from ._llms import BaseUrl, Exclude, MaxFileBytes, Out, fail_usage
from ._runs import DataDir, NoStore, open_system

__all__ = ["register"]

loop_app = typer.Typer(
    name="loop",
    help="Run an Observe-Decide-Act loop: every step is its own run (exit 0 completed, 1 failed, 2 bad input, "
    "130 cancelled).",
    no_args_is_help=True,
)


@loop_app.command("llms-txt")
def llms_txt(
    source: Annotated[str, typer.Argument(help="A local directory (each observe reads it afresh).")],
    out: Out = Path("."),
    base_url: BaseUrl = None,
    exclude: Exclude = None,
    max_file_bytes: MaxFileBytes = 512 * 1024,
    max_steps: Annotated[int, typer.Option("--max-steps", min=0, help="Budget: steps the loop may start.")] = 64,
    json_lines: Annotated[
        bool, typer.Option("--json", help="Print every event of the loop as one JSON line on stdout, and nothing else.")
    ] = False,
    data_dir: DataDir = None,
    no_store: NoStore = False,
) -> None:
    """Write whatever part of llms.txt is missing or stale, one section per step, until nothing is left."""
    from ..llms_txt import LlmsTxtError
    from ..oda import Budget
    from ..oda.llms_loop import start_llms_txt_loop

    path = Path(source)
    if not path.is_dir():
        fail_usage(f"source is not a directory: {source}" if path.exists() else f"source not found: {source}")
    inputs: dict[str, JsonValue] = {
        "source": source,
        "out": str(out),
        "base_url": base_url,
        "exclude": list(exclude or []),
        "max_file_bytes": max_file_bytes,
    }
    with open_system(data_dir, no_store) as system:  # the loop and its steps land in the store
        try:
            handle = start_llms_txt_loop(system, inputs, budget=Budget(max_steps=max_steps))
        except LlmsTxtError as exc:
            fail_usage(str(exc))
        terminal = follow(handle, as_json=json_lines)
    raise typer.Exit(exit_code(terminal))


def register(app: typer.Typer) -> None:
    app.add_typer(loop_app)
