"""The ``runwire`` command line. Typer and rich are imported only when the CLI runs."""

from __future__ import annotations

import sys

from ._demo import demo_pipeline
from ._live import exit_code, follow

__all__ = ["demo_pipeline", "exit_code", "follow", "main"]


def main() -> None:
    """Console-script entry point: a clear one-line error when the CLI extra is missing."""
    try:
        from ._app import app
    except ImportError as exc:  # typer / rich not installed
        sys.stderr.write(
            f"runwire: the command line needs the 'cli' extra ({exc.name} is missing): pip install 'runwire[cli]'\n"
        )
        raise SystemExit(2) from None
    app()
