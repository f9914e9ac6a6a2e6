"""What the live view shows of streamed text: one line per stream being written, not their deltas run together.

Why: the LM mode of llms.txt writes several descriptions at once, all with field ``description``;
their deltas interleave. A stream is keyed by ``(field, artifact_id)`` (the artifact names the
file), shown while it grows, and handed back whole when its file is done (milestone
``file_described``) or at the end of the run.
"""

from __future__ import annotations

from rich.table import Table
from rich.text import Text

from runwire.protocol import TextDelta

__all__ = ["StreamingTexts", "stream_label"]

Key = tuple[str, str | None]


def stream_label(field: str, artifact_id: str | None) -> str:
    """``src/app.py`` for ``llms.txt#Source/src/app.py``; the field name for the other streams."""
    if artifact_id and "#" in artifact_id:
        _, _, link = artifact_id.partition("#")
        _, _, path = link.partition("/")
        return path or link
    return field


class StreamingTexts:
    """The texts being streamed, per ``(field, artifact_id)``; a rich renderable of the ones still open."""

    def __init__(self, shown: int = 8, width: int = 60) -> None:
        self._texts: dict[Key, str] = {}
        self._shown = shown
        self._width = width

    def __len__(self) -> int:
        return len(self._texts)

    def add(self, delta: TextDelta) -> None:
        key = (delta.field, delta.artifact_id)
        self._texts[key] = self._texts.get(key, "") + delta.text

    def close(self, artifact_id: str) -> list[tuple[str, str]]:
        """The finished texts of one artifact, as ``(label, text)``; they leave the live view."""
        keys = [key for key in self._texts if key[1] == artifact_id]
        return [(stream_label(*key), self._texts.pop(key)) for key in keys]

    def close_all(self) -> list[tuple[str, str]]:
        done = [(stream_label(*key), text) for key, text in self._texts.items()]
        self._texts.clear()
        return done

    def __rich__(self) -> Table:
        table = Table.grid(padding=(0, 1))
        table.add_column(style="bold", no_wrap=True)
        table.add_column(no_wrap=True, overflow="ellipsis")
        items = list(self._texts.items())
        for (field, artifact_id), text in items[-self._shown :]:
            tail = " ".join(text.split())[-self._width :]
            table.add_row(stream_label(field, artifact_id), Text(f"…{tail}", style="dim"))
        if len(items) > self._shown:
            table.add_row("", Text(f"and {len(items) - self._shown} more", style="dim"))
        return table
