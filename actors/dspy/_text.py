"""Text accounting for one streamed output field: what was sent, and what is still missing.

Why: DSPy's stream listeners can miss text (a reply without its end marker leaves tokens in the
listener's buffer; a cache hit streams nothing; a JSON adapter streams raw JSON, quotes and
escapes included). Subscribers must still see each field's whole text exactly once. So every
chunk goes through a :class:`FieldText`, which (a) decodes JSON string fragments when the adapter
streams JSON, (b) holds back trailing whitespace (DSPy strips the final value, so whitespace at the
end of what has arrived may never belong to it), and (c) at the end of the predictor call compares
what was sent with the final value and returns the missing suffix.

Pure Python, no DSPy import: the invariants are property-tested on their own.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from pydantic import TypeAdapter

__all__ = ["FieldText", "JsonStringDecoder", "final_text", "jsonable"]

_ANY: TypeAdapter[Any] = TypeAdapter(Any)


def jsonable(value: Any) -> Any:
    """``value`` as plain JSON data (pydantic models dumped, unknown objects as their ``str``)."""
    try:
        return _ANY.dump_python(value, mode="json", fallback=str)
    except Exception:  # a value pydantic cannot walk at all: its text is still useful
        return str(value)


def final_text(value: Any) -> str:
    """The text a field's deltas must add up to: the string itself, else its compact JSON."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(jsonable(value), ensure_ascii=False)


class JsonStringDecoder:
    """Incrementally decodes the raw JSON a JSON adapter streams for one field into its text.

    The listener hands over the value's source text in pieces (``' "line1'``, ``'\\\\n'``,
    ``'say \\\\"hi\\\\""', "'``): skip to the opening quote, decode escapes (even when split across
    pieces), stop at the closing quote and ignore what follows. A value that is not a JSON string
    (a number, a list) yields nothing: the final value is reconciled in one piece instead.
    """

    __slots__ = ("_escape", "_state")

    def __init__(self) -> None:
        self._state = "before"  # before | inside | after | other
        self._escape = ""

    def feed(self, raw: str) -> str:
        out: list[str] = []
        for index, char in enumerate(raw):
            state = self._state
            if state == "inside":
                if self._escape:
                    self._escape += char
                    done = self._take_escape()
                    if done is not None:
                        text, rest = done
                        out.append(text)
                        if rest:  # a lone high surrogate was followed by plain text: read it again
                            out.append(self.feed(rest + raw[index + 1 :]))
                            break
                elif char == "\\":
                    self._escape = char
                elif char == '"':
                    self._state = "after"
                else:
                    out.append(char)
            elif state == "before" and not char.isspace():
                self._state = "inside" if char == '"' else "other"
        return "".join(out)

    def _take_escape(self) -> tuple[str, str] | None:
        """``(text, rest)`` once the escape sequence is complete (``rest``: chars to read again), else None."""
        esc = self._escape
        if len(esc) < 2 or (esc[1] == "u" and len(esc) < 6):
            return None
        rest = ""
        if esc[1] == "u" and _is_high_surrogate(esc[2:6]):
            tail = esc[6:]
            if len(tail) < 6 and "\\u"[: len(tail)] == tail[:2]:
                return None  # maybe the low half of a surrogate pair: wait for it
            if len(tail) < 6 or not _is_hex(tail[2:]):
                esc, rest = esc[:6], tail
        self._escape = ""
        try:
            decoded: str = json.loads(f'"{esc}"')
        except ValueError:
            return esc, rest  # not a valid escape: pass it through rather than lose it
        return decoded, rest


def _is_hex(text: str) -> bool:
    return len(text) == 4 and all(char in "0123456789abcdefABCDEF" for char in text)


def _is_high_surrogate(text: str) -> bool:
    return _is_hex(text) and 0xD800 <= int(text, 16) <= 0xDBFF


class FieldText:
    """What has been sent for one field in one predictor call, and what is held back."""

    __slots__ = ("_decoder", "_held", "_json", "_parts", "broken", "size")

    def __init__(self, json_mode: bool = False) -> None:
        self._json = json_mode
        self._decoder = JsonStringDecoder() if json_mode else None
        self._held = ""  # trailing whitespace not sent yet
        self._parts: list[str] = []  # the text sent, in pieces: ``+=`` on a str copied it per chunk
        self.size = 0  # characters sent
        self.broken = False  # the listener went off its value: nothing more is sent before the settle

    def feed(self, chunk: str, verify: Callable[[str], bool] | None = None) -> str:
        """The text to emit now for a listener ``chunk`` ('' when nothing is due yet).

        ``verify(text)`` must accept the text before it is sent; once it refuses, the field
        waits for :meth:`settle`, so what was sent stays a prefix of the final value.
        """
        if self.broken:
            return ""
        return self._accept(self._decoder.feed(chunk) if self._decoder is not None else chunk, verify)

    def feed_pieces(self, chunks: list[str], verify: Callable[[str], bool] | None = None) -> str:
        """:meth:`feed` for consecutive chunks at once: the same text as feeding them one by one.

        The batch is checked with one ``verify`` call; only when that refuses are the chunks
        checked one at a time, so the text sent before the listener lost its place is the same.
        """
        if self.broken:
            return ""
        decoder = self._decoder
        texts = [decoder.feed(chunk) for chunk in chunks] if decoder is not None else chunks
        whole = self._accept("".join(texts), verify)
        if not self.broken:
            return whole
        self.broken = False  # a refused text changes nothing: take the chunks one at a time
        out: list[str] = []
        for text in texts:
            body = self._accept(text, verify)
            if self.broken:
                break
            out.append(body)
        return "".join(out)

    def _accept(self, text: str, verify: Callable[[str], bool] | None) -> str:
        if not text:
            return ""
        text = self._held + text
        body = text.rstrip()
        held = text[len(body) :]
        if not self.size and not self._json:
            body = body.lstrip()  # a text value is stripped: leading whitespace is never part of it
        if body and verify is not None and not verify(body):
            self.broken = True
            return ""
        self._held = held
        if body:
            self._parts.append(body)
            self.size += len(body)
        return body

    @property
    def sent(self) -> str:
        """The text sent so far for this field in this call."""
        if len(self._parts) > 1:
            self._parts = ["".join(self._parts)]
        return self._parts[0] if self._parts else ""

    def settle(self, final: str) -> tuple[str, bool]:
        """``(missing_suffix, diverged)`` against the field's final text.

        ``diverged`` is True when what was sent is not a prefix of ``final`` (it cannot be taken
        back): the caller reports it; the suffix is then ''.
        """
        if final.startswith(self.sent):
            suffix = final[self.size :]
            self._parts, self.size = [final], len(final)
            self._held = ""
            return suffix, False
        return "", True
