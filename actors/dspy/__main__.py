"""``python -m runwire.actors.dspy llms-txt SOURCE --lm MODEL``: the LM mode of the main job.

Why it exists next to ``runwire run llms-txt --lm``: it needs nothing from the CLI package but
its live view, so the LM mode can be run (and tested) on its own. Exit codes are the CLI's:
0 completed, 1 failed, 2 bad input, 130 cancelled.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from pydantic import JsonValue

_INPUT_ERRORS = {"LlmsTxtError", "SourceError", "OutputError"}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m runwire.actors.dspy", description="runwire's DSPy integration.")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("llms-txt", help="Generate llms.txt and llms-full.txt with an LM writing the words.")
    run.add_argument("source", help="A local directory or a git URL.")
    run.add_argument("--lm", required=True, metavar="MODEL", help="A litellm model string, e.g. openai/gpt-4o-mini.")
    run.add_argument("--lm-base-url", metavar="URL", help="An OpenAI-compatible endpoint (default: the provider's).")
    run.add_argument("--no-cache", action="store_true", help="Do not use DSPy's cache.")
    run.add_argument("--lm-concurrency", type=int, default=8, metavar="N", help="LM calls in flight at once.")
    run.add_argument("--out", "-o", default=".", help="Where to write llms.txt and llms-full.txt.")
    run.add_argument("--base-url", help="Make links absolute under this URL.")
    run.add_argument("--exclude", "-x", action="append", default=[], help="A gitignore-style glob to skip.")
    run.add_argument("--max-file-bytes", type=int, default=512 * 1024, help="Skip files larger than this.")
    run.add_argument("--json", action="store_true", help="Print every event as one JSON line.")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    from runwire.actors import RunSystem
    from runwire.actors.cli import exit_code, follow
    from runwire.actors.llms_txt import LlmsTxtError, options_from_inputs

    inputs: dict[str, JsonValue] = {
        "source": args.source,
        "out": str(Path(args.out)),
        "base_url": args.base_url,
        "exclude": list(args.exclude),
        "max_file_bytes": args.max_file_bytes,
    }
    try:
        options_from_inputs(inputs)
        from . import lm_pipeline

        pipeline = lm_pipeline(args.lm, args.lm_base_url, cache=not args.no_cache, concurrency=args.lm_concurrency)
    except (LlmsTxtError, ValueError, ImportError) as exc:
        sys.stderr.write(f"runwire: {exc}\n")
        return 2
    with RunSystem() as system:
        terminal = follow(system.start(pipeline, inputs, name="llms-txt"), as_json=args.json)
    if terminal.type == "run.failed" and terminal.error_type in _INPUT_ERRORS:
        return 2
    return exit_code(terminal)


if __name__ == "__main__":
    sys.exit(main())
