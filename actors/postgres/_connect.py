"""Connection settings from a URL, and psycopg errors turned into one-line ``StoreError``s.

The password never leaves this module: every message names the store by ``redact(url)``.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any, Final
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from runwire.actors.store import StoreError

__all__ = [
    "SCHEMES",
    "STORE_PARAMS",
    "application_name",
    "Target",
    "channel",
    "describe",
    "owner_key",
    "parse_target",
    "wrap_error",
]

SCHEMES: Final = ("postgresql", "postgres")
STORE_PARAMS: Final = frozenset({"schema", "lease", "pool_size", "pool_timeout"})  # not passed to libpq
_SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,47}$")


class Target:
    """Where the store lives: the libpq URL (without our own ``schema`` parameter) and the schema."""

    __slots__ = ("options", "password", "schema", "shown", "url")

    def __init__(self, url: str, schema: str, password: str | None, shown: str, options: dict[str, str]) -> None:
        self.url = url
        self.schema = schema
        self.password = password
        self.shown = shown  # the URL as printed: no password
        self.options = options  # the store's own URL parameters (lease, pool_size, pool_timeout)

    def connect_kwargs(self, token: str = "") -> dict[str, Any]:
        """Per-connection settings: the schema on the search path, a short connect timeout, and
        the owner's token as ``application_name`` (so a lapsed owner's sessions can be ended)."""
        kwargs: dict[str, Any] = {"options": f"-c search_path={self.schema}", "connect_timeout": 10}
        if token:
            kwargs["application_name"] = application_name(token)
        return kwargs

    def scrub(self, text: str) -> str:
        """``text`` without the password, should a driver message ever quote it."""
        return text.replace(self.password, "***") if self.password else text


def parse_target(url: str, schema: str | None) -> Target:
    """Split ``postgresql://user:pw@host:port/db?schema=name&...``; ValueError for a bad URL or schema."""
    if not isinstance(url, str) or not url:
        raise ValueError("the PostgreSQL store needs a URL such as postgresql://user@host:5432/dbname")
    parts = urlsplit(url)
    if parts.scheme.lower() not in SCHEMES:
        raise ValueError(f"not a PostgreSQL URL (scheme {parts.scheme!r}); expected postgresql://...")
    query = parse_qsl(parts.query, keep_blank_values=True)
    ours = {key: value for key, value in query if key in STORE_PARAMS}
    name = schema if schema is not None else ours.get("schema", "public")
    if not _SCHEMA_NAME.match(name):
        raise ValueError(f"schema must be a lower-case SQL name of at most 48 characters (a-z, 0-9, _), not {name!r}")
    rest = urlencode([(k, v) for k, v in query if k not in STORE_PARAMS])
    clean = urlunsplit(("postgresql", parts.netloc, parts.path, rest, parts.fragment))
    netloc = parts.netloc
    if parts.password is not None:
        netloc = netloc.replace(f":{parts.password}@", ":***@", 1)
    shown = urlunsplit(("postgresql", netloc, parts.path, "", ""))
    shown += f"?schema={name}" if name != "public" else ""
    return Target(clean, name, parts.password, shown, ours)


def application_name(token: str) -> str:
    """The ``application_name`` of an owner's sessions."""
    return f"runwire-owner-{token}"


def channel(schema: str, kind: str) -> str:
    """The LISTEN/NOTIFY channel of one store (a schema) for ``kind`` (commit, cancel)."""
    return f"runwire_{kind}_{schema}"


def owner_key(token: str) -> int:
    """The session advisory lock key an owner holds while it lives (a signed 64-bit int)."""
    return int.from_bytes(hashlib.blake2b(token.encode(), digest_size=8).digest(), "big", signed=True)


def describe(exc: BaseException, target: Target) -> str:
    """One line: psycopg's message with its whitespace folded (libpq adds hints on new lines)."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    sqlstate = getattr(exc, "sqlstate", None)
    return target.scrub(f"{text} (SQLSTATE {sqlstate})" if sqlstate else text)


def wrap_error(exc: BaseException, target: Target, action: str) -> StoreError:
    """``StoreError("<action> failed: <cause> [url]")``, the driver's error chained as the cause."""
    err = StoreError(f"{action} failed: {describe(exc, target)}", target.shown)
    err.__cause__ = exc
    return err
