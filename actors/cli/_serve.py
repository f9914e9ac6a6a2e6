"""``runwire serve``: the MCP server on stdio (default) or streamable HTTP (``--http``).

The MCP SDK is imported only when the command runs, so ``runwire --help`` works without it.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from ..store import StoreError
from ._executors import ExecutorOption, RayAddress, executor_errors, executor_spec
from ._stores import DataDir, NoStore, StoreUrl, store_target

__all__ = ["register"]

_SDK_MODULES = ("mcp", "mcp_types", "uvicorn", "starlette", "httpx2", "sse_starlette")


def register(app: typer.Typer) -> None:
    @app.command()
    def serve(
        http: Annotated[
            bool,
            typer.Option(
                "--http", help="Serve HTTP instead of stdio: MCP at /mcp, the REST API at /api, the dashboard at /."
            ),
        ] = False,
        host: Annotated[str, typer.Option(help="HTTP bind address (loopback unless you say otherwise).")] = "127.0.0.1",
        port: Annotated[int, typer.Option(min=1, max=65535, help="HTTP port.")] = 8765,
        token: Annotated[
            str | None,
            typer.Option(envvar="RUNWIRE_TOKEN", help="HTTP: require 'Authorization: Bearer TOKEN' on every request."),
        ] = None,
        root: Annotated[
            list[Path] | None,
            typer.Option(help="A folder clients may name (repeatable; default: the current directory)."),
        ] = None,
        allowed_host: Annotated[
            list[str] | None, typer.Option(help="HTTP: another accepted Host header, e.g. 'myhost:*' (repeatable).")
        ] = None,
        allowed_origin: Annotated[
            list[str] | None, typer.Option(help="HTTP: another accepted Origin, e.g. 'https://app.example'.")
        ] = None,
        data_dir: DataDir = None,
        store_url: StoreUrl = None,
        no_store: NoStore = False,
        executor: ExecutorOption = "local",
        ray_address: RayAddress = None,
    ) -> None:
        """Serve runs over MCP (stdio, or HTTP with --http: MCP, REST + SSE API, dashboard, AG-UI)."""
        try:
            from runwire.actors.mcp import PathError, run_stdio

            from ._serve_http import serve_http
        except ModuleNotFoundError as exc:
            if (exc.name or "").split(".")[0] not in _SDK_MODULES:
                raise
            sys.stderr.write(
                f"runwire serve: needs the 'mcp' extra ({exc.name} is missing): pip install 'runwire[mcp]'\n"
            )
            raise typer.Exit(2) from None
        try:
            spec = executor_spec(executor, ray_address)
        except ValueError as exc:
            sys.stderr.write(f"runwire serve: {exc}\n")
            raise typer.Exit(2) from None
        roots = [os.fspath(r) for r in root or []]
        store = None if no_store else store_target(data_dir, store_url)  # runs outlive the server process
        try:
            if http:
                serve_http(
                    store=store,
                    host=host,
                    port=port,
                    token=token or None,
                    roots=roots,
                    allowed_hosts=allowed_host or [],
                    allowed_origins=allowed_origin or [],
                    executor=spec,
                )
            else:
                run_stdio(roots, store=store, executor=spec)
        except (PathError, *executor_errors(executor)) as exc:
            sys.stderr.write(f"runwire serve: {exc}\n")
            raise typer.Exit(2) from None
        except StoreError as exc:  # e.g. --store URL: a refused connection or a bad password
            sys.stderr.write(f"runwire serve: {exc} (use --no-store to serve without the run store)\n")
            raise typer.Exit(1) from None
