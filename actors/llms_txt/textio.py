"""Reading a file as text, deciding it is not text, and estimating its tokens.

Binary files are recognised by name first (no read at all), then by a NUL byte in the first
8 KiB (git's own heuristic); text must be UTF-8. Newlines are normalised to ``\\n`` so a checkout
with CRLF line endings gives the same output as one with LF.
"""

from __future__ import annotations

from typing import Literal, TypeAlias

__all__ = [
    "BINARY_EXTENSIONS",
    "CHARS_PER_TOKEN",
    "SkipFile",
    "SkipReason",
    "decode_text",
    "estimate_tokens",
    "extension",
    "is_binary_name",
    "read_text",
    "words",
]

SkipReason: TypeAlias = Literal[
    "binary", "oversized", "undecodable", "empty", "unreadable", "symlink", "special", "secret", "output"
]

CHARS_PER_TOKEN = 4


def words(text: str) -> frozenset[str]:
    """The whitespace-separated words of ``text``: compact literal tables of names."""
    return frozenset(text.split())


BINARY_EXTENSIONS: frozenset[str] = frozenset(
    {
        # images, audio, video, fonts
        *words("png jpg jpeg gif bmp tif tiff ico icns webp avif heic psd xcf raw cr2 nef"),
        *words("mp3 wav flac ogg oga opus m4a aac wma mid midi aiff au snd"),
        *words("mp4 m4v mkv mov avi wmv webm flv mpg mpeg 3gp"),
        *words("ttf otf woff woff2 eot pfb"),
        # archives and packages
        *words("zip gz tgz bz2 tbz xz txz lz lzma zst 7z rar tar jar war ear whl egg apk ipa deb rpm dmg iso msi cab"),
        # compiled objects and executables
        *words("so dylib dll exe o obj a lib pyc pyo pyd class dex wasm elc beam bin ko"),
        # documents and data stores
        *words("pdf doc docx xls xlsx ppt pptx odt ods odp epub mobi"),
        *words("db sqlite sqlite3 mdb accdb parquet feather arrow avro orc npy npz pkl pickle h5 hdf5 nc"),
        *words("pt pth ckpt safetensors onnx tflite pb joblib"),
        *words("pack idx keystore jks p12 pfx der"),
    }
)

_SNIFF_BYTES = 8192


class SkipFile(Exception):
    """This file is not described; ``reason`` says why (it is counted, never reported per file)."""

    def __init__(self, reason: SkipReason) -> None:
        super().__init__(reason)
        self.reason: SkipReason = reason


def extension(name: str) -> str:
    """The lower-case extension without the dot ('' for none; dotfiles have none)."""
    dot = name.rfind(".")
    return name[dot + 1 :].lower() if dot > 0 else ""


def is_binary_name(name: str) -> bool:
    """True when the file name alone says binary, so the file need not be opened."""
    return extension(name) in BINARY_EXTENSIONS


def read_text(path: str, max_bytes: int) -> str:
    """The file's text with ``\\n`` newlines and no BOM; raises :class:`SkipFile` when it is not usable text."""
    try:
        with open(path, "rb") as handle:
            data = handle.read(max_bytes + 1)
    except OSError as exc:
        raise SkipFile("unreadable") from exc
    return decode_text(data, max_bytes)


def decode_text(data: bytes, max_bytes: int) -> str:
    """``data`` as text with ``\\n`` newlines and no BOM; raises :class:`SkipFile` when it is not usable text."""
    if len(data) > max_bytes:
        raise SkipFile("oversized")
    if b"\0" in data[:_SNIFF_BYTES]:
        raise SkipFile("binary")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SkipFile("undecodable") from exc
    if text.startswith("\ufeff"):
        text = text[1:]
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        raise SkipFile("empty")
    return text


def estimate_tokens(text: str) -> int:
    """One token per 4 characters, rounded up: the offline rule of thumb (docs/llms-txt.md measures it)."""
    return -(-len(text) // CHARS_PER_TOKEN)
