"""Descriptions read from the content of formats that have no docstring or doc comment to extract.

Stylesheets say what they style (their selectors), Windows batch files what their ``REM`` line says
or what they run, logs what their first line records, ``key = value`` configuration which keys it
sets. Each returns '' when the file gives nothing to say, so the next fallback can try.
"""

from __future__ import annotations

import re

from .textio import words

__all__ = ["batch_outline", "config_keys", "css_outline", "describe_format", "log_outline"]

_CSS_EXTS = words("css scss less sass styl")
_BATCH_EXTS = words("bat cmd")
_CONFIG_EXTS = words("cfg ini conf properties")
_CSS_COMMENT = re.compile(r"/\*.*?\*/", re.DOTALL)
_CSS_RULE = re.compile(r"(?:^|[};])\s*([^{};@/][^{};]*?)\s*\{")
_BATCH_REM = re.compile(r"^\s*@?(?:rem\b|::)[ \t]*(.*)$", re.IGNORECASE)
_BATCH_QUIET = words("echo set setlocal endlocal goto if call exit pause cls title shift pushd popd cd chdir for start")
_CONFIG_KEY = re.compile(r"^([A-Za-z_][\w.-]{0,40})[ \t]*[=:]", re.MULTILINE)
_SHOWN = 4


def _names(items: list[str], limit: int = _SHOWN) -> str:
    shown = ", ".join(f"`{item}`" for item in items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


def css_outline(text: str) -> str:
    """``Styles `a.b`, `.c` and 5 more.``: the stylesheet's distinct selectors, in order."""
    selectors: list[str] = []
    for match in _CSS_RULE.finditer(_CSS_COMMENT.sub("", text[:65536])):
        for selector in match.group(1).split(","):
            selector = " ".join(selector.split())
            if selector and len(selector) <= 60 and selector not in selectors and not selector[0].isdigit():
                selectors.append(selector)
    return f"Styles {_names(selectors)}." if selectors else ""


def batch_outline(text: str) -> str:
    """A batch file's first ``REM``/``::`` comment with words, else the commands it runs."""
    commands: list[str] = []
    for line in text.split("\n", 200)[:200]:
        if match := _BATCH_REM.match(line):
            if sum(ch.isalnum() for ch in match.group(1)) >= 3:
                return match.group(1).strip()
            continue
        first = line.strip().lstrip("@").split(" ", 1)[0].strip("\"'")
        if first and first[0] not in ":%" and first.lower() not in _BATCH_QUIET and first not in commands:
            commands.append(first)
    return f"Runs {_names(commands, 6)}." if commands else ""


def log_outline(text: str) -> str:
    """``Log of 1,234 lines; the first: ...``."""
    lines = [line for line in text.split("\n") if line.strip()]
    if not lines:
        return ""
    first = " ".join(lines[0].split())
    return f"Log of {len(lines):,} line{'s' if len(lines) != 1 else ''}; the first: {first}"


def config_keys(text: str) -> str:
    """``Sets `width`, `height` and 6 more.`` for ``key = value`` configuration."""
    keys = list(dict.fromkeys(_CONFIG_KEY.findall(text[:65536])))
    return f"Sets {_names(keys)}." if keys else ""


def describe_format(ext: str, text: str) -> str:
    """The description its format gives a file that describes nothing itself; '' when none does."""
    if ext in _CSS_EXTS:
        return css_outline(text)
    if ext in _BATCH_EXTS:
        return batch_outline(text)
    if ext == "log":
        return log_outline(text)
    if ext in _CONFIG_EXTS:
        return config_keys(text)
    return ""
