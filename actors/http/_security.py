"""The HTTP API's gate: Host and Origin checked (DNS rebinding), and an optional bearer token.

The same rules as runwire's MCP transport (docs/mcp.md): loopback names are always allowed, the
bind address too, plus what the operator adds (``"name:*"`` matches any port); a request with an
``Origin`` must come from one of those hosts. A browser cannot put a header on an EventSource, so
the token is also taken from the ``runwire_token`` cookie, which ``?token=`` on a page sets.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Iterable
from http.cookies import CookieError, SimpleCookie
from typing import Any
from urllib.parse import parse_qs

from runwire.actors.serving import host_patterns

__all__ = ["COOKIE", "Gate"]

COOKIE = "runwire_token"
Scope = dict[str, Any]


def _matches(value: str, patterns: Iterable[str]) -> bool:
    for pattern in patterns:
        if pattern == value:
            return True
        if pattern.endswith(":*"):
            base = pattern[:-2]
            if value == base or (value.startswith(base + ":") and value[len(base) + 1 :].isdigit()):
                return True
    return False


class Gate:
    """ASGI middleware: 421 for a foreign Host, 403 for a foreign Origin, 401 without the token."""

    def __init__(
        self,
        app: Any,
        *,
        host: str = "127.0.0.1",
        allowed_hosts: Iterable[str] = (),
        allowed_origins: Iterable[str] = (),
        token: str | None = None,
    ) -> None:
        if token is not None and not token:
            raise ValueError("the bearer token must be non-empty (or None for no token)")
        self.app = app
        self.hosts = host_patterns(host, allowed_hosts)
        self.origins = [f"{s}://{p}" for p in self.hosts for s in ("http", "https")] + list(allowed_origins)
        self._token = None if token is None else token.encode()

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        if not _matches(headers.get("host", ""), self.hosts):
            await _refuse(scope, send, 421, "Invalid Host header")
            return
        origin = headers.get("origin")
        if origin is not None and not _matches(origin, self.origins):
            await _refuse(scope, send, 403, "Invalid Origin header")
            return
        extra: list[tuple[bytes, bytes]] = []
        if self._token is not None:
            offered = _offered_token(headers, scope)
            if offered is None or not hmac.compare_digest(offered.encode(), self._token):
                challenge = [(b"www-authenticate", b'Bearer realm="runwire"')]
                await _refuse(scope, send, 401, "Authentication required", challenge)
                return
            query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
            if "token" in query:  # a page opened with ?token=: later requests carry the cookie
                extra.append((b"set-cookie", f"{COOKIE}={offered}; Path=/; HttpOnly; SameSite=Strict".encode()))
        if not extra:
            await self.app(scope, receive, send)
            return

        async def send_with_cookie(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, send_with_cookie)


def _offered_token(headers: dict[str, str], scope: Scope) -> str | None:
    auth = headers.get("authorization", "")
    if auth[:7].lower() == "bearer ":
        return auth[7:].strip()
    raw: bytes = scope.get("query_string", b"")
    query = parse_qs(raw.decode("latin-1"))
    if query.get("token"):
        return query["token"][0]
    cookie = SimpleCookie()
    try:
        cookie.load(headers.get("cookie", ""))
    except CookieError:
        return None
    morsel = cookie.get(COOKIE)
    return None if morsel is None else str(morsel.value)


async def _refuse(
    scope: Scope, send: Any, status: int, detail: str, headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    if scope["type"] == "websocket":  # before the handshake: close it (policy violation)
        await send({"type": "websocket.close", "code": 1008})
        return
    body = json.dumps({"detail": detail}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), *(headers or [])],
        }
    )
    await send({"type": "http.response.body", "body": body})
