"""``runwire loop llms-txt SOURCE``: keep llms.txt current with an ODA loop, one part per step."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from pydantic import JsonValue

from ._live import exit_code, follow
from ._llms import (
    BaseUrl,
    Exclude,
    IncludeVendored,
    MaxFileBytes,
    MaxFullTokens,
    MaxTokens,
    NoSecretScan,
    Out,
    fail_usage,
)
from ._stores import DataDir, NoStore, open_system

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
    include_vendored: IncludeVendored = False,
    no_secret_scan: NoSecretScan = False,
    max_tokens: MaxTokens = 50_000,
    max_full_tokens: MaxFullTokens = 1_000_000,
    max_steps: Annotated[int, typer.Option("--max-steps", min=0, help="Budget: steps the loop may start.")] = 64,
    json_lines: Annotated[
        bool, typer.Option("--json", help="Print every event of the loop as one JSON line on stdout, and nothing else.")
    ] = False,
    data_dir: DataDir = None,
    no_store: NoStore = False,
) -> None:
    """Write whatever part of llms.txt is missing or stale, one section per step, until nothing is left."""
    from ..llms_txt import LLMS_FULL_TXT, LLMS_TXT, LlmsTxtError, options_from_inputs
    from ..llms_txt.output import check_out_dir
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
        "include_vendored": include_vendored,
        "secret_scan": not no_secret_scan,
        "max_index_tokens": max_tokens,
        "max_full_tokens": max_full_tokens,
    }
    try:  # the same options as `runwire run llms-txt`, checked the same way: one line, exit 2, no run
        options_from_inputs(inputs).validate()
        check_out_dir(out.expanduser().resolve(), (LLMS_TXT, LLMS_FULL_TXT))
    except LlmsTxtError as exc:
        fail_usage(str(exc))
    with open_system(data_dir, no_store) as system:  # the loop and its steps land in the store
        try:
            handle = start_llms_txt_loop(system, inputs, budget=Budget(max_steps=max_steps))
        except LlmsTxtError as exc:
            fail_usage(str(exc))
        terminal = follow(handle, as_json=json_lines)
    raise typer.Exit(exit_code(terminal))


def register(app: typer.Typer) -> None:
    app.add_typer(loop_app)
