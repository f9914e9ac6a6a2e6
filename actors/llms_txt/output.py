"""Writing the output files so that a failed or cancelled run leaves nothing behind.

Each file is written to a hidden temporary file in the output directory, hashed while it is
written, and moved into place with ``os.replace`` only when every file is complete; on any
exception the temporary files are removed and existing outputs are left untouched.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from .errors import OutputError

__all__ = ["AtomicTextFile", "WrittenFile", "atomic_outputs", "check_out_dir"]

_BUFFER = 1 << 20


@dataclass(frozen=True, slots=True)
class WrittenFile:
    """A file moved into place: where, how many bytes, and their SHA-256."""

    path: str
    size: int
    sha256: str


def check_out_dir(out: Path, names: Sequence[str]) -> None:
    """Raise :class:`OutputError` unless ``out`` is (or can be created as) a writable directory for ``names``."""
    if out.exists():
        if not out.is_dir():
            raise OutputError(f"output path is not a directory: {out}")
        if not os.access(out, os.W_OK | os.X_OK):
            raise OutputError(f"output directory is not writable: {out}")
        for name in names:
            if (out / name).is_dir():
                raise OutputError(f"cannot write {out / name}: a directory is in the way")
        return
    parent = out.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise OutputError(f"cannot create output directory {out}: {parent} is not a directory")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise OutputError(f"cannot create output directory {out}: {parent} is not writable")


class AtomicTextFile:
    """UTF-8 text written to ``.NAME.*.tmp`` beside ``target``; :meth:`commit` moves it into place."""

    def __init__(self, target: Path) -> None:
        self.target = target
        try:
            fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
        except OSError as exc:
            raise OutputError(f"cannot write to {target.parent}: {exc.strerror or exc}") from exc
        self.tmp_path = Path(tmp)
        self._file = os.fdopen(fd, "wb", buffering=_BUFFER)
        self._hash = hashlib.sha256()
        self.size = 0

    def write(self, text: str) -> None:
        """Append ``text``."""
        data = text.encode("utf-8")
        self._hash.update(data)
        self._file.write(data)
        self.size += len(data)

    def finish(self) -> None:
        """Flush to disk; the file is complete but not yet in place."""
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        os.chmod(self.tmp_path, 0o644)

    def commit(self) -> WrittenFile:
        """Move the finished file into place (atomic on one filesystem)."""
        os.replace(self.tmp_path, self.target)
        return WrittenFile(str(self.target), self.size, self._hash.hexdigest())

    def discard(self) -> None:
        """Close and remove the temporary file, if it is still there."""
        self._file.close()
        self.tmp_path.unlink(missing_ok=True)


@contextmanager
def atomic_outputs(out: Path, names: Sequence[str]) -> Iterator[dict[str, AtomicTextFile]]:
    """Temp files for ``names`` in ``out`` (created if needed); all are removed if the block raises.

    The caller finishes and commits them at the end of the block; after a commit the discard is a no-op.
    """
    missing = [path for path in (out, *out.parents) if not path.exists()]
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot create output directory {out}: {exc.strerror or exc}") from exc
    files: dict[str, AtomicTextFile] = {}
    try:
        for name in names:
            files[name] = AtomicTextFile(out / name)
        yield files
    except BaseException:
        for handle in files.values():
            handle.discard()
        _remove_empty_dirs(missing)
        raise


def _remove_empty_dirs(created: Sequence[Path]) -> None:
    """Undo our ``mkdir -p`` (deepest first; a directory something else wrote into stays)."""
    for path in created:
        try:
            path.rmdir()
        except OSError:
            return
