"""The options ``--data-dir`` / ``--store`` / ``--no-store`` that every command touching runs
shares, and what they open: a ``RunSystem`` for the commands that start runs, the store (read,
recovered) for those that read it. ``--store`` takes a file path or a URL
(``postgresql://user@host/db``): the back-end is the one the URL's scheme names (the
``runwire.stores`` entry points), opened before any work starts; a store that cannot be opened
(refused connection, bad password) is one line, exit 1.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

from runwire.actors import RunSystem
from runwire.actors.ext import open_store, store_scheme

from ..store import RunRecord, SqliteRunStore, StoreError, resolve_db_path
from ._executors import executor_errors, executor_spec

__all__ = ["DataDir", "NoStore", "StoreUrl", "die", "get_run", "open_system", "read_store", "store_target", "where"]

DataDir = Annotated[
    Path | None,
    typer.Option(
        "--data-dir",
        envvar="RUNWIRE_DATA_DIR",
        help="Where the run store lives (runs.sqlite3). Default: the platform's user data dir.",
    ),
]
StoreUrl = Annotated[
    str | None,
    typer.Option(
        "--store",
        envvar="RUNWIRE_STORE",
        help="The run store: a file path, or a URL such as postgresql://user@host:5432/db (shared by "
        "processes and machines). Default: runs.sqlite3 in --data-dir.",
    ),
]
NoStore = Annotated[bool, typer.Option("--no-store", help="Do not persist this run in the run store.")]


def die(message: str, code: int = 1) -> NoReturn:
    sys.stderr.write(f"runwire: {message}\n")
    raise typer.Exit(code)


def _is_url(store: str | None) -> bool:
    return store is not None and store_scheme(store) != "sqlite"


def store_target(data_dir: Path | None, store: str | None = None) -> str | Path:
    """What ``RunSystem(store=...)`` gets: the ``--store`` URL, else the SQLite file's path."""
    if store is not None and _is_url(store):
        return store
    path = None if store is None else (store.removeprefix("sqlite://") or None)
    return resolve_db_path(path, data_dir)


def where(data_dir: Path | None, store: str | None) -> str:
    """The store as messages name it (a URL without its password)."""
    target = store_target(data_dir, store)
    if isinstance(target, Path):
        return str(target)
    from urllib.parse import urlsplit

    parts = urlsplit(target)
    netloc = parts.netloc if parts.password is None else parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return f"{parts.scheme}://{netloc}{parts.path}"


@contextlib.contextmanager
def open_system(
    data_dir: Path | None,
    no_store: bool,
    executor: str = "local",
    ray_address: str | None = None,
    store: str | None = None,
) -> Iterator[RunSystem]:
    """A RunSystem for a command that starts runs: persisting to the store (``--store``, else the
    data dir's file) unless ``no_store``, executing where ``--executor`` says."""
    try:
        spec = executor_spec(executor, ray_address)
    except ValueError as exc:
        die(str(exc), 2)
    try:
        system = RunSystem(store=None if no_store else store_target(data_dir, store), executor=spec)
    except (StoreError, ImportError) as exc:
        die(f"{exc} (use --no-store to run without the run store)")
    except executor_errors(executor) as exc:  # Ray missing, or its cluster unreachable
        die(str(exc), 2)
    with system:
        yield system


@contextlib.contextmanager
def _url_store(url: str) -> Iterator[Any]:
    """The store at a URL, opened through its back-end's entry point (recovering dead owners' runs)."""
    try:
        bound = open_store(url, lambda run_id, message: None)  # starts no runs: nothing to fail
    except (StoreError, ValueError, ImportError, TypeError) as exc:
        die(str(exc))
    try:
        yield bound.store
    except StoreError as exc:
        die(str(exc))
    finally:
        with contextlib.suppress(StoreError):
            bound.close()


@contextlib.contextmanager
def read_store(data_dir: Path | None, url: str | None = None) -> Iterator[SqliteRunStore | None]:
    """The store to read (recovered), or None if there is no store file yet: reading creates nothing."""
    if url is not None and _is_url(url):
        with _url_store(url) as opened:
            yield opened
        return
    path = Path(store_target(data_dir, url))
    if not path.exists():
        yield None
        return
    try:
        store = SqliteRunStore(path)
    except StoreError as exc:
        try:  # a file this user may read but not write is still worth reading
            store = SqliteRunStore(path, read_only=True)
        except StoreError:
            die(str(exc))
    try:
        with contextlib.suppress(StoreError):  # read-only: nothing to recover from here
            store.recover()
        yield store
    except StoreError as exc:
        die(str(exc))
    finally:
        with contextlib.suppress(StoreError):
            store.close()


def get_run(
    store: SqliteRunStore | None, run_id: str, data_dir: Path | None, url: str | None = None
) -> tuple[SqliteRunStore, RunRecord]:
    rec = None if store is None else store.get_run(run_id)
    if store is None or rec is None:
        die(f"unknown run: {run_id} (not in {where(data_dir, url)})", 2)
    return store, rec
