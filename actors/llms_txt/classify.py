"""Sort each file into a kind, and each kind into an llms.txt section, from its path alone.

The path is all we use (no content sniffing) so classification is instant and predictable; the
sections follow llmstxt.org: docs first, then the API/source, examples, and an ``Optional``
section for secondary material (tests, configuration, changelogs, licences, anything else).
"""

from __future__ import annotations

import re
from typing import Literal, TypeAlias

from .textio import extension, words

__all__ = ["KINDS", "SECTION_OF_KIND", "SECTION_ORDER", "Kind", "classify", "is_readme"]

Kind: TypeAlias = Literal["docs", "source", "examples", "tests", "config", "meta", "other"]
KINDS: tuple[Kind, ...] = ("docs", "source", "examples", "tests", "config", "meta", "other")
SECTION_ORDER: tuple[str, ...] = ("Docs", "Source", "Examples", "Optional")
SECTION_OF_KIND: dict[Kind, str] = {
    "docs": "Docs",
    "source": "Source",
    "examples": "Examples",
    "tests": "Optional",
    "config": "Optional",
    "meta": "Optional",
    "other": "Optional",
}

DOC_EXTS = words("md markdown mdown mkd mdx rst adoc asciidoc org rdoc textile pod")
TEXT_DOC_EXTS = words("txt text html htm")  # docs only inside a docs folder (or a README)
SOURCE_EXTS = words("""
    py pyi pyx pxd pxi c h cc cpp cxx c++ hpp hh hxx inl ipp m mm java kt kts scala sc groovy go rs rb rake php
    js jsx mjs cjs ts tsx mts cts vue svelte astro swift cs fs fsi fsx vb lua pl pm t r jl dart ex exs erl hrl
    hs lhs clj cljs cljc edn elm ml mli nim zig sh bash zsh fish ksh ps1 psm1 bat cmd sql graphql gql proto thrift
    asm s v sv svh vhd vhdl tcl sol wgsl glsl hlsl vert frag f f90 f95 f03 for cob cbl ada adb ads pas d cr
    gleam odin hx lisp el scm rkt ss purs re rei res resi awk sed css scss sass less styl html htm jinja j2 tpl
    """)
CONFIG_EXTS = words(
    "toml yaml yml json jsonc json5 ini cfg conf config env properties xml plist gradle cmake mk lock editorconfig"
)
CONFIG_NAMES = words("""
    makefile gnumakefile dockerfile containerfile justfile procfile gemfile rakefile vagrantfile jenkinsfile
    brewfile pipfile cmakelists.txt manifest.in setup.cfg tox.ini noxfile.py codeowners owners
    """)
META_STEMS = words("""
    changelog changes history news release_notes releases license licence copying copyright notice patents
    authors contributors contributing code_of_conduct security support maintainers governance funding citation
    """)
TEST_DIRS = words("test tests testing __tests__ spec specs testdata test_data fixtures __fixtures__ e2e")
EXAMPLE_DIRS = words("example examples sample samples demo demos cookbook cookbooks snippets")
DOC_DIRS = words("doc docs documentation guide guides manual wiki")
CONFIG_DIRS = words(".github .gitlab .circleci .ci .devcontainer .buildkite .husky")

_TEST_FILE_RE = re.compile(
    r"^(?:test_.+\.py|.+_tests?\.py|conftest\.py|.+_test\.go|.+[._-](?:test|spec)\.[cm]?[jt]sx?|.+_spec\.rb"
    r"|.+Tests?\.(?:java|kt|cs|swift|scala))$"
)


def is_readme(name: str) -> bool:
    """README, README.md, readme.rst, ... (any case, any extension)."""
    return name.lower().split(".", 1)[0] == "readme"


def _is_test_dir(part: str) -> bool:
    return part in TEST_DIRS or part.endswith(("_test", "_tests"))


def classify(rel: str) -> Kind:
    """The kind of the file at ``rel`` ('/'-separated path from the root)."""
    *dirs, name = rel.split("/")
    lower_dirs = [part.lower() for part in dirs]
    lower = name.lower()
    ext = extension(name)
    if any(_is_test_dir(part) for part in lower_dirs) or _TEST_FILE_RE.match(name):
        return "tests"
    if any(part in EXAMPLE_DIRS for part in lower_dirs):
        return "examples"
    if lower.split(".", 1)[0] in META_STEMS and ext in DOC_EXTS | TEXT_DOC_EXTS | {""}:
        return "meta"
    if (
        lower in CONFIG_NAMES
        or (lower.startswith("requirements") and ext in {"txt", "in"})
        or (name.startswith(".") and ext not in DOC_EXTS)
        or any(part in CONFIG_DIRS for part in lower_dirs)
        or ext in CONFIG_EXTS
    ):
        return "config"
    if ext in DOC_EXTS or is_readme(name) or (ext in TEXT_DOC_EXTS and any(p in DOC_DIRS for p in lower_dirs)):
        return "docs"
    if ext in SOURCE_EXTS:
        return "source"
    return "other"
