"""The dashboard in a real browser: Debian's Chromium driven by Playwright, against a real server."""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from runwire.actors import RunSystem
from runwire.actors.http import ServerThread, runwire_app

from ..helpers import LogWatcher
from .conftest import gate

CHROMIUM = os.environ.get("RUNWIRE_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]
DOCS = Path(__file__).resolve().parents[2] / "docs"
SHOTS = os.environ.get("RUNWIRE_SCREENSHOTS") == "1"  # regenerate docs/ui-*.png

sync_api = pytest.importorskip("playwright.sync_api")
if not shutil.which(CHROMIUM):
    pytest.skip(f"no Chromium at {CHROMIUM} (.ci/run installs Debian's chromium)", allow_module_level=True)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1200, "height": 800})
    pg = context.new_page()
    pg.set_default_timeout(20_000)
    yield pg
    context.close()


def _start(base: str, pipeline: str = "http-steps", **inputs: Any) -> str:
    r = httpx.post(f"{base}/api/runs", json={"pipeline": pipeline, "inputs": inputs}, timeout=10)
    assert r.status_code == 201, r.text
    return str(r.json()["run_id"])


def _stats(page: Any) -> dict[str, Any]:
    return dict(page.evaluate("() => window.runwireStats"))


def test_progress_reaches_100_percent_and_the_terminal_appears(served: ServerThread, page: Any) -> None:
    run_id = _start(served.url, n=10, gate="ui-progress", text="streamed words arrive one by one", artifact="hi")
    page.goto(f"{served.url}/runs/{run_id}")
    page.wait_for_function("() => window.runwireStats && window.runwireStats.lastSeq >= 1")
    gate("ui-progress").set()
    page.wait_for_selector("#terminal:not([hidden])")
    assert page.inner_text("#terminal-type") == "run.completed"
    assert page.inner_text("#pct") == "100 %"
    assert page.locator("#milestones li").count() == 5
    assert page.inner_text("pre.text").strip() == "streamed words arrive one by one"
    assert page.get_attribute("#artifacts a", "href").endswith(f"/api/runs/{run_id}/artifacts/report.txt")
    assert _stats(page)["duplicates"] == 0
    if SHOTS:
        page.screenshot(path=str(DOCS / "ui-run.png"), full_page=True)
    page.goto(f"{served.url}/")
    row = page.locator(f'tr[data-run-id="{run_id}"]')
    row.wait_for()
    assert row.get_attribute("data-state") == "completed"
    if SHOTS:
        page.screenshot(path=str(DOCS / "ui-runs.png"), full_page=True)


def test_the_cancel_button_cancels_the_run_and_the_server_logs_it(served: ServerThread, page: Any) -> None:
    watcher = LogWatcher("run.cancelled")
    logger = logging.getLogger("runwire.http")
    logger.addHandler(watcher)
    logger.setLevel(logging.INFO)
    try:
        run_id = _start(served.url, n=2, hold="ui-never")
        page.goto(f"{served.url}/runs/{run_id}")
        page.wait_for_function("() => window.runwireStats && window.runwireStats.lastSeq >= 3")
        page.click("#cancel")
        page.wait_for_selector("#terminal:not([hidden])")
        assert page.inner_text("#terminal-type") == "run.cancelled"
        assert "cancelled from the dashboard" in page.inner_text("#terminal-body")
        assert watcher.seen.wait(10)
    finally:
        logger.removeHandler(watcher)
    assert httpx.get(f"{served.url}/api/runs/{run_id}").json()["state"] == "cancelled"


def test_a_reload_mid_run_shows_every_event_exactly_once(served: ServerThread, page: Any) -> None:
    run_id = _start(served.url, n=20, text="one two three four", hold="ui-reload")
    page.goto(f"{served.url}/runs/{run_id}")
    held_at = httpx.get(f"{served.url}/api/runs/{run_id}").json()["last_seq"]
    page.wait_for_function(f"() => window.runwireStats && window.runwireStats.lastSeq >= {max(held_at, 3)}")
    page.reload()
    page.wait_for_function("() => window.runwireStats && window.runwireStats.lastSeq >= 3")
    gate("ui-reload").set()
    page.wait_for_selector("#terminal:not([hidden])")
    stats = _stats(page)
    last_seq = httpx.get(f"{served.url}/api/runs/{run_id}").json()["last_seq"]
    assert stats["lastSeq"] == last_seq
    assert stats["duplicates"] == 0
    assert stats["holes"] == 0
    assert page.locator("#milestones li").count() == 10
    assert page.inner_text("pre.text").strip() == "one two three four"


def test_20000_text_deltas_render_without_freezing_the_page(system: RunSystem, page: Any) -> None:
    n = 20_000
    with ServerThread(runwire_app(system)) as server:
        run_id = _start(server.url, "http-flood", n=n, gate="ui-flood")
        page.goto(f"{server.url}/runs/{run_id}")
        page.wait_for_function("() => window.runwireStats && window.runwireStats.lastSeq >= 1")
        page.evaluate(  # the longest gap between two frames while the deltas stream: the page's freeze
            """() => { window.maxFrame = 0; window.frames = 0; let prev = performance.now();
                 const tick = (t) => { window.maxFrame = Math.max(window.maxFrame, t - prev); prev = t; window.frames++;
                                        if (!window.runwireStats.terminal) requestAnimationFrame(tick); };
                 requestAnimationFrame(tick); window.t0 = performance.now(); }"""
        )
        gate("ui-flood").set()
        page.wait_for_selector("#terminal:not([hidden])", timeout=60_000)
        took_ms = page.evaluate("() => window.runwireStats.lastDeltaAt - window.t0")
        max_frame = page.evaluate("() => window.maxFrame")
        frames = page.evaluate("() => window.frames")
        text = page.inner_text("pre.text")
    assert text.split() == [f"t{i}" for i in range(n)]
    assert _stats(page)["holes"] == 0
    print(f"\n20,000 deltas: last one rendered after {took_ms:.0f} ms; {frames} frames, longest {max_frame:.0f} ms")
    # The page kept painting while the deltas streamed: no frame holds half the time (a page that
    # renders the stream in one go freezes for all of it). A relative bound: on a loaded 2-core
    # machine absolute frame times vary by 10x (200 ms at load 5, 1.2-2.2 s at load 12).
    assert frames >= 2
    assert max_frame < 0.5 * took_ms


def test_a_dropped_connection_resumes_from_the_last_seq_without_duplicate_or_hole(system: RunSystem, page: Any) -> None:
    first = ServerThread(runwire_app(system))
    port = first.port
    with first:
        run_id = _start(first.url, n=6, text="before the drop", hold="ui-drop")
        page.goto(f"{first.url}/runs/{run_id}")
        held_at = httpx.get(f"{first.url}/api/runs/{run_id}").json()["last_seq"]
        page.wait_for_function(f"() => window.runwireStats && window.runwireStats.lastSeq >= {max(held_at, 3)}")
    # the server went away mid-run (its streams were cut); a new one comes up on the same port
    with ServerThread(runwire_app(system), port=port) as second:
        gate("ui-drop").set()
        page.wait_for_selector("#terminal:not([hidden])")  # the EventSource reconnected with Last-Event-ID
        stats = _stats(page)
        assert stats["lastSeq"] == httpx.get(f"{second.url}/api/runs/{run_id}").json()["last_seq"]
    assert stats["duplicates"] == 0
    assert stats["holes"] == 0
    assert page.locator("#milestones li").count() == 3
    assert page.inner_text("pre.text").strip() == "before the drop"
