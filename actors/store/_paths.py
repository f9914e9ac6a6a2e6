"""Where the embedded store lives: explicit argument, then ``RUNWIRE_DATA_DIR``, then the user data dir."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["DB_FILENAME", "ENV_DATA_DIR", "resolve_data_dir", "resolve_db_path"]

ENV_DATA_DIR = "RUNWIRE_DATA_DIR"
DB_FILENAME = "runs.sqlite3"


def resolve_data_dir(data_dir: str | os.PathLike[str] | None = None) -> Path:
    """The data directory: ``data_dir`` if given, else ``$RUNWIRE_DATA_DIR``, else the platform's user data dir."""
    if data_dir is not None:
        return Path(data_dir).expanduser()
    env = os.environ.get(ENV_DATA_DIR)
    if env:
        return Path(env).expanduser()
    try:
        import platformdirs  # only for the default location: explicit paths need nothing
    except ImportError as exc:
        raise ImportError(
            "the default data dir needs platformdirs: pip install 'runwire[store]', "
            "or pass a path, or set RUNWIRE_DATA_DIR"
        ) from exc
    return Path(platformdirs.user_data_dir("runwire"))


def resolve_db_path(path: str | os.PathLike[str] | None = None, data_dir: str | os.PathLike[str] | None = None) -> Path:
    """The database file: ``path`` if given, else ``runs.sqlite3`` in the data directory."""
    if path is not None:
        return Path(path).expanduser()
    return resolve_data_dir(data_dir) / DB_FILENAME
