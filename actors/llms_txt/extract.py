"""Extractive descriptions: a title and one line of prose taken from the file itself.

Markdown/RST give their first heading and first paragraph; Python its module docstring (read
with ``ast``, parsing only the statements up to the docstring so big modules stay cheap); other
languages their leading comment block, skipping licence boilerplate and editor/linter pragmas.
Only the first few hundred lines are looked at: descriptions live at the top.
"""

from __future__ import annotations

import ast
import html
import io
import re
import tokenize

from .classify import is_readme
from .comments import HASH_STYLE, has_words, leading_comment
from .formats import describe_format
from .outline import outline_line, python_outline
from .pyscan import leading_string_end
from .textio import extension, words
from .treesit import definitions, grammar_for, js_reexports, js_test_names, shell_commands
from .wellknown import describe_known

__all__ = [
    "MAX_DESCRIPTION",
    "clean_inline",
    "clip",
    "extract",
    "leading_comment",
    "markdown_outline",
    "python_docstring",
    "rst_outline",
    "text_outline",
]

MAX_DESCRIPTION = 200
_SCAN_LINES = 300
_MARKDOWN_EXTS = words("md markdown mdown mkd mdx adoc asciidoc")
_TEXT_EXTS = words("txt text")
_TEXT_NAMES = words("changelog changes news authors contributors history todo thanks credits")

_IMG = re.compile(r"!\[[^\]]*\]\([^)]*\)")
_LINK = re.compile(r"\[([^\]]*)\]\([^)]*\)")
_REFLINK = re.compile(r"\[([^\]]+)\]\[[^\]]*\]")
_TAG = re.compile(r"</?[A-Za-z][^>]*>")
_EMPH = re.compile(r"(\*\*|__)(.+?)\1")
_EMPH1 = re.compile(r"(?<![\w*])\*(?![\s*])(.+?)(?<![\s*])\*(?![\w*])")
_RST_ROLE = re.compile(r":[\w:+.-]+:`([^`<]*?)\s*(?:<[^>]*>)?`")
_RST_LINK = re.compile(r"`([^`<]+?)\s*<[^>]+>`_{1,2}")
_RST_LITERAL = re.compile(r"``([^`]+)``")
_SENTENCE = re.compile(r"(.{20,}?[.!?])(?:\s|$)")

_ATX = re.compile(r"^ {0,3}(?:#{1,6}|={1,6})[ \t]+(.+?)(?:[ \t]+#+)?[ \t]*$")
_HTML_HEADING = re.compile(r"<h([1-6])[^>]*>(.*?)</h\1>", re.IGNORECASE)
_ADMONITION = re.compile(r"^ {0,3}(?:!!!|\?\?\?\+?)[ \t]*[\w-]")
_SETEXT = re.compile(r"^ {0,3}(?:=+|-+)[ \t]*$")
_FENCE = re.compile(r"^ {0,3}(?:```|~~~)")
_LIST = re.compile(r"^ {0,3}(?:[-*+]|\d+[.)])(?:[ \t]|$)")
_HR = re.compile(r"^ {0,3}([-*_])(?:[ \t]*\1){2,}[ \t]*$")
_TABLE = re.compile(r"^\s*\|")
_RST_ADORN = re.compile(r"^([=\-~^\"'`#*+.:_!$%&,;<>?@\\/|])\1{2,}\s*$")
_RST_FIELD = re.compile(r"^:[\w -]+:(?:\s|$)")


def clean_inline(text: str) -> str:
    """Plain text from one paragraph of Markdown/RST/HTML: markup, links and images reduced to their words."""
    text = _IMG.sub("", text)
    text = _LINK.sub(r"\1", text)
    text = _REFLINK.sub(r"\1", text)
    text = _RST_LINK.sub(r"\1", text)
    text = _RST_ROLE.sub(r"\1", text)
    text = _RST_LITERAL.sub(r"`\1`", text)
    text = _TAG.sub("", text)
    text = _EMPH.sub(r"\2", text)
    text = _EMPH1.sub(r"\1", text)
    return " ".join(html.unescape(text).split())


def clip(text: str, limit: int = MAX_DESCRIPTION) -> str:
    """One line of at most ``limit`` characters: the text, else its first sentence, else cut at a word.

    A trailing colon (the text introduced a list or code that is not shown) becomes a full stop.
    """
    text = " ".join(text.split())
    if text.endswith(":"):
        text = text[:-1].rstrip() + "."
    if len(text) <= limit:
        return text
    sentence = _SENTENCE.match(text)
    if sentence and len(sentence.group(1)) <= limit:
        return sentence.group(1)
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:-") + "…"


def _heading_level(match: re.Match[str]) -> int:
    marks = match.group(0).lstrip()
    return len(marks) - len(marks.lstrip(marks[0]))


def markdown_outline(text: str, *, h1_only: bool = False) -> tuple[str | None, str | None]:
    """(title, first paragraph) of Markdown, skipping front matter, code, badges, lists and admonitions.

    The title is the first H1 (ATX, setext or an HTML ``<h1>`` over several lines); without one, the
    first heading of any level unless ``h1_only`` (a README's ``## Features`` is no title). A paragraph
    that ends with a colon only introduces what follows, so a later paragraph is preferred.
    """
    lines = text.split("\n", _SCAN_LINES)[:_SCAN_LINES]
    start = 0
    if lines and lines[0].strip() in ("---", "+++"):
        fence = lines[0].strip()
        start = next((j + 1 for j in range(1, len(lines)) if lines[j].strip() == fence), 0)
    h1: str | None = None
    heading: str | None = None
    paras = _Paragraphs()
    buf: list[str] = []
    html_h1: list[str] | None = None
    subheads: list[str] = []
    in_fence = in_comment = in_block = False

    def flush() -> None:
        nonlocal buf
        if buf:
            paras.offer(clean_inline(" ".join(buf)), aside=buf[0].startswith("<"))
        buf = []

    def found(title: str, level: int) -> None:
        nonlocal h1, heading
        title = clean_inline(title)
        if title and level > 1 and len(subheads) < 6:
            subheads.append(title)
        if title and level == 1 and h1 is None:
            h1 = title
        if title and heading is None:
            heading = title

    for line in lines[start:]:
        stripped = line.strip()
        if html_h1 is not None:
            html_h1.append(stripped)
            if "</h1>" in stripped.lower():
                found(re.split(r"</h1>", " ".join(html_h1), maxsplit=1, flags=re.IGNORECASE)[0], 1)
                html_h1 = None
            continue
        if in_fence:
            in_fence = not (_FENCE.match(line) or stripped.startswith(":::"))
            continue
        if in_comment:
            in_comment = "-->" not in line
            continue
        if _FENCE.match(line) or re.match(r":::\w", stripped):
            flush()
            in_fence = True
        elif stripped.startswith("<!--"):
            flush()
            in_comment = "-->" not in stripped
        elif not stripped:
            flush()
            in_block = False
        elif match := _ATX.match(line):
            flush()
            found(match.group(1), _heading_level(match))
        elif match := _HTML_HEADING.search(stripped):
            flush()
            found(match.group(2), int(match.group(1)))
        elif re.match(r"<h1\b", stripped, re.IGNORECASE):
            flush()
            html_h1 = [stripped]
        elif len(buf) == 1 and _SETEXT.match(line):
            found(buf[0], 1 if stripped[0] == "=" else 2)
            buf = []
        elif _ADMONITION.match(line) or stripped.startswith("::: "):
            flush()
            in_block = True
        elif not buf and _RST_ADORN.match(line):
            continue
        elif _HR.match(line) or _LIST.match(line) or _TABLE.match(line) or (not buf and line.startswith("    ")):
            flush()
            in_block = True
        elif not in_block:
            buf.append(stripped.lstrip("> ") if stripped.startswith(">") else stripped)
        if h1 is not None and paras.done:
            break
    flush()
    sections = f"Sections: {'; '.join(subheads)}." if subheads else None
    return (h1 if h1_only else h1 or heading), paras.best or sections


class _Paragraphs:
    """The first paragraph with words that does not end with a colon and is not an HTML block.

    Failing that, the first of those: a colon paragraph introduces what follows, and an HTML block
    at the top of a README is as often a sponsor banner as a tagline.
    """

    def __init__(self) -> None:
        self.first: str | None = None
        self.intro: str | None = None

    def offer(self, text: str, *, aside: bool = False) -> None:
        if self.first is not None or not has_words(text):
            return
        if text.endswith(":") or aside:
            self.intro = self.intro or text
        else:
            self.first = text

    @property
    def done(self) -> bool:
        return self.first is not None

    @property
    def best(self) -> str | None:
        return self.first or self.intro


def text_outline(text: str) -> str | None:
    """The first paragraph of a plain-text file: no markup is read, ``#`` lines are comments."""
    marker = leading_comment(text, "", "", style=HASH_STYLE) if text.lstrip().startswith("#") else None
    if marker:
        return marker
    paras = _Paragraphs()
    for block in text.split("\n\n", 40)[:40]:
        lines = [line.strip() for line in block.split("\n") if line.strip() and not line.lstrip().startswith("#")]
        if lines and not any(_RST_ADORN.match(line) for line in lines):  # an underlined block is a heading
            paras.offer(" ".join(lines))
        if paras.done:
            break
    return paras.best


def rst_outline(text: str) -> tuple[str | None, str | None]:
    """(document title, first paragraph) of reStructuredText, skipping directives and field lists."""
    lines = text.split("\n", _SCAN_LINES)[:_SCAN_LINES]
    title: str | None = None
    paras = _Paragraphs()
    buf: list[str] = []
    in_directive = False
    for line in lines:
        stripped = line.strip()
        if in_directive and (not stripped or line[:1].isspace()):
            continue
        in_directive = False
        if _RST_ADORN.match(line):
            if len(buf) == 1 and len(stripped) >= len(buf[0]):
                title = title or clean_inline(buf[0]) or None
            buf = []
        elif not stripped:
            if buf:
                paras.offer(clean_inline(" ".join(buf)))
            buf = []
        elif stripped.startswith(".. ") or stripped == ".." or (not buf and _LIST.match(line)):
            buf = []
            in_directive = True
        elif _RST_FIELD.match(stripped) or (not buf and line[:1].isspace()):
            continue
        else:
            buf.append(stripped)
        if title is not None and paras.done:
            break
    if buf:
        paras.offer(clean_inline(" ".join(buf)))
    return title, paras.best


def python_docstring(text: str) -> str | None:
    """The module docstring, parsed with ``ast`` from the source up to the end of its first statement."""
    end = leading_string_end(text)  # the usual case, found without tokenizing
    if end is None:
        return None
    if end:
        try:
            return ast.get_docstring(ast.parse(text[:end]), clean=True)
        except (SyntaxError, ValueError):
            return None
    end_row = 0
    try:
        for tok in tokenize.generate_tokens(io.StringIO(text).readline):
            if tok.type in (tokenize.COMMENT, tokenize.NL, tokenize.ENCODING):
                continue
            if end_row == 0 and tok.type != tokenize.STRING:
                return None
            end_row = tok.end[0]
            if tok.type in (tokenize.NEWLINE, tokenize.ENDMARKER):
                break
    except (tokenize.TokenError, SyntaxError):
        return None
    head = "\n".join(text.split("\n", end_row)[:end_row])
    try:
        module = ast.parse(head)
    except (SyntaxError, ValueError):
        return None
    return ast.get_docstring(module, clean=True)


def extract(rel: str, text: str) -> tuple[str | None, str]:
    """(title, description) for the file at ``rel``: the title is a document heading (None for code).

    Code without a docstring or leading comment is described by what it defines (:mod:`.outline`).
    """
    name = rel.rsplit("/", 1)[-1]
    ext = extension(name)
    if ext == "rst":
        title, para = rst_outline(text)
        return title, clip(para or "")
    if is_readme(name) or ext in _MARKDOWN_EXTS:
        title, para = markdown_outline(text, h1_only=is_readme(name))
        return title, clip(para or describe_known(rel, text))
    if ext in _TEXT_EXTS or (not ext and name.lower() in _TEXT_NAMES):
        return None, clip(text_outline(text) or describe_known(rel, text))
    if ext in {"py", "pyi", "pyw"}:
        doc = python_docstring(text)
        title, para = rst_outline(doc) if doc else (None, None)  # docstrings are RST: skip a title underline
        if para and not para.endswith(":"):
            return None, clip(para)
        described = python_outline(text, MAX_DESCRIPTION) or para or title or leading_comment(text, ext)
        return None, clip(described or describe_known(rel, text))
    item_doc = ext == "rs" and text.lstrip().startswith("///")  # documents the first item, not the module
    comment = None if item_doc else leading_comment(text, ext, name)
    return None, clip(comment or _code_outline(rel, name, ext, text))


def _code_outline(rel: str, name: str, ext: str, text: str) -> str:
    """What the file defines (or, for a shell script, runs); else what its name says it is."""
    grammar = grammar_for(name, ext, text)
    described = outline_line(definitions(text, grammar), MAX_DESCRIPTION)
    if not described and grammar == "sh" and (commands := shell_commands(text)):
        described = "Runs " + ", ".join(f"`{command}`" for command in commands) + "."
    if not described and (tests := js_test_names(text, grammar)):
        described = "Tests: " + "; ".join(tests) + "."
    if not described and (reexports := js_reexports(text, grammar)):
        described = _reexport_line(reexports)
    return described or describe_known(rel, text) or describe_format(ext, text)


def _reexport_line(reexports: list[tuple[list[str], str]]) -> str:
    """``Re-exports everything from `./a.js`; `X`, `Y` from `./b.js`.`` (a barrel module), within the limit."""
    everything = [module for names, module in reexports if names == ["*"]]
    parts = ["everything from " + ", ".join(f"`{module}`" for module in everything)] if everything else []
    parts += [
        ", ".join(f"`{name}`" for name in names) + f" from `{module}`" for names, module in reexports if names != ["*"]
    ]
    return clip("Re-exports " + "; ".join(parts) + ".")
