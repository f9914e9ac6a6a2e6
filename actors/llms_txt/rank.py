"""How important a file is to a reader of the index, from its path and kind alone.

The root README comes first, then the docs, the manifests and entry points, the public modules,
private modules and examples, configuration and project meta; tests come late and fixtures,
generated and vendored code last. Within a tier shallower paths win, then the path itself, so the
order is total and the same on every run.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from .analyze import FileInfo
from .project import MANIFESTS
from .textio import words

__all__ = ["TIERS", "importance", "ranked"]

TIERS: tuple[str, ...] = (
    "readme",
    "docs",
    "entry",
    "public",
    "private",
    "examples",
    "config",
    "other",
    "tests",
    "bulk",
)
_ENTRY_STEMS = words("__init__ __main__ main index lib mod cli app api")
_BULK_DIRS = words(
    "vendor vendored _vendor third_party thirdparty external generated gen fixtures __fixtures__ testdata "
    "test_data snapshots __snapshots__ dist build"
)
_BULK_NAME = re.compile(r"\.min\.[cm]?js$|_pb2(?:_grpc)?\.pyi?$|\.pb\.go$|\.generated\.|\.snap$|\.map$", re.IGNORECASE)


def _tier(info: FileInfo, readme: str | None) -> str:
    *dirs, name = info.rel.split("/")
    if info.rel == readme:
        return "readme"
    if any(part.lower() in _BULK_DIRS for part in dirs) or _BULK_NAME.search(name):
        return "bulk"
    stem = name.split(".", 1)[0]
    if info.kind == "source":
        if stem in _ENTRY_STEMS and len(dirs) <= 2:
            return "entry"
        private = any(part.startswith("_") and part not in ("__init__", "__main__") for part in [*dirs, stem])
        return "private" if private else "public"
    if info.kind == "config" and not dirs and name in MANIFESTS:
        return "entry"
    if info.kind in ("config", "meta"):
        return "config"
    return info.kind  # docs, examples, tests, other


def importance(info: FileInfo, readme: str | None = None) -> tuple[int, int, str]:
    """Sort key: lower is more important (tier, then depth, then path)."""
    return TIERS.index(_tier(info, readme)), info.rel.count("/"), info.rel


def ranked(files: Iterable[FileInfo], readme: str | None = None) -> list[FileInfo]:
    """The files, most important first."""
    return sorted(files, key=lambda info: importance(info, readme))
