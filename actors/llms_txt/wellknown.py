"""What a file is, for files that say nothing about themselves: manifests, tool configs, CI, data.

These files have no prose to extract, but their name (and for a CI workflow or JSON data, a glance
at the content) tells a reader what they are. This is the last resort of the extractive describer:
any description the file gives itself wins.
"""

from __future__ import annotations

import json
import re

from .textio import extension

__all__ = ["describe_known", "json_outline"]

_BY_NAME: dict[str, str] = {
    "pyproject.toml": "Python project metadata, dependencies and tool configuration.",
    "setup.py": "Python package build script.",
    "setup.cfg": "Python package metadata and tool configuration.",
    "manifest.in": "Files to include in the Python source distribution.",
    "tox.ini": "tox test environments.",
    "noxfile.py": "nox test sessions.",
    "package.json": "npm package manifest: metadata, scripts and dependencies.",
    "package-lock.json": "npm lock file: exact dependency versions.",
    "yarn.lock": "Yarn lock file: exact dependency versions.",
    "pnpm-lock.yaml": "pnpm lock file: exact dependency versions.",
    "cargo.toml": "Rust crate manifest: metadata and dependencies.",
    "cargo.lock": "Cargo lock file: exact dependency versions.",
    "go.mod": "Go module definition and dependencies.",
    "go.sum": "Go module checksums.",
    "gemfile": "Ruby dependencies (Bundler).",
    "makefile": "Build tasks (make).",
    "dockerfile": "Container image build instructions.",
    "mkdocs.yml": "MkDocs site configuration: navigation, theme and plugins.",
    ".readthedocs.yaml": "Read the Docs build configuration.",
    ".readthedocs.yml": "Read the Docs build configuration.",
    "conf.py": "Sphinx documentation configuration.",
    ".pre-commit-config.yaml": "pre-commit hooks run before each commit.",
    ".gitignore": "Files git does not track.",
    ".gitattributes": "git attributes for paths (line endings, diff and merge drivers).",
    ".editorconfig": "Editor settings shared by contributors (indentation, line endings).",
    ".dockerignore": "Files left out of the container build context.",
    ".npmignore": "Files left out of the npm package.",
    ".npmrc": "npm configuration.",
    ".nvmrc": "The Node.js version to use.",
    ".prettierrc": "Prettier formatting options.",
    "tsconfig.json": "TypeScript compiler options.",
    "jsconfig.json": "JavaScript project options for editors.",
    "codeowners": "Who reviews changes to which paths.",
    "funding.yml": "Sponsorship links shown by GitHub.",
    "dependabot.yml": "Dependabot schedule for dependency update pull requests.",
    "pull_request_template.md": "The template for new pull requests.",
    "cname": "The custom domain of the GitHub Pages site.",
    ".netrc": "Credentials for hosts in netrc format.",
    ".coveragerc": "coverage.py options.",
    "pytest.ini": "pytest options.",
    "mypy.ini": "mypy options.",
    "ruff.toml": "Ruff linter and formatter options.",
    ".flake8": "flake8 linter options.",
}
_PEM = re.compile(r"^-----BEGIN ([A-Z0-9 ]+)-----", re.MULTILINE)
_HTML_TITLE = re.compile(r"<title[^>]*>\s*(.*?)\s*</title>", re.IGNORECASE | re.DOTALL)
_WORKFLOW_NAME = re.compile(r"^name:\s*['\"]?(.+?)['\"]?\s*$", re.MULTILINE)


_JSON_HEAD = re.compile(r'\s*\[\s*("(?:[^"\\\n]|\\.){1,300}")\s*,')


def _prose(item: object) -> bool:
    """A string of a few words: a comment put first in a JSON list (no key to hold it)."""
    return isinstance(item, str) and len(item.split()) >= 3 and len(item) <= 200


def json_outline(text: str) -> str:
    """What a JSON document holds at its top level: the keys of an object, or the length of a list."""
    try:
        data = json.loads(text)
    except ValueError:  # e.g. a line removed for a secret: say what the head shows
        head = _JSON_HEAD.match(text)
        if head is None:
            return ""
        try:
            first = json.loads(head.group(1))
        except ValueError:
            return ""
        return f"JSON array (its first item: {first.rstrip('.')})." if _prose(first) else ""
    if isinstance(data, list) and data and _prose(data[0]):
        return f"JSON array of {len(data):,} items (the first: {data[0].rstrip('.')})."
    if isinstance(data, dict) and data:
        keys = [str(key) for key in list(data)[:8]]
        more = f" and {len(data) - len(keys)} more" if len(data) > len(keys) else ""
        return f"JSON object with keys {', '.join(keys)}{more}."
    if isinstance(data, list) and data:
        item = type(data[0]).__name__.replace("dict", "object").replace("str", "string").replace("list", "array")
        return f"JSON array of {len(data):,} items (the first is a{'n' if item[0] in 'aeiou' else ''} {item})."
    return ""


def describe_known(rel: str, text: str) -> str:
    """A description from the file's name (or a glance at its content); '' when there is none."""
    *dirs, name = rel.split("/")
    lower = name.lower()
    ext = extension(name)
    if dirs[-2:] == [".github", "workflows"] and ext in ("yml", "yaml"):
        match = _WORKFLOW_NAME.search(text)
        return f"GitHub Actions workflow: {match.group(1)}." if match else "A GitHub Actions workflow."
    if lower in _BY_NAME:
        return _BY_NAME[lower]
    if lower.split(".", 1)[0] in ("license", "licence", "copying"):
        first = next((line.strip(" #=*") for line in text.split("\n", 20) if line.strip(" #=*")), "")
        return f"Licence: {first}." if first and len(first) <= 80 else "The licence."
    if ext == "svg":
        return "SVG image."
    if lower.startswith(".netrc"):
        return _BY_NAME[".netrc"]
    if lower.startswith("requirements") and ext in ("txt", "in"):
        return "Python requirements (pip)."
    if ext in ("json", "jsonc") and not lower.startswith("tsconfig"):
        return json_outline(text)
    if lower.startswith("tsconfig") and ext == "json":
        return "TypeScript compiler options."
    if ext in ("html", "htm") and (title := _HTML_TITLE.search(text[:4096])):
        return f"HTML page: {' '.join(title.group(1).split())}."
    blocks = list(dict.fromkeys(_PEM.findall(text[:65536])))
    if blocks:
        return f"PEM data: {', '.join(block.lower() for block in blocks)}."
    return ""
