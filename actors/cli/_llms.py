"""``runwire run llms-txt SOURCE``: the main job, as a live, cancellable run."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from pydantic import JsonValue

from ._executors import ExecutorOption, RayAddress
from ._live import exit_code, follow
from ._stores import DataDir, NoStore, StoreUrl, open_system

__all__ = ["register"]

run_app = typer.Typer(
    name="run",
    help="Run a built-in pipeline with live progress (exit 0 completed, 1 failed, 2 bad input, 130 cancelled).",
    no_args_is_help=True,
)

# Options shared with `runwire loop llms-txt`.
Out = Annotated[Path, typer.Option("--out", "-o", help="Where llms.txt and llms-full.txt are written.")]
BaseUrl = Annotated[
    str | None, typer.Option("--base-url", help="Make links absolute under this URL (default: relative paths).")
]
Exclude = Annotated[
    list[str] | None, typer.Option("--exclude", "-x", help="A gitignore-style glob to skip (repeatable).")
]
MaxFileBytes = Annotated[
    int, typer.Option("--max-file-bytes", min=1, help="Skip files larger than this (counted as oversized).")
]

IncludeVendored = Annotated[
    bool,
    typer.Option(
        "--include-vendored",
        help="Also index virtual environments, site-packages, node_modules, vendored and build folders.",
    ),
]
NoSecretScan = Annotated[
    bool,
    typer.Option(
        "--no-secret-scan",
        help="Publish files and lines that look like secrets (.env, private keys, tokens) instead of leaving them out.",
    ),
]
MaxTokens = Annotated[
    int,
    typer.Option(
        "--max-tokens",
        min=1000,
        help="Budget of llms.txt in estimated tokens: the less important files are summarised per directory.",
    ),
]
MaxFullTokens = Annotated[
    int,
    typer.Option(
        "--max-full-tokens", min=1, help="Budget of llms-full.txt in estimated tokens (most important files first)."
    ),
]

_INPUT_ERRORS = {"LlmsTxtError", "SourceError", "OutputError"}


@run_app.command("llms-txt")
def llms_txt(
    source: Annotated[str, typer.Argument(help="A local directory or a git URL (cloned shallow, then removed).")],
    out: Out = Path("."),
    base_url: BaseUrl = None,
    exclude: Exclude = None,
    max_file_bytes: MaxFileBytes = 512 * 1024,
    include_vendored: IncludeVendored = False,
    no_secret_scan: NoSecretScan = False,
    max_tokens: MaxTokens = 50_000,
    max_full_tokens: MaxFullTokens = 1_000_000,
    json_lines: Annotated[
        bool, typer.Option("--json", help="Print every event as one JSON line on stdout, and nothing else.")
    ] = False,
    lm: Annotated[
        str | None,
        typer.Option(
            "--lm",
            metavar="MODEL",
            help="Write the summary and descriptions with this LM (any litellm model string, e.g. "
            "openai/gpt-4o-mini; its key from the provider's usual environment variable). Needs runwire[dspy].",
        ),
    ] = None,
    lm_base_url: Annotated[
        str | None,
        typer.Option(
            "--lm-base-url", metavar="URL", help="An OpenAI-compatible endpoint for --lm (e.g. a local server)."
        ),
    ] = None,
    lm_concurrency: Annotated[
        int, typer.Option("--lm-concurrency", min=1, metavar="N", help="LM calls in flight at once (with --lm).")
    ] = 8,
    data_dir: DataDir = None,
    store_url: StoreUrl = None,
    no_store: NoStore = False,
    executor: ExecutorOption = "local",
    ray_address: RayAddress = None,
) -> None:
    """Generate llms.txt and llms-full.txt (llmstxt.org format) for a repository."""
    from ..llms_txt import LLMS_FULL_TXT, LLMS_TXT, LlmsTxtError, llms_txt_pipeline, options_from_inputs
    from ..llms_txt.fetch import is_git_url
    from ..llms_txt.output import check_out_dir

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
    try:
        options_from_inputs(inputs).validate()  # bad options: one line, exit 2, before any run starts
        check_out_dir(out.expanduser().resolve(), (LLMS_TXT, LLMS_FULL_TXT))  # a bad --out too: before the scan
    except LlmsTxtError as exc:
        fail_usage(str(exc))
    if lm_base_url and not lm:
        fail_usage("--lm-base-url needs --lm MODEL")
    if not is_git_url(source):
        path = Path(source)
        if not path.exists():
            fail_usage(f"source not found: {source}")
        if not path.is_dir():
            fail_usage(f"source is not a directory: {source}")
    pipeline: Callable[..., Any] = llms_txt_pipeline
    if lm:
        try:
            from ..dspy import lm_pipeline

            pipeline = lm_pipeline(lm, lm_base_url, concurrency=lm_concurrency)
        except (ImportError, ValueError) as exc:
            fail_usage(str(exc))
    with open_system(data_dir, no_store, executor, ray_address, store=store_url) as system:
        handle = system.start(pipeline, inputs, name="llms-txt")
        terminal = follow(handle, as_json=json_lines)
    if terminal.type == "run.failed" and terminal.error_type in _INPUT_ERRORS:
        if json_lines:
            sys.stderr.write(f"runwire: {terminal.message}\n")
        raise typer.Exit(2)
    raise typer.Exit(exit_code(terminal))


def fail_usage(message: str) -> NoReturn:
    """A bad argument: one line on stderr and exit 2, before any work (shared by ``runwire loop``)."""
    sys.stderr.write(f"runwire: {' '.join(message.split())}\n")
    raise typer.Exit(2)


def register(app: typer.Typer) -> None:
    app.add_typer(run_app)
