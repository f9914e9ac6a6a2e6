"""Top-level classes, functions and ``__all__`` of a Python module, from one lexical pass.

A module outline needs only the column-0 ``def``/``class`` lines, the docstring right under each
and a literal ``__all__``: none of that needs a syntax tree. One ``re`` pass skips strings and
comments (so a ``class`` inside a docstring is not read) and stops at the lines that matter; it
gives the facts the tree-sitter Python grammar gave, byte for byte on the standard library
(tests/llms_txt/test_pyscan.py compares both), at a tenth of the cost (the parse was half of an
extractive run on the stdlib). A file that does not lex as Python gives what the pass found.
"""

from __future__ import annotations

import re

from .outline import Definition, first_sentence

__all__ = ["leading_string_end", "python_definitions"]

# Every branch starts with a literal, so ``re`` jumps between candidate characters; only the
# ``\n`` branches with a name or ``__all__`` are used, the rest (strings, comments) are skipped.
_LEX = re.compile(
    r"""\#[^\n]*"""
    r'''|"""[^"\\]*(?:(?:\\.|"(?!""))[^"\\]*)*"""'''
    r"""|'''[^'\\]*(?:(?:\\.|'(?!''))[^'\\]*)*'''"""
    r'''|"[^"\\\n]*(?:\\.[^"\\\n]*)*"'''
    r"""|'[^'\\\n]*(?:\\.[^'\\\n]*)*'"""
    r"""|\n(?:async[ \t]+)?(?:def|class)[ \t]+(?P<name>\w+)"""
    r"""|\n(?P<all>__all__)[ \t]*(?::[^=\n]*)?=(?!=)[ \t]*(?P<open>[\[(]?)""",
    re.DOTALL,
)
# One token of an expression: a string (its prefix letters kept apart), a comment, or one character.
_STRING = re.compile(
    r"""(?P<prefix>[rRbBuUfF]{0,2})(?P<body>"""
    r'''"""[^"\\]*(?:(?:\\.|"(?!""))[^"\\]*)*"""'''
    r"""|'''[^'\\]*(?:(?:\\.|'(?!''))[^'\\]*)*'''"""
    r'''|"[^"\\\n]*(?:\\.[^"\\\n]*)*"'''
    r"""|'[^'\\\n]*(?:\\.[^'\\\n]*)*')""",
    re.DOTALL,
)
_SKIP = re.compile(r"(?:[ \t\f]+|\\\n|\#[^\n]*)*")
_SKIP_LINES = re.compile(r"(?:[ \t\f\n]+|\\\n|\#[^\n]*)*")
_FOR = re.compile(r"for\b")
_OPENERS = {"(": ")", "[": "]", "{": "}"}


def _string_at(text: str, pos: int) -> tuple[str, int] | None:
    """(raw content, end) of the string literal starting at ``pos``, or None."""
    match = _STRING.match(text, pos)
    if match is None:
        return None
    body = match.group("body")
    quote = 3 if body[:3] in ('"""', "'''") and len(body) >= 6 else 1
    return body[quote:-quote], match.end()


def _statement_ends(text: str, pos: int) -> bool:
    """True when nothing but spaces and a comment follow on the logical line (or ``;``)."""
    pos = _SKIP.match(text, pos).end()  # type: ignore[union-attr]
    return pos >= len(text) or text[pos] in "\n;"


def _header_end(text: str, pos: int) -> int:
    """The index just past the ``:`` that ends a ``def``/``class`` header starting at ``pos`` (-1: none)."""
    depth = 0
    end = len(text)
    while pos < end:
        char = text[pos]
        if char in "\"'" or (char in "rRbBuUfF" and _STRING.match(text, pos) is not None):
            literal = _string_at(text, pos)
            if literal is None:
                return -1
            pos = literal[1]
            continue
        if char == "#":
            newline = text.find("\n", pos)
            pos = end if newline < 0 else newline
            continue
        if char in _OPENERS:
            depth += 1
        elif char in ")]}":
            depth -= 1
        elif char == ":" and depth <= 0:
            return pos + 1
        elif char == "\n" and depth <= 0 and text[pos - 1] != "\\":
            return -1
        pos += 1
    return -1


def _docstring(text: str, pos: int) -> str:
    """The first sentence of the docstring of the definition whose header starts at ``pos``."""
    body = _header_end(text, pos)
    if body < 0:
        return ""
    first = _SKIP_LINES.match(text, body).end()  # type: ignore[union-attr]
    if first >= len(text):
        return ""
    literal = _string_at(text, first)
    if literal is None or not _statement_ends(text, literal[1]):
        return ""
    prefix = _STRING.match(text, first).group("prefix")  # type: ignore[union-attr]
    content = literal[0]
    if "f" in prefix.lower() and "{" in content:
        content = re.sub(r"\{[^{}]*\}", "", content.replace("{{", "\0").replace("}}", "\1"))
        content = content.replace("\0", "{").replace("\1", "}")
    return first_sentence(content)


def _all_items(text: str, pos: int, closer: str) -> tuple[list[str], int] | None:
    """The plain string items of the ``[...]``/``(...)`` literal whose body starts at ``pos``, and its end."""
    items: list[str] = []
    current: list[str | None] = []  # the tokens of the current item: a string's content, or None for anything else
    commas = 0
    tokens = 0
    depth = 0
    end = len(text)
    while pos < end:
        pos = _SKIP_LINES.match(text, pos).end()  # type: ignore[union-attr]
        if pos >= end:
            return None
        char = text[pos]
        if depth == 0 and _FOR.match(text, pos) and not (text[pos - 1].isalnum() or text[pos - 1] == "_"):
            return None  # a comprehension, not a literal
        if depth == 0 and char in ",)]":
            if len(current) == 1 and current[0] is not None:
                items.append(current[0])
            current = []
            if char == ",":
                commas += 1
                pos += 1
                continue
            if char != closer:
                return None
            if closer == ")" and commas == 0 and tokens:
                return None  # ("a") or (a + b) is a parenthesised expression, not a tuple
            return items, pos + 1
        tokens += 1
        literal = _string_at(text, pos) if char in "\"'rRbBuUfF" else None
        if literal is not None and (char in "\"'" or _STRING.match(text, pos).group("prefix")):  # type: ignore[union-attr]
            prefix = _STRING.match(text, pos).group("prefix")  # type: ignore[union-attr]
            current.append(literal[0] if "f" not in prefix.lower() else None)
            pos = literal[1]
            continue
        if char in _OPENERS:
            depth += 1
        elif char in ")]}":
            depth -= 1
        current.append(None)
        pos += 1
    return None


def python_definitions(text: str) -> tuple[list[Definition], list[str] | None]:
    """(top-level classes and functions with their doc's first sentence, the literal ``__all__`` or None)."""
    source = "\n" + text
    found: list[Definition] = []
    exported: list[str] | None = None
    for match in _LEX.finditer(source):
        name = match.group("name")
        if name is not None:
            found.append(Definition(name, _docstring(source, match.end())))
        elif match.group("all") is not None and (opener := match.group("open")):
            parsed = _all_items(source, match.end(), _OPENERS[opener])
            if parsed is not None and _statement_ends(source, parsed[1]):
                exported = parsed[0]
    return found, exported


def leading_string_end(text: str) -> int | None:
    """Where the module's first statement ends when it is one string literal (a docstring).

    None when the module does not start with a string (no docstring), 0 when it starts with one
    that this pass does not settle (an implicit concatenation, an expression): the caller tokenizes.
    """
    first = _SKIP_LINES.match(text).end()  # type: ignore[union-attr]
    if first >= len(text) or not (text[first] in "\"'" or _STRING.match(text, first)):
        return None
    literal = _string_at(text, first)
    if literal is None or not _statement_ends(text, literal[1]):
        return 0
    return literal[1]
