"""The texts read for the index, kept on disk for llms-full.txt: one read per file, flat memory.

Each text goes to an anonymous temporary file (unlinked at creation, so nothing is left behind
on any exit) and is read back by path when llms-full.txt is written. The file on disk is never
opened a second time, so nothing can be swapped in between the two uses.
"""

from __future__ import annotations

import tempfile
from types import TracebackType

__all__ = ["TextSpool"]


class TextSpool:
    """Texts by relative path, appended as UTF-8 to one unlinked temporary file."""

    __slots__ = ("_file", "_index")

    def __init__(self, directory: str | None = None) -> None:
        self._file = tempfile.TemporaryFile(dir=directory)  # noqa: SIM115 (closed by close())
        self._index: dict[str, tuple[int, int]] = {}

    def put(self, rel: str, text: str) -> None:
        """Keep ``text`` for ``rel`` (a second put for the same path replaces the first)."""
        data = text.encode("utf-8")
        offset = self._file.seek(0, 2)
        self._file.write(data)
        self._index[rel] = (offset, len(data))

    def get(self, rel: str) -> str:
        """The text kept for ``rel``; KeyError when none was."""
        offset, size = self._index[rel]
        self._file.seek(offset)
        return self._file.read(size).decode("utf-8")

    def __contains__(self, rel: object) -> bool:
        return rel in self._index

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> TextSpool:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
