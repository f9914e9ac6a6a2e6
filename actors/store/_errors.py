"""The store's errors: one base class whose message always names the database file."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from runwire.actors import RunwireError

__all__ = ["StoreClosedError", "StoreError", "StoreWriteError"]


class StoreError(RunwireError):
    """Anything the store cannot do, said in words, with the file it concerns.

    Raw ``sqlite3`` errors never leave the store: they are wrapped (kept as ``__cause__``) so a
    caller catches one type and an operator reads which file is at fault.
    """

    def __init__(self, message: str, path: Path | str | None = None) -> None:
        self.message = message  # without the file name, for composing messages
        self.path = Path(path) if path is not None else None
        super().__init__(f"{message} [{path}]" if path is not None else message)


class StoreClosedError(StoreError):
    """The store was closed: it takes no more writes or reads."""


class StoreWriteError(StoreError):
    """Writes of ``run_ids`` were not committed (disk full, read-only file, bad event...).

    Passed to write-error listeners, and raised by ``flush()`` so a failed write is never
    mistaken for an acknowledged one.
    """

    def __init__(self, message: str, path: Path | str | None, run_ids: Sequence[str]) -> None:
        self.run_ids: tuple[str, ...] = tuple(dict.fromkeys(run_ids))
        super().__init__(message, path)
