"""``runwire runs|show|events|cancel --server URL``: the same commands against a runwire HTTP server.

They speak its REST API (docs/http.md) with httpx (the ``http`` extra). ``events --follow`` reads
the NDJSON stream to the terminal and, when the connection drops, reconnects from the last seq it
printed: nothing is printed twice or skipped.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from typing import Any, NoReturn

import typer

__all__ = ["Remote", "check_server"]

_RETRIES = 5


def _die(message: str, code: int = 1) -> NoReturn:
    sys.stderr.write(f"runwire: {message}\n")
    raise typer.Exit(code)


def check_server(url: str) -> str:
    """The server's base URL, checked before any work (one clear line and exit 2 if it is not one)."""
    if not url.startswith(("http://", "https://")) or len(url) < 8:
        _die(f"--server must be an http:// or https:// URL, got {url!r}", 2)
    return url.rstrip("/")


class Remote:
    def __init__(self, server: str, token: str | None) -> None:
        try:
            import httpx
        except ModuleNotFoundError:
            _die("--server needs the 'http' extra: pip install 'runwire[http]'", 2)
        self.base = check_server(server)
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._httpx = httpx
        self._client = httpx.Client(base_url=self.base, headers=headers, timeout=httpx.Timeout(30.0, read=None))

    def __enter__(self) -> Remote:
        return self

    def __exit__(self, *exc: object) -> None:
        self._client.close()

    def _check(self, response: Any, run_id: str | None = None) -> Any:
        status = response.status_code
        if status < 400:
            return response
        try:
            detail = response.json().get("detail")
        except ValueError:
            detail = response.text[:200]
        if status == 401:
            _die(f"{self.base} refused the request (401): pass --token or set RUNWIRE_TOKEN")
        if status in (404, 410) and run_id is not None:
            _die(f"unknown run: {run_id} ({detail})", 2)
        _die(f"{self.base}: {status} {detail}", 2 if status < 500 else 1)

    def request(self, method: str, path: str, run_id: str | None = None, **kw: Any) -> Any:
        try:
            return self._check(self._client.request(method, path, **kw), run_id).json()
        except self._httpx.TransportError as exc:
            _die(f"cannot reach {self.base}: {exc}")

    def events(self, run_id: str, after: int, follow: bool) -> Iterator[bytes]:
        """Raw JSON lines with seq > ``after``: to the terminal (``follow``) or to what the log holds now."""
        stop = None if follow else self.request("GET", f"/api/runs/{run_id}", run_id)["last_seq"]
        cursor, failures = after, 0
        while stop is None or cursor < stop:
            try:
                with self._client.stream(
                    "GET", f"/api/runs/{run_id}/events.ndjson", params={"after_seq": cursor}
                ) as response:
                    self._check(response, run_id)
                    for line in response.iter_lines():
                        if not line.strip():
                            continue  # a keep-alive
                        event = json.loads(line)
                        cursor = event["seq"]
                        failures = 0
                        yield line.encode()
                        if event["type"] in ("run.completed", "run.failed", "run.cancelled"):
                            return
                        if stop is not None and cursor >= stop:
                            return
                return  # the server ended the stream: the cursor is at the terminal
            except self._httpx.TransportError as exc:
                failures += 1
                if failures > _RETRIES:
                    _die(f"lost {self.base} after seq {cursor}: {exc}; rerun with --after {cursor}")
