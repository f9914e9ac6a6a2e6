"""``python -m runwire.actors.mcp [--root DIR ...]``: the MCP server on stdio, without the CLI extra."""

from __future__ import annotations

import argparse

from ._run import run_stdio


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m runwire.actors.mcp", description=__doc__)
    parser.add_argument("--root", action="append", default=[], help="a folder clients may name (default: cwd)")
    args = parser.parse_args()
    run_stdio(args.root)


if __name__ == "__main__":
    main()
