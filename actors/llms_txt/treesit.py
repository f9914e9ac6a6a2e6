"""Public definitions of non-Python code, read with tree-sitter and the official grammar wheels.

JS/TS exports, Go exported names, Rust ``pub`` items, C/C++ declarations (through include guards,
``extern "C"`` and namespaces) and shell functions, each with the first sentence of the doc
comment right above it (JSDoc, ``///``, ``//``, ``#``). The grammars are an optional part of the
``cli`` extra: when one is not installed (or a file does not parse) the language gets no outline
and its files keep the leading-comment description. Languages load once; parsers are made per
call since a tree-sitter parser must not be shared between threads.
"""

from __future__ import annotations

import importlib
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from .outline import Definition, first_sentence
from .textio import words

__all__ = [
    "GRAMMARS",
    "definitions",
    "grammar_available",
    "grammar_for",
    "js_reexports",
    "js_test_names",
    "python_definitions",
    "shell_commands",
]

# extension -> (grammar module, function returning its language)
GRAMMARS: dict[str, tuple[str, str]] = {
    **dict.fromkeys(("js", "jsx", "mjs", "cjs"), ("tree_sitter_javascript", "language")),
    **dict.fromkeys(("ts", "mts", "cts"), ("tree_sitter_typescript", "language_typescript")),
    "tsx": ("tree_sitter_typescript", "language_tsx"),
    "go": ("tree_sitter_go", "language"),
    "rs": ("tree_sitter_rust", "language"),
    "c": ("tree_sitter_c", "language"),
    **dict.fromkeys(
        ("h", "hh", "hpp", "hxx", "cc", "cpp", "cxx", "c++", "ipp", "inl"), ("tree_sitter_cpp", "language")
    ),
    **dict.fromkeys(("sh", "bash", "zsh", "ksh"), ("tree_sitter_bash", "language")),
    **dict.fromkeys(("py", "pyi", "pyw"), ("tree_sitter_python", "language")),
}

_JS_DECLS = words(
    "function_declaration generator_function_declaration class_declaration abstract_class_declaration "
    "interface_declaration type_alias_declaration enum_declaration lexical_declaration variable_declaration "
    "function_signature"
)
_C_DECLS = words(
    "function_definition declaration type_definition struct_specifier class_specifier enum_specifier "
    "union_specifier alias_declaration concept_definition"
)
_C_CONTAINERS = words(
    "preproc_ifdef preproc_if preproc_else preproc_elif linkage_specification namespace_definition "
    "declaration_list template_declaration"
)
_RUST_ITEMS = words(
    "function_item struct_item enum_item trait_item type_item mod_item const_item static_item union_item "
    "macro_definition"
)
_NAME_TYPES = words(
    "identifier type_identifier field_identifier property_identifier namespace_identifier qualified_identifier "
    "destructor_name operator_name word"
)
_COMMENT_MARK = re.compile(r"^\s*(?:/\*\*?!?|\*/|\*(?!/)|///?!?|#+)\s?")
_DOC_TAG = re.compile(r"^[@\\]\w+")
_PRAGMA = re.compile(r"eslint|prettier-ignore|@ts-|biome-ignore|istanbul|c8 ignore|nolint|clang-format|NOLINT")

_lock = threading.Lock()
_languages: dict[tuple[str, str], Any] = {}


_SHELL_BUILTINS = words(
    "set export echo printf cd exit return shift source . test [ [[ true false local read eval exec trap unset "
    "readonly declare typeset wait sleep : command type alias"
)
_SHEBANG_SHELL = re.compile(r"^#!\s*\S*?(?:/env\s+)?\b(?:ba|z|k|da)?sh\b")
_VAR_PREFIX = re.compile(r"^(?:\$\{?\w+\}?)+")


def grammar_for(name: str, ext: str, text: str) -> str:
    """The GRAMMARS key for a file: its extension, or ``sh`` for an extension-less shell script."""
    if not ext and _SHEBANG_SHELL.match(text):
        return "sh"
    return ext


def _language(ext: str) -> Any:
    """The tree-sitter Language for ``ext``, or None when tree-sitter or its grammar is not installed."""
    key = GRAMMARS.get(ext)
    if key is None:
        return None
    with _lock:
        if key not in _languages:
            try:
                import tree_sitter

                module = importlib.import_module(key[0])
                _languages[key] = tree_sitter.Language(getattr(module, key[1])())
            except (ImportError, AttributeError, ValueError, TypeError):
                _languages[key] = None
        return _languages[key]


def grammar_available(ext: str) -> bool:
    """True when files with extension ``ext`` can be outlined here."""
    return _language(ext) is not None


def _text(node: Any) -> str:
    return bytes(node.text or b"").decode("utf-8", "replace")


def _doc(node: Any) -> str:
    """The first sentence of the comment block that ends on the line above ``node``."""
    lines: list[str] = []
    row = node.start_point[0]
    sibling = node.prev_sibling
    while sibling is not None and "comment" in sibling.type and sibling.end_point[0] >= row - 1:
        lines[:0] = _text(sibling).split("\n")
        row = sibling.start_point[0]
        sibling = sibling.prev_sibling
    prose: list[str] = []
    for line in lines:
        line = _COMMENT_MARK.sub("", line.rstrip().removesuffix("*/")).strip()
        if _DOC_TAG.match(line):
            break
        if not _PRAGMA.search(line):
            prose.append(line)
    return first_sentence("\n".join(prose))


def _name(node: Any) -> str | None:
    """The declared name, following C declarators down to their identifier."""
    named = node.child_by_field_name("name")
    if named is not None:
        return _text(named)
    for child in node.named_children:
        if child.type in ("variable_declarator", "type_spec", "init_declarator"):
            return _name(child)
    declarator = node.child_by_field_name("declarator")
    while declarator is not None:
        if declarator.type in _NAME_TYPES:
            return _text(declarator)
        declarator = declarator.child_by_field_name("declarator") or next(
            (c for c in declarator.named_children if c.type in _NAME_TYPES), None
        )
    return None


def _has_function_declarator(node: Any) -> bool:
    declarator = node.child_by_field_name("declarator")
    while declarator is not None:
        if declarator.type == "function_declarator":
            return True
        declarator = declarator.child_by_field_name("declarator")
    return False


def _js(root: Any) -> Iterator[tuple[Any, Any, bool]]:
    """(node to name, node carrying the doc, exported) for the top-level JS/TS declarations."""
    for node in root.named_children:
        if node.type == "export_statement":
            declaration = node.child_by_field_name("declaration")
            if declaration is not None:
                yield declaration, node, True
            for clause in (c for c in node.named_children if c.type == "export_clause"):
                for spec in clause.named_children:
                    yield spec, node, True
        elif node.type in _JS_DECLS:
            yield node, node, False


def _c(root: Any, depth: int = 0) -> Iterator[tuple[Any, Any, bool]]:
    for node in root.named_children:
        if node.type in _C_CONTAINERS and depth < 4:
            inner = node.child_by_field_name("body")
            yield from _c(inner if inner is not None and node.type != "template_declaration" else node, depth + 1)
        elif node.type in _C_DECLS:
            if node.type == "declaration" and not _has_function_declarator(node):
                continue
            static = any(c.type == "storage_class_specifier" and _text(c) == "static" for c in node.named_children)
            yield node, node, not static


def _go(root: Any) -> Iterator[tuple[Any, Any, bool]]:
    for node in root.named_children:
        if node.type == "function_declaration":
            yield node, node, True
        elif node.type == "type_declaration":
            for spec in (c for c in node.named_children if c.type == "type_spec"):
                yield spec, node, True


def _rust(root: Any) -> Iterator[tuple[Any, Any, bool]]:
    for node in root.named_children:
        if node.type in _RUST_ITEMS:
            yield node, node, any(c.type == "visibility_modifier" for c in node.named_children)


def _bash(root: Any) -> Iterator[tuple[Any, Any, bool]]:
    for node in root.named_children:
        if node.type == "function_definition":
            yield node, node, True


@dataclass(frozen=True, slots=True)
class _Walker:
    items: Callable[[Any], Iterator[tuple[Any, Any, bool]]]
    public: Callable[[str], bool]


_WALKERS: dict[str, _Walker] = {
    "tree_sitter_javascript": _Walker(_js, lambda name: True),
    "tree_sitter_typescript": _Walker(_js, lambda name: True),
    "tree_sitter_go": _Walker(_go, lambda name: name[:1].isupper()),
    "tree_sitter_rust": _Walker(_rust, lambda name: True),
    "tree_sitter_c": _Walker(_c, lambda name: not name.startswith("_")),
    "tree_sitter_cpp": _Walker(_c, lambda name: not name.startswith("_")),
    "tree_sitter_bash": _Walker(_bash, lambda name: not name.startswith("_")),
}


def definitions(text: str, ext: str) -> list[Definition]:
    """The public definitions of a file in source order (exported ones when the file exports any)."""
    language = _language(ext)
    if language is None:
        return []
    import tree_sitter

    tree = tree_sitter.Parser(language).parse(text.encode("utf-8"))
    walker = _WALKERS[GRAMMARS[ext][0]]
    found: list[tuple[Definition, bool]] = []
    seen: set[str] = set()
    for node, doc_node, exported in walker.items(tree.root_node):
        name = _name(node)
        if not name or name in seen or not walker.public(name):
            continue
        seen.add(name)
        found.append((Definition(name, _doc(doc_node)), exported))
    if any(exported for _, exported in found):
        return [item for item, exported in found if exported]
    return [item for item, _ in found]


def shell_commands(text: str, limit: int = 8) -> list[str]:
    """The distinct external commands a shell script runs, in order (builtins left out)."""
    language = _language("sh")
    if language is None:
        return []
    import tree_sitter

    found: list[str] = []
    stack = [tree_sitter.Parser(language).parse(text.encode("utf-8")).root_node]
    while stack and len(found) < limit:
        node = stack.pop()
        if node.type == "command_name":
            name = _VAR_PREFIX.sub("", _text(node)).strip("\"'")
            if name and name not in _SHELL_BUILTINS and name not in found and not name.startswith("$"):
                found.append(name)
            continue
        stack.extend(reversed(node.children))
    return found


def js_reexports(text: str, ext: str) -> list[tuple[list[str], str]]:
    """The ``export ... from`` lines of a JS/TS module: (names, '*' for all, or '* as ns'; module), in order."""
    language = _language(ext)
    if language is None or GRAMMARS[ext][0] not in ("tree_sitter_javascript", "tree_sitter_typescript"):
        return []
    import tree_sitter

    found: list[tuple[list[str], str]] = []
    for node in tree_sitter.Parser(language).parse(text.encode("utf-8")).root_node.named_children:
        source = node.child_by_field_name("source") if node.type == "export_statement" else None
        if source is None:
            continue
        names: list[str] = []
        for child in node.named_children:
            if child.type == "export_clause":
                names.extend(_name(spec) or _text(spec) for spec in child.named_children)
            elif child.type == "namespace_export":
                names.append("* as " + _text(child).split("as", 1)[-1].strip())
        found.append((names or ["*"], _text(source).strip("'\"`")))
    return found


_TEST_CALLS = words("test it describe suite bench")


def js_test_names(text: str, ext: str, limit: int = 4) -> list[str]:
    """The titles of the top-level ``test('...')`` / ``describe('...')`` calls of a JS/TS test file."""
    language = _language(ext)
    if language is None or GRAMMARS[ext][0] not in ("tree_sitter_javascript", "tree_sitter_typescript"):
        return []
    import tree_sitter

    names: list[str] = []
    root = tree_sitter.Parser(language).parse(text.encode("utf-8")).root_node
    for node in root.named_children:
        call = node.named_children[0] if node.type == "expression_statement" and node.named_children else None
        if call is None or call.type != "call_expression":
            continue
        function, arguments = call.child_by_field_name("function"), call.child_by_field_name("arguments")
        callee = _text(function).split(".", 1)[0] if function is not None else ""
        first = arguments.named_children[0] if arguments is not None and arguments.named_children else None
        if callee in _TEST_CALLS and first is not None and first.type in ("string", "template_string"):
            names.append(_text(first)[1:-1])
            if len(names) >= limit:
                break
    return names


def _python_doc(node: Any) -> str:
    body = node.child_by_field_name("body")
    first = body.named_children[0] if body is not None and body.named_children else None
    if first is None or first.type != "expression_statement" or not first.named_children:
        return ""
    string = first.named_children[0]
    if string.type != "string":
        return ""
    content = "".join(_text(c) for c in string.named_children if c.type == "string_content")
    return first_sentence(content)


def python_definitions(text: str) -> tuple[list[Definition], list[str] | None] | None:
    """(top-level classes and functions, the literal ``__all__`` or None); None without the grammar.

    The same facts ``ast`` gives, at a fraction of the cost on big modules (no Python objects per node).
    """
    language = _language("py")
    if language is None:
        return None
    import tree_sitter

    root = tree_sitter.Parser(language).parse(text.encode("utf-8")).root_node
    found: list[Definition] = []
    exported: list[str] | None = None
    for node in root.named_children:
        if node.type == "decorated_definition":
            node = node.child_by_field_name("definition") or node
        if node.type in ("class_definition", "function_definition"):
            name = node.child_by_field_name("name")
            if name is not None:
                found.append(Definition(_text(name), _python_doc(node)))
        elif node.type == "expression_statement" and node.named_children:
            assignment = node.named_children[0]
            left, right = assignment.child_by_field_name("left"), assignment.child_by_field_name("right")
            is_all = assignment.type == "assignment" and left is not None and _text(left) == "__all__"
            if is_all and right is not None and right.type in ("list", "tuple"):
                exported = [
                    "".join(_text(c) for c in item.named_children if c.type == "string_content")
                    for item in right.named_children
                    if item.type == "string"
                ]
    return found, exported
