"""Bad input: a dedicated ValueError with a one-line message naming the problem, and nothing written."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from runwire.actors.llms_txt import LLMS_TXT, LlmsTxtError, Options, OutputError, SourceError, generate
from runwire.actors.llms_txt.pipeline import options_from_inputs

from .conftest import listing, write_tree


def _fails(error: type[LlmsTxtError], pattern: str, tmp_path: Path, **options: Any) -> None:
    before = listing(tmp_path)
    with pytest.raises(error, match=pattern) as caught:
        generate(Options(**options))
    message = str(caught.value)
    assert isinstance(caught.value, ValueError)
    assert message
    assert "\n" not in message
    assert listing(tmp_path) == before  # nothing written, no directory created


def test_missing_path(tmp_path: Path) -> None:
    missing = tmp_path / "nope"
    _fails(SourceError, f"^source not found: {missing}$", tmp_path, source=str(missing), out=str(tmp_path / "o"))


def test_source_is_a_file(tmp_path: Path) -> None:
    file = write_tree(tmp_path, {"f.txt": "x"}) / "f.txt"
    _fails(SourceError, f"^source is not a directory: {file}$", tmp_path, source=str(file), out=str(tmp_path / "o"))


def test_empty_directory(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    _fails(
        SourceError,
        r"^no text files to describe in .*src \(no files found\)$",
        tmp_path,
        source=str(tmp_path / "src"),
        out=str(tmp_path / "o"),
    )


def test_only_binary_and_empty_files(tmp_path: Path) -> None:
    src = write_tree(tmp_path / "src", {"a.png": b"\x89PNG", "b.dat": b"\x00\x01", "c.md": ""})
    _fails(
        SourceError,
        r"^no text files to describe in .*src \(skipped: binary 2, empty 1\)$",
        tmp_path,
        source=str(src),
        out=str(tmp_path / "o"),
    )


def test_out_is_a_file(tmp_path: Path) -> None:
    src = write_tree(tmp_path / "src", {"a.md": "# A\n"})
    out = write_tree(tmp_path, {"out": "a file"}) / "out"
    _fails(OutputError, f"^output path is not a directory: {out}$", tmp_path, source=str(src), out=str(out))


def test_out_below_a_file(tmp_path: Path) -> None:
    src = write_tree(tmp_path / "src", {"a.md": "# A\n"})
    blocker = write_tree(tmp_path, {"blocker": "a file"}) / "blocker"
    _fails(OutputError, "is not a directory$", tmp_path, source=str(src), out=str(blocker / "sub" / "dir"))


def test_a_directory_where_the_output_goes(tmp_path: Path) -> None:
    src = write_tree(tmp_path / "src", {"a.md": "# A\n"})
    (tmp_path / "out" / LLMS_TXT).mkdir(parents=True)
    _fails(OutputError, "a directory is in the way$", tmp_path, source=str(src), out=str(tmp_path / "out"))


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root can write anywhere")
def test_unwritable_out_dir(tmp_path: Path) -> None:
    src = write_tree(tmp_path / "src", {"a.md": "# A\n"})
    out = tmp_path / "ro"
    out.mkdir(mode=0o500)
    try:
        _fails(OutputError, f"^output directory is not writable: {out}$", tmp_path, source=str(src), out=str(out))
    finally:
        out.chmod(0o700)


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux /proc")
def test_out_dir_that_cannot_be_created_even_by_root(tmp_path: Path) -> None:
    src = write_tree(tmp_path / "src", {"a.md": "# A\n"})
    _fails(
        OutputError,
        r"^cannot create output directory /proc/runwire-llms-txt: ",
        tmp_path,
        source=str(src),
        out="/proc/runwire-llms-txt",
    )


@pytest.mark.parametrize(
    ("options", "pattern"),
    [
        ({"base_url": "example.org/docs"}, "^base_url must be an absolute URL"),
        ({"max_file_bytes": 0}, "^max_file_bytes must be a positive number of bytes: 0$"),
        ({"source": ""}, "^no source given"),
    ],
)
def test_bad_options(tmp_path: Path, options: dict[str, Any], pattern: str) -> None:
    src = write_tree(tmp_path / "src", {"a.md": "# A\n"})
    _fails(LlmsTxtError, pattern, tmp_path, **{"source": str(src), "out": str(tmp_path / "o"), **options})


@pytest.mark.parametrize(
    ("inputs", "pattern"),
    [
        ({}, "^input 'source' is required"),
        ({"source": 3}, "^input 'source' must be a string, got int$"),
        ({"source": "."}, None),
        ({"source": ".", "outdir": "x"}, "^unknown input\\(s\\) outdir; expected some of source, out, "),
        ({"source": ".", "exclude": [1]}, "^input 'exclude' must be a list of glob strings$"),
        ({"source": ".", "max_file_bytes": "big"}, "^input 'max_file_bytes' must be an integer, got str$"),
        ({"source": ".", "max_file_bytes": True}, "^input 'max_file_bytes' must be an integer, got bool$"),
        ({"source": ".", "default_excludes": "no"}, "^input 'default_excludes' must be true or false$"),
    ],
)
def test_pipeline_inputs(inputs: dict[str, Any], pattern: str | None) -> None:
    if pattern is None:
        assert options_from_inputs(inputs) == Options(source=".")
        return
    with pytest.raises(LlmsTxtError, match=pattern):
        options_from_inputs(inputs)


def test_pipeline_inputs_full() -> None:
    options = options_from_inputs(
        {"source": "s", "out": "o", "base_url": "https://h/", "exclude": "*.md", "max_file_bytes": 10}
    )
    assert options == Options(source="s", out="o", base_url="https://h/", exclude=("*.md",), max_file_bytes=10)
