"""The docs point only at what exists: every "enforced in" entry names real code, every link and
repository path resolves, and nothing cites files outside the repository.

A guarantee table's "enforced in" cell lists `path:Name` or `path:Class.method` entries; a bare
`Name` or `Class.method` is in the file named before it (docs/guarantees.md says so). A rename
that forgets the docs fails here, not in a reader's hands.
"""

from __future__ import annotations

import ast
import re
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = sorted((ROOT / "docs").glob("*.md"))
TABLES = [ROOT / "docs" / name for name in ("guarantees.md", "oda.md", "store.md")]
_TICKED = re.compile(r"`([^`]+)`")
_PATH_REF = re.compile(r"^((?:actors|protocol|tests|benchmarks|docs|src)/[\w./-]+|pyproject\.toml)(?::(.+))?$")
_DOTTED = re.compile(r"^[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*$")


@cache
def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(), filename=str(path))


def _children(node: ast.AST) -> list[ast.stmt]:
    return list(getattr(node, "body", []))


def _named(node: ast.stmt) -> set[str]:
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        return {node.name}
    if isinstance(node, ast.ImportFrom):  # a name the module takes from elsewhere is there too
        return {alias.asname or alias.name for alias in node.names}
    if isinstance(node, ast.Assign):
        return {t.id for t in node.targets if isinstance(t, ast.Name)}
    if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
        return {node.target.id}
    return set()


def _defines(path: Path, dotted: str) -> bool:
    """``Name`` anywhere in the module (a nested helper counts), ``Class.method`` along the nesting."""
    tree = _tree(path)
    first, *rest = dotted.split(".")
    candidates = [n for n in ast.walk(tree) if isinstance(n, ast.stmt) and first in _named(n)]
    for node in candidates:
        scope: ast.AST = node
        for part in rest:
            found = [n for n in _children(scope) if part in _named(n)]
            if not found:
                break
            scope = found[0]
        else:
            return True
    return False


def _check_code(path: Path, name: str) -> str | None:
    if path.suffix == ".py":
        return None if _defines(path, name) else f"{path.relative_to(ROOT)} defines no {name}"
    return None if name in path.read_text() else f"{path.relative_to(ROOT)} has no {name}"


def _enforced_cells(doc: Path) -> list[tuple[int, str]]:
    """(line number, cell) of the "enforced in" column of every table in ``doc``."""
    cells: list[tuple[int, str]] = []
    column: int | None = None
    for number, line in enumerate(doc.read_text().splitlines(), 1):
        if not line.startswith("|"):
            column = None
            continue
        row = [c.strip() for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]]
        if column is None:
            column = row.index("enforced in") if "enforced in" in row else -1
        elif column >= 0 and not set(line) <= set("|-: ") and len(row) > column:
            cells.append((number, row[column]))
    return cells


def _references(cell: str) -> list[tuple[str, bool]]:
    """Each ticked token of ``cell`` and whether it stands inside parentheses (an annotation)."""
    tokens: list[tuple[str, bool]] = []
    depth = 0
    for part in re.split(r"(`[^`]*`)", cell):
        if part.startswith("`") and part.endswith("`") and len(part) > 1:
            tokens.append((part[1:-1], depth > 0))
        else:
            depth = max(0, depth + part.count("(") - part.count(")"))
    return tokens


def _problems_in(cell: str) -> list[str]:
    """A path must exist, and so must what it names; a bare name is looked up in the file named
    before it, except inside parentheses, where ticked words annotate (`finally`, a message)."""
    problems: list[str] = []
    current: Path | None = None
    for token, annotation in _references(cell):
        ref = _PATH_REF.match(token)
        if ref is not None:
            current = ROOT / ref.group(1)
            if not current.exists():
                problems.append(f"{ref.group(1)} does not exist")
                current = None
            elif ref.group(2):
                problems += filter(None, [_check_code(current, ref.group(2))])
        elif not annotation and _DOTTED.match(token) and current is not None and current.suffix == ".py":
            problems += filter(None, [_check_code(current, token)])
    return problems


@pytest.mark.parametrize("doc", TABLES, ids=[d.name for d in TABLES])
def test_every_enforced_in_entry_names_code_that_exists(doc: Path) -> None:
    cells = _enforced_cells(doc)
    assert len(cells) >= 15, f"{doc.name}: no 'enforced in' column found"
    problems = [f"{doc.name}:{n}: {p}" for n, cell in cells for p in _problems_in(cell)]
    assert not problems, "\n".join(problems)
    assert all(_PATH_REF.match(t) for _, cell in cells for t in _TICKED.findall(cell)[:1]), "a row names no file first"


def test_the_checker_catches_a_renamed_function() -> None:
    """The control: a name that is not there, and a method on the wrong class, are reported."""
    assert _problems_in("`actors/_run_actor.py:RunActor._start`, `RunActor._deadline_passed`") == []
    assert _problems_in("`actors/_run_actor.py:RunActor._no_such_method`") != []
    assert _problems_in("`actors/_run_actor.py:RunActor._start`, `CompletionActor._signal`") != []
    assert _problems_in("`actors/_no_such_module.py:thing`") != []


def _prose(doc: Path) -> str:
    """The doc without its fenced blocks (sample output may show links of another project)."""
    kept, fence = [], ""
    for line in doc.read_text().splitlines():
        opener = re.match(r"^(`{3,}|~{3,})", line)
        if fence:
            if opener and opener.group(1).startswith(fence) and not line.strip(fence[0]).strip():
                fence = ""
        elif opener:
            fence = opener.group(1)
        else:
            kept.append(line)
    return "\n".join(kept)


def _repo_links(doc: Path) -> list[str]:
    # a link shown as code is an example, not a link (code spans pair up within a line)
    text = "\n".join(_TICKED.sub("", line) for line in _prose(doc).splitlines())
    links = [
        t for t in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text) if "://" not in t and not t.startswith("mailto:")
    ]
    return links


@pytest.mark.parametrize("doc", [ROOT / "README.md", *DOCS], ids=["README.md", *[d.name for d in DOCS]])
def test_links_and_repository_paths_in_the_docs_resolve(doc: Path) -> None:
    missing = [link for link in _repo_links(doc) if not (doc.parent / link).exists()]
    for token in (t for line in _prose(doc).splitlines() for t in _TICKED.findall(line)):
        ref = _PATH_REF.match(token)
        ours = ref is not None and not ref.group(1).startswith("docs/")  # docs/...: also other projects' trees
        if ours and ref is not None and "*" not in token and "{" not in token and not (ROOT / ref.group(1)).exists():
            missing.append(ref.group(1))
    assert not missing, f"{doc.name} points at what is not in the repository: {missing}"


def test_the_docs_cite_nothing_outside_the_repository() -> None:
    for doc in [ROOT / "README.md", *DOCS]:
        text = doc.read_text()
        for outside in ("DESIGN.md", "/work/", "shared/notes", "notes/"):
            assert outside not in text, f"{doc.name} cites {outside!r}, which is not in the repository"
