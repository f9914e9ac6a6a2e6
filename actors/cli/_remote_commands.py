"""The four run commands' ``--server`` side: what they print from a runwire HTTP server's answers."""

from __future__ import annotations

import os
import sys
from typing import Any

from runwire.protocol import parse_event

from ._remote import Remote, check_server
from ._runs import print_json, summary

__all__ = ["remote_cancel", "remote_events", "remote_runs", "remote_show"]


def _duration(view: dict[str, Any]) -> str:
    from datetime import datetime

    if not view.get("ended_at"):
        return ""
    started, ended = datetime.fromisoformat(view["created_at"]), datetime.fromisoformat(view["ended_at"])
    return f"{(ended - started).total_seconds():.2f}s"


def _table(views: list[dict[str, Any]], title: str | None = None) -> None:
    from rich.console import Console
    from rich.table import Table

    colors = {"completed": "green", "failed": "red", "cancelled": "yellow", "running": "cyan", "pending": "dim"}
    table = Table(title=title, title_justify="left")
    table.add_column("run id", no_wrap=True, min_width=32)
    for name in ("pipeline", "state", "created (UTC)", "duration", "events"):
        table.add_column(name, no_wrap=True, justify="right" if name == "events" else "left")
    for v in views:
        state = f"[{colors.get(v['state'], 'white')}]{v['state']}[/]"
        created = v["created_at"][:19].replace("T", " ")
        table.add_row(v["run_id"], v["pipeline"], state, created, _duration(v), str(v["last_seq"]))
    Console(width=max(Console().width, 120)).print(table)


def remote_runs(server: str, token: str | None, state: str | None, limit: int, json_lines: bool) -> None:
    params: dict[str, Any] = {"limit": min(limit, 500)}
    if state is not None:
        params["state"] = state
    with Remote(check_server(server), token) as remote:
        views = remote.request("GET", "/api/runs", params=params)["runs"]
    if json_lines:
        for v in views:
            print_json(v)
    elif not views:
        sys.stderr.write(f"no runs on {server}\n")
    else:
        _table(views)


def remote_show(server: str, token: str | None, run_id: str, json_lines: bool) -> None:
    with Remote(check_server(server), token) as remote:
        view = remote.request("GET", f"/api/runs/{run_id}", run_id)
        children = remote.request("GET", "/api/runs", params={"parent": run_id, "limit": 500})["runs"]
    if json_lines:
        print_json({**view, "children": children})
        return
    from rich.console import Console

    console = Console()
    rows = [
        (k, str(view.get(k) or "")) for k in ("run_id", "pipeline", "state", "parent_run_id", "created_at", "ended_at")
    ]
    rows += [("duration", _duration(view)), ("events", str(view["last_seq"]))]
    if view.get("terminal"):
        terminal = parse_event(view["terminal"])
        rows.append(("outcome", f"{terminal.type} {summary(terminal)}"))
    for key, value in rows:
        console.print(f"[bold]{key:>13}[/] {value}", highlight=False, soft_wrap=True)
    if children:
        _table(list(reversed(children)), title=f"{len(children)} child run(s)")


def remote_events(server: str, token: str | None, run_id: str, after: int, follow: bool, json_lines: bool) -> None:
    with Remote(check_server(server), token) as remote:
        try:
            for raw in remote.events(run_id, after, follow):
                if json_lines:
                    sys.stdout.buffer.write(raw + b"\n")
                else:
                    event = parse_event(raw)
                    sys.stdout.write(f"{event.seq:>6} {event.type:<16} {summary(event)}\n")
                sys.stdout.flush()
        except BrokenPipeError:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def remote_cancel(server: str, token: str | None, run_id: str) -> None:
    with Remote(check_server(server), token) as remote:
        view = remote.request("POST", f"/api/runs/{run_id}/cancel", run_id, json={"reason": "cancelled from the CLI"})
    terminal = view.get("terminal") or {}
    sys.stderr.write(f"run {run_id}: {view['state']} (seq {terminal.get('seq')})\n")
