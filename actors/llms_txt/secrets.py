"""Keep secrets out of the output: whole files that hold them by nature, and lines that hold one.

llms-full.txt copies files verbatim, so a ``.env``, a private key or a token in a config file
would be published. Files named like credential stores are left out unread; a private key block
leaves its file out; any other line matching a rule is replaced by a marker naming the rule (the
secret is never echoed). The rules are the well-known token formats (AWS, GitHub, GitLab, Slack,
Stripe, Google, OpenAI/Anthropic, npm, PyPI, SendGrid, Twilio, JWTs), credentials in URLs, and
literal values assigned to secret-sounding names. detect-secrets was measured first (0.8 ms a
line, 27 minutes for the standard library) and is too slow to run by default; these rules are
compiled into one RE2 automaton per set of rules a file's literals trigger (plain substring
tests), so most files cost those tests alone, the rest one linear pass over their UTF-8 bytes
plus one per line that matches, and no input can backtrack.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import re2  # type: ignore[import-untyped]

from .textio import extension

__all__ = ["SECRET_FILE_NAMES", "RULES", "SecretFinding", "redact_secrets", "secret_file_reason"]

# name -> why; matched on the file name at any depth. Templates (.env.example ...) are screened line by line.
SECRET_FILE_NAMES: dict[str, str] = {
    ".env": "a .env file (environment secrets)",
    ".netrc": "a .netrc file (login credentials)",
    "_netrc": "a .netrc file (login credentials)",
    ".pypirc": "a .pypirc file (package index credentials)",
    ".git-credentials": "a git credential store",
    ".htpasswd": "an .htpasswd file (password hashes)",
    ".pgpass": "a .pgpass file (database passwords)",
    ".dockercfg": "a Docker credential file",
    "id_rsa": "an SSH private key",
    "id_dsa": "an SSH private key",
    "id_ecdsa": "an SSH private key",
    "id_ed25519": "an SSH private key",
    "credentials.json": "a cloud credentials file",
    "service-account.json": "a cloud service-account key",
}
_ENV_TEMPLATES = frozenset({"example", "sample", "template", "dist", "defaults"})
_CONFIG_EXTENSIONS = frozenset({"env", "ini", "cfg", "conf", "properties", "toml", "yaml", "yml", "npmrc", ""})

# (kind, RE2 pattern). Token formats are distinctive enough to need no context; generic ones need a name.
RULES: tuple[tuple[str, str], ...] = (
    ("private_key", r"-----BEGIN[A-Z0-9 ]{0,30}PRIVATE KEY(?: BLOCK)?-----"),
    ("aws_access_key_id", r"\b(?:AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AROA)[0-9A-Z]{16}\b"),
    ("aws_secret_access_key", r"(?i)aws.{0,20}secret.{0,20}[:=][\s'\"]*[A-Za-z0-9/+]{40}\b"),
    ("github_token", r"\b(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{36}\b|\bgithub_pat_[A-Za-z0-9_]{40,}"),
    ("gitlab_token", r"\bglpat-[A-Za-z0-9_-]{20}\b"),
    ("slack_token", r"\bxox[abposr]-[A-Za-z0-9-]{10,}|hooks\.slack\.com/services/T[A-Za-z0-9_]+/B[A-Za-z0-9_]+/\w+"),
    ("stripe_key", r"\b(?:sk|rk)_live_[0-9A-Za-z]{16,}"),
    ("google_api_key", r"\bAIza[0-9A-Za-z_-]{35}\b"),
    ("openai_api_key", r"\bsk-(?:proj-|ant-(?:api\d\d-)?)?[A-Za-z0-9_-]{32,}"),
    ("npm_token", r"\bnpm_[A-Za-z0-9]{36}\b|_authToken\s*=\s*[^\s$]{8,}"),
    ("pypi_token", r"\bpypi-AgE[A-Za-z0-9_-]{50,}"),
    ("sendgrid_key", r"\bSG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}\b"),
    ("twilio_key", r"\bSK[0-9a-f]{32}\b"),
    ("jwt", r"\beyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}"),
    (
        "url_credentials",
        r"\b[A-Za-z][A-Za-z0-9+.-]{1,20}://[^\s:/@'\"<>]{1,64}:(?P<url_value>[^\s:/@'\"<>]{3,128})@[\w.-]+",
    ),
    (
        "secret_assignment",
        r"(?i)[\w.-]{0,40}(?:password|passwd|secret|api_?key|access_?key|auth_?token|access_?token|private_?key)"
        r"[\w.-]{0,40}['\"]?\s*(?::|=|:=|=>)\s*['\"](?P<quoted_value>[^'\"\s]{8,200})['\"]",
    ),
)
# Unquoted values count only in configuration files (``DB_PASSWORD=hunter2hunter``), not in code.
_CONFIG_RULE = (
    "secret_in_config",
    r"(?im)^\s*(?:export\s+)?[\w.-]{0,40}(?:password|passwd|secret|token|api_?key|access_?key|private_?key)"
    r"[\w.-]{0,40}\s*[:=]\s*(?P<config_value>[^\s'\"#]{8,200})\s*$",
)
_PLACEHOLDERS = ("example", "xxx", "your", "changeme", "change_me", "placeholder", "dummy", "redacted", "fake")
_PLACEHOLDER_CHARS = frozenset("<>{}$*%()[]")
_VALUE_GROUPS = ("url_value", "quoted_value", "config_value")


# What each rule's matches must contain, searched for at once by one RE2 set (a single linear pass
# that says which triggers occur): a rule's full pattern runs only on files where its trigger
# occurs (most files trigger none, so they cost this one pass). A trigger may fire without a match.
_TRIGGERS: dict[str, str] = {
    "private_key": "PRIVATE KEY",
    "aws_access_key_id": "A(?:KIA|SIA|BIA|CCA|GPA|IDA|ROA)[0-9A-Z]{16}",
    "github_token": "gh[pousr]_|github_pat_",
    "gitlab_token": "glpat-",
    "slack_token": "xox[abposr]-|hooks\\.slack\\.com",
    "stripe_key": "_live_",
    "google_api_key": "AIza",
    "openai_api_key": "sk-",
    "npm_token": "npm_|_authToken",
    "pypi_token": "pypi-AgE",
    "sendgrid_key": "SG\\.",
    "twilio_key": "SK[0-9a-f]{32}",
    "jwt": "eyJ",
    # the generic rules: their pattern from the name on, which every match of the full rule holds
    "url_credentials": r"://[^\s:/@'\"<>]{1,64}:[^\s:/@'\"<>]{3,128}@",
    "secret_assignment": r"(?i)(?:password|passwd|secret|api_?key|access_?key|auth_?token|access_?token|private_?key)"
    r"[\w.-]{0,40}['\"]?\s*(?::|=|:=|=>)\s*['\"][^'\"\s]{8}",
    "secret_in_config": r"(?im)(?:password|passwd|secret|token|api_?key|access_?key|private_?key)"
    r"[\w.-]{0,40}\s*[:=]\s*[^\s'\"#]{8}",
    "aws_secret_access_key": r"(?i)aws.{0,20}secret.{0,20}[:=][\s'\"]*[A-Za-z0-9/+]{40}",
}
_TRIGGER_KINDS = tuple(_TRIGGERS)
_TRIGGER_SET = re2.Set.SearchSet()
for _pattern in _TRIGGERS.values():
    _TRIGGER_SET.Add(_pattern.encode())
_TRIGGER_SET.Compile()
_PATTERNS = dict((*RULES, _CONFIG_RULE))
_KINDS = tuple(_PATTERNS)


@lru_cache(maxsize=256)
def _compiled(kinds: tuple[str, ...]) -> Any:
    """One RE2 automaton (over UTF-8 bytes) for these rules, each a named group (a handful of combinations occur)."""
    return re2.compile("|".join(f"(?P<{kind}>{_PATTERNS[kind]})" for kind in kinds).encode())


def _triggered(data: bytes, config: bool) -> tuple[str, ...]:
    found = {_TRIGGER_KINDS[index] for index in _TRIGGER_SET.Match(data) or ()}
    if not config:
        found.discard("secret_in_config")  # unquoted values count in configuration files only
    return tuple(kind for kind in _KINDS if kind in found)  # a stable order: one cache entry per set


@dataclass(frozen=True, slots=True)
class SecretFinding:
    """Why a file was left out (``lines`` empty) or which of its lines were removed, by rule."""

    rel: str
    kinds: tuple[str, ...]
    lines: tuple[int, ...] = ()

    def describe(self) -> str:
        """One line for the log: the path and why, never the secret."""
        where = f"lines {', '.join(map(str, self.lines))}" if self.lines else "whole file"
        return f"{self.rel} ({where}: {', '.join(self.kinds)})"


def secret_file_reason(name: str) -> str | None:
    """Why a file with this name is left out without reading it (a credential store), or None."""
    reason = SECRET_FILE_NAMES.get(name)
    if reason:
        return reason
    if name.startswith(".env.") and name[5:].lower() not in _ENV_TEMPLATES:
        return "a .env file (environment secrets)"
    if name.endswith(".tfstate") or name.endswith(".tfvars"):
        return "Terraform state or variables (often credentials)"
    return None


def _placeholder(value: str) -> bool:
    lowered = value.lower()
    if any(word in lowered for word in _PLACEHOLDERS) or _PLACEHOLDER_CHARS.intersection(value):
        return True
    if len(set(value)) <= 2:  # "********", "xxxxxxxx"
        return True
    stripped = value.replace("_", "").replace("-", "")
    return stripped.isalpha() and stripped.isupper()  # "YOUR_API_KEY", "MY_SECRET"


def redact_secrets(rel: str, text: str) -> tuple[str | None, SecretFinding | None]:
    """``text`` with each line that holds a secret replaced by a marker, and what was found.

    The text is None when the whole file is left out (it holds a private key).
    """
    name = rel.rsplit("/", 1)[-1]
    data = text.encode("utf-8")
    kinds = _triggered(data, extension(name) in _CONFIG_EXTENSIONS or name.startswith(".env"))
    if not kinds:
        return text, None
    named = _compiled(kinds)
    hits: dict[int, set[str]] = {}
    number = 0  # the line that ``start`` begins
    start = 0
    while (first := named.search(data, start)) is not None:
        line_start = data.rfind(b"\n", 0, first.start()) + 1
        number += data.count(b"\n", start, line_start)
        line_end = data.find(b"\n", line_start)
        line_end = len(data) if line_end < 0 else line_end
        # The rules are read per line: a match on a line is also one in the whole text, at the same
        # place, so jumping from one line with a whole-text match to the next misses no line.
        for match in named.finditer(data[line_start:line_end]):
            groups = {key.decode(): value for key, value in match.groupdict().items()}
            kind = next((kind for kind in _KINDS if groups.get(kind) is not None), None)
            raw = next((groups[group] for group in _VALUE_GROUPS if groups.get(group) is not None), None)
            value = raw.decode("utf-8", "replace") if raw is not None else None
            if kind is None or (value is not None and _placeholder(value)):
                continue
            if kind == "private_key":
                return None, SecretFinding(rel, (kind,))
            hits.setdefault(number, set()).add(kind)
        if line_end >= len(data):
            break
        start = line_end + 1
        number += 1
    if not hits:
        return text, None
    lines = text.split("\n")
    for number, rules in hits.items():
        lines[number] = f"[runwire: line removed, it looks like a secret: {', '.join(sorted(rules))}]"
    found = tuple(sorted(set().union(*hits.values())))
    return "\n".join(lines), SecretFinding(rel, found, tuple(number + 1 for number in sorted(hits)))
