"""The dashboard: two HTML pages and their CSS/JS, served from this package (no CDN, no build).

The pages are the same wherever the app is mounted: the server writes its mount point into a
``<meta>`` tag and the script builds every URL from it.
"""

from __future__ import annotations

import html
from importlib.resources import files

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

__all__ = ["build_pages"]

_STATIC = files("runwire.actors.http") / "static"
_TYPES = {"app.js": "text/javascript; charset=utf-8", "app.css": "text/css; charset=utf-8"}


def _page(request: Request, name: str) -> HTMLResponse:
    root = request.scope.get("root_path", "").rstrip("/") + "/"
    text = (_STATIC / name).read_text(encoding="utf-8").replace("{{ROOT}}", html.escape(root, quote=True))
    return HTMLResponse(text, headers={"cache-control": "no-cache"})


def build_pages() -> APIRouter:
    pages = APIRouter(include_in_schema=False)

    @pages.get("/")
    def runs_page(request: Request) -> HTMLResponse:
        return _page(request, "index.html")

    @pages.get("/runs/{run_id}")
    def run_page(request: Request, run_id: str) -> HTMLResponse:
        return _page(request, "run.html")

    @pages.get("/static/{name}")
    def asset(name: str) -> Response:
        media_type = _TYPES.get(name)
        if media_type is None:
            return Response(b"not found", status_code=404, media_type="text/plain")
        return Response((_STATIC / name).read_bytes(), media_type=media_type, headers={"cache-control": "no-cache"})

    return pages
