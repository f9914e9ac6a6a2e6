"""What a code file defines, as one line: its public names with the first sentence of their docs.

A module without a docstring still says what it is through the classes and functions it defines
and documents; this is the description for those files. Python is read by one lexical pass
(:mod:`.pyscan`; the public names are ``__all__`` when the module declares it, else those not
starting with ``_``) and ``ast`` for what that pass cannot say; the other languages go through
:mod:`.treesit`. The line is shared so every language reads the same way.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["Definition", "first_sentence", "outline_line", "python_outline"]

_SUMMARY_LIMIT = 110
_HEAD_CHARS = 64 * 1024
_TOP_LEVEL = re.compile(r"\n(?=[^\s#])")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s")


@dataclass(frozen=True, slots=True)
class Definition:
    """One public name a file defines and the first sentence of its doc ('' when undocumented)."""

    name: str
    summary: str


def first_sentence(doc: str, limit: int = _SUMMARY_LIMIT) -> str:
    """The first sentence of the first paragraph of ``doc``, clipped at a word; '' for none."""
    paragraph = " ".join(doc.strip().split("\n\n", 1)[0].split())
    if not paragraph or paragraph.endswith(":"):
        return ""
    sentence = _SENTENCE_END.split(paragraph, 1)[0]
    if len(sentence) > limit:
        sentence = sentence[: limit - 1].rsplit(" ", 1)[0].rstrip(" ,;:-") + "…"
    return sentence


def outline_line(definitions: Sequence[Definition], limit: int, verb: str = "Defines", *, more: bool = False) -> str:
    """``Defines `A`: doc; `B`: doc; and 3 more.`` within ``limit`` characters; '' for no definitions."""
    if not definitions:
        return ""
    documented = [d for d in definitions if d.summary]
    ordered = documented + [d for d in definitions if not d.summary]
    text = verb
    shown = 0
    for item in ordered:
        summary = item.summary.rstrip(".")
        part = f" `{item.name}`: {summary}" if summary else f" `{item.name}`"
        left = len(ordered) - shown - 1
        tail = f"; and {left} more." if left else ""
        if shown and len(text) + 1 + len(part) + len(tail) > limit:
            break
        if not shown and len(text) + len(part) > limit:
            part = part[: limit - len(text) - 1].rstrip() + "…"
        text += (";" if shown else "") + part
        shown += 1
    rest = len(ordered) - shown
    if rest:
        return f"{text}; and {rest}{'+' if more else ''} more."
    if more:
        return f"{text}; and more."
    return text if text.endswith((".", "…", "!", "?")) else text + "."


def _all_names(module: ast.Module) -> list[str] | None:
    """The literal ``__all__`` list of the module, if it declares one."""
    for node in module.body:
        if not isinstance(node, ast.Assign | ast.AnnAssign) or "__all__" not in _targets(node):
            continue
        if isinstance(node.value, ast.List | ast.Tuple):
            return [e.value for e in node.value.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)]
    return None


def _targets(node: ast.Assign | ast.AnnAssign) -> list[str]:
    targets = node.targets if isinstance(node, ast.Assign) else [node.target]
    return [target.id for target in targets if isinstance(target, ast.Name)]


def python_outline(text: str, limit: int) -> str:
    """The outline line of a Python module: public classes and functions, else what ``__all__`` exports.

    One lexical pass (:mod:`.pyscan`) finds the definitions; ``ast`` reads the rest (constants,
    star imports, calls) only for files that define and export nothing.
    """
    from .pyscan import python_definitions

    head, cut = _head(text)
    defined, exported = python_definitions(head)
    if cut and not any(not d.name.startswith("_") for d in defined):
        head, cut = text, False  # nothing public near the top: read the whole module after all
        defined, exported = python_definitions(head)
    shown = [d for d in defined if (d.name in exported if exported is not None else not d.name.startswith("_"))]
    if shown:
        return outline_line(shown, limit, more=cut)
    if exported:
        return outline_line([Definition(name, "") for name in exported if not _dunder(name)], limit, "Exports")
    try:
        module = ast.parse(head)
    except (SyntaxError, ValueError):
        return ""
    exported = _all_names(module)
    found: list[Definition] = []
    for node in module.body:
        if not isinstance(node, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        public = node.name in exported if exported is not None else not node.name.startswith("_")
        if public:
            found.append(Definition(node.name, first_sentence(ast.get_docstring(node) or "")))
    if not found and exported:  # a package __init__ that re-exports
        return outline_line([Definition(name, "") for name in exported if not _dunder(name)], limit, "Exports")
    if not found:  # constants only (a settings or version module)
        names = [name for name in _assigned(module) if name != "__all__"]
        found = [Definition(name, "") for name in [n for n in names if not n.startswith("_")] or names]
    if not found:  # private helpers only
        found = [
            Definition(node.name, first_sentence(ast.get_docstring(node) or ""))
            for node in module.body
            if isinstance(node, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        ]
    if not found and (star := _star_imports(module)):
        return "Re-exports " + ", ".join(f"`{name}`" for name in star) + "."
    if not found and (calls := _calls(module)):
        return "Runs " + ", ".join(f"`{name}()`" for name in calls[:6]) + "."
    return outline_line(found, limit)


def _star_imports(module: ast.Module) -> list[str]:
    found: list[str] = []
    for node in ast.walk(module):
        if isinstance(node, ast.ImportFrom) and any(alias.name == "*" for alias in node.names):
            name = "." * node.level + (node.module or "")
            if name not in found:
                found.append(name)
    return found


def _calls(module: ast.Module) -> list[str]:
    """Functions a script calls at its top level (including under ``if __name__ == "__main__":``)."""
    found: list[str] = []
    statements: list[ast.stmt] = list(module.body)
    while statements:
        node = statements.pop(0)
        if isinstance(node, ast.If):
            statements[:0] = node.body
        elif isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
            name = ast.unparse(node.value.func)
            if len(name) <= 40 and name not in found:
                found.append(name)
    return found


def _head(text: str) -> tuple[str, bool]:
    """The first ~64 KiB of a module, ending before a top-level line (definitions are read from the top)."""
    if len(text) <= _HEAD_CHARS:
        return text, False
    end = text.rfind("\n", _HEAD_CHARS // 2, _HEAD_CHARS)
    while end > _HEAD_CHARS // 2 and not _TOP_LEVEL.match(text, end):
        end = text.rfind("\n", _HEAD_CHARS // 2, end)
    return text[: max(end, _HEAD_CHARS // 2) + 1], True


def _dunder(name: str) -> bool:
    return name.startswith("__") and name.endswith("__")


def _assigned(module: ast.Module) -> list[str]:
    names: list[str] = []
    for node in module.body:
        if isinstance(node, ast.Assign | ast.AnnAssign):
            names.extend(name for name in _targets(node) if name not in names)
    return names
