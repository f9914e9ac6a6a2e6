"""The lexical Python outline gives the facts a syntax tree gives: top-level definitions, their
docstrings' first sentence, and a literal ``__all__`` — checked against ``ast`` and the tree-sitter
grammar on tricky sources and on real modules of the standard library."""

from __future__ import annotations

import ast
import sysconfig
from pathlib import Path

import pytest

from runwire.actors.llms_txt.outline import Definition, first_sentence
from runwire.actors.llms_txt.pyscan import python_definitions
from runwire.actors.llms_txt.treesit import grammar_available
from runwire.actors.llms_txt.treesit import python_definitions as tree_sitter_definitions

TRICKY = '''"""Module doc.

class NotAClass:
    pass
"""
import os
x = """
def not_a_function():
"""
y = 'def nope(): \\' still a string'  # def nor_this(): a comment
s = r"""raw \\""" def inside """


@decorator(arg="def fake")
def decorated(a: "str" = ")", b=lambda q: q) -> dict[str, int]:
    """Decorated: its doc. Second sentence."""


async def fetch(
    url,  # a comment with a colon:
    timeout=(1, 2),
):
    r\'\'\'Fetches the URL.\'\'\'


class Plain(Base, metaclass=Meta):
    "One-line doc."
    def method(self):
        """Not top level."""


class NoDoc:
    value = "not a docstring"


def one_liner(): "Docstring on the header line."


def call_first():
    "Not a docstring".format()


if True:
    def indented():
        pass

__all__: list[str] = [
    "decorated",  # a comment
    "fetch",
    name,
    "Plain" "Joined",
]
'''


def _ast_definitions(source: str) -> list[Definition]:
    return [
        Definition(node.name, first_sentence(ast.get_docstring(node, clean=False) or ""))
        for node in ast.parse(source).body
        if isinstance(node, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
    ]


def test_tricky_source_gives_what_ast_gives() -> None:
    defined, exported = python_definitions(TRICKY)
    assert [d.name for d in defined] == ["decorated", "fetch", "Plain", "NoDoc", "one_liner", "call_first"]
    assert [d.summary for d in defined] == [
        "Decorated: its doc.",
        "Fetches the URL.",
        "One-line doc.",
        "",
        "Docstring on the header line.",
        "",
    ]
    assert defined == _ast_definitions(TRICKY)
    assert exported == ["decorated", "fetch"]  # a name and an implicit concatenation are not plain strings


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("__all__ = ()\n", []),
        ("__all__ = ('a',)\n", ["a"]),
        ("__all__ = ('a')\n", None),  # a parenthesised string, not a tuple
        ("__all__ = (base.__all__ + other.__all__)\n", None),
        ("__all__ = [n for n in dir() if n[0] != '_']\n", None),
        ("__all__ = ['a'] + extra\n", None),
        ("__all__ = ['a']\n__all__ = ['b']\n", ["b"]),
        ("__all__ += ['a']\n", None),
        ("if x:\n    __all__ = ['a']\n", None),
    ],
)
def test_all_is_read_only_when_it_is_a_literal(source: str, expected: list[str] | None) -> None:
    assert python_definitions(source)[1] == expected
    if grammar_available("py"):
        assert tree_sitter_definitions(source) == python_definitions(source)


@pytest.mark.skipif(not grammar_available("py"), reason="tree-sitter-python not installed")
@pytest.mark.parametrize("name", ["typing.py", "argparse.py", "asyncio/__init__.py", "email/message.py", "enum.py"])
def test_stdlib_modules_give_what_the_tree_sitter_grammar_gives(name: str) -> None:
    source = (Path(sysconfig.get_paths()["stdlib"]) / name).read_text(encoding="utf-8")
    assert python_definitions(source) == tree_sitter_definitions(source)
    assert python_definitions(TRICKY) == tree_sitter_definitions(TRICKY)
