"""``runwire runs | show | events | cancel | gc``: the runs in the run store, from the command line.

These commands read the store directly (no actors start): they open the file, close the runs a
dead process left in flight (recovery), and read committed data only. A run still running in
another process (``runwire serve``, a script) is followed live by ``events --follow`` and
cancelled by ``cancel``: the store wakes on the owning process's notices (a local socket per
owner, docs/scale-out.md), never by polling, and an owner that dies meanwhile has its run
closed with ``run.failed``, which the follower prints as the last event.
"""

from __future__ import annotations

import json
import os
import sys
from datetime import datetime, timedelta
from typing import Annotated, Any, cast

import typer

from runwire.actors import RunTimeoutError
from runwire.protocol import RunEvent, parse_event

from ..store import RUN_STATES, RunRecord, RunState, StoreError
from ._stores import DataDir, StoreUrl, die, get_run, read_store, where

__all__ = ["print_json", "register", "summary"]

Json = Annotated[bool, typer.Option("--json", help="Print JSON lines on stdout, and nothing else.")]
RunId = Annotated[str, typer.Argument(help="The run's id (see `runwire runs`).")]
Server = Annotated[
    str | None,
    typer.Option(
        "--server",
        envvar="RUNWIRE_SERVER",
        help="Ask a runwire HTTP server (runwire serve --http) instead of the local store, e.g. http://127.0.0.1:8765.",
    ),
]
Token = Annotated[
    str | None, typer.Option("--token", envvar="RUNWIRE_TOKEN", help="--server: the server's bearer token.")
]
_PAGE = 1000


# -- formatting ---------------------------------------------------------------------------------
def _time(at: datetime | None) -> str:
    return "" if at is None else at.strftime("%Y-%m-%d %H:%M:%S")


def _duration(rec: RunRecord) -> str:
    if rec.started_at is None or rec.ended_at is None:
        return ""
    return f"{(rec.ended_at - rec.started_at).total_seconds():.2f}s"


def _run_json(rec: RunRecord) -> dict[str, Any]:
    def iso(at: datetime | None) -> str | None:
        return None if at is None else at.isoformat()

    return {
        "run_id": rec.run_id,
        "pipeline": rec.pipeline,
        "state": rec.state,
        "parent_run_id": rec.parent_run_id,
        "created_at": iso(rec.created_at),
        "started_at": iso(rec.started_at),
        "ended_at": iso(rec.ended_at),
        "last_seq": rec.last_seq,
        "inputs": rec.inputs,
    }


def print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, ensure_ascii=False, separators=(",", ":")) + "\n")


def _runs_table(records: list[RunRecord], title: str | None = None) -> None:
    from rich.console import Console
    from rich.table import Table

    colors = {"completed": "green", "failed": "red", "cancelled": "yellow", "running": "cyan", "pending": "dim"}
    table = Table(title=title, title_justify="left")
    table.add_column("run id", no_wrap=True, min_width=32)
    for name in ("pipeline", "state", "created (UTC)", "duration", "events"):
        table.add_column(name, no_wrap=True, justify="right" if name == "events" else "left")
    for rec in records:
        state = f"[{colors.get(rec.state, 'white')}]{rec.state}[/]"
        table.add_row(rec.run_id, rec.pipeline, state, _time(rec.created_at), _duration(rec), str(rec.last_seq))
    Console(width=max(Console().width, 120)).print(table)


def summary(event: RunEvent) -> str:
    """One line saying what an event carries (the full event: ``--json``)."""
    fields = event.model_dump(exclude={"run_id", "seq", "ts", "type", "parent_run_id", "step"}, exclude_none=True)
    if event.type == "text.delta":
        return f"{event.field}: {event.text!r}"
    text = " ".join(f"{key}={value!r}" for key, value in fields.items())
    return text if len(text) <= 160 else text[:157] + "..."


# -- commands -----------------------------------------------------------------------------------
def runs(
    state: Annotated[
        str | None, typer.Option(help=f"Only runs in this state: {', '.join(sorted(RUN_STATES))}.")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, help="At most this many runs, newest first.")] = 20,
    json_lines: Json = False,
    data_dir: DataDir = None,
    store_url: StoreUrl = None,
    server: Server = None,
    token: Token = None,
) -> None:
    """List the runs in the run store (or on --server), newest first."""
    if state is not None and state not in RUN_STATES:
        die(f"unknown state {state!r}; expected one of {', '.join(sorted(RUN_STATES))}", 2)
    if server is not None:
        from ._remote_commands import remote_runs

        remote_runs(server, token, state, limit, json_lines)
        return
    with read_store(data_dir, store_url) as store:
        records = [] if store is None else store.list_runs(cast(RunState | None, state), None, limit)
    if json_lines:
        for rec in records:
            print_json(_run_json(rec))
    elif not records:
        sys.stderr.write(f"no runs in {where(data_dir, store_url)}\n")
    else:
        _runs_table(records)


def show(
    run_id: RunId,
    json_lines: Json = False,
    data_dir: DataDir = None,
    store_url: StoreUrl = None,
    server: Server = None,
    token: Token = None,
) -> None:
    """Show one run: its state, inputs and outcome, and for a loop its steps (child runs)."""
    if server is not None:
        from ._remote_commands import remote_show

        remote_show(server, token, run_id, json_lines)
        return
    with read_store(data_dir, store_url) as opened:
        store, rec = get_run(opened, run_id, data_dir, store_url)
        children = list(reversed(store.list_runs(parent_run_id=run_id, limit=100_000)))
    if json_lines:
        terminal = None if rec.terminal_json is None else json.loads(rec.terminal_json)
        print_json({**_run_json(rec), "terminal": terminal, "children": [_run_json(c) for c in children]})
        return
    from rich.console import Console

    console = Console()
    rows = [
        ("run", rec.run_id),
        ("pipeline", rec.pipeline),
        ("state", rec.state),
        ("parent", rec.parent_run_id or ""),
        ("created", _time(rec.created_at)),
        ("started", _time(rec.started_at)),
        ("ended", _time(rec.ended_at)),
        ("duration", _duration(rec)),
        ("events", str(rec.last_seq)),
        ("inputs", json.dumps(rec.inputs, ensure_ascii=False)),
    ]
    terminal = rec.terminal
    if terminal is not None:
        rows.append(("outcome", f"{terminal.type} {summary(terminal)}"))
    for key, value in rows:
        console.print(f"[bold]{key:>9}[/] {value}", highlight=False, soft_wrap=True)
    if children:
        _runs_table(children, title=f"{len(children)} child run(s)")


def events(
    run_id: RunId,
    after: Annotated[int, typer.Option("--after", min=0, help="Only events with seq > N (resume a read).")] = 0,
    follow: Annotated[
        bool,
        typer.Option("--follow", "-f", help="Read live to the terminal event, also for a run of another process."),
    ] = False,
    json_lines: Annotated[
        bool, typer.Option("--json", help="Print each event as stored: one JSON line, byte for byte.")
    ] = False,
    data_dir: DataDir = None,
    store_url: StoreUrl = None,
    server: Server = None,
    token: Token = None,
) -> None:
    """Print a run's stored events; --follow tails a run live to its terminal, whichever process runs it.

    Without --follow, a run still running elsewhere prints the events committed so far. With
    --server, the events come from that server instead of the local store.
    """
    if server is not None:
        from ._remote_commands import remote_events

        remote_events(server, token, run_id, after, follow, json_lines)
        return
    with read_store(data_dir, store_url) as opened:
        store, _ = get_run(opened, run_id, data_dir, store_url)
        cursor = after
        try:
            while True:
                rec = store.get_run(run_id)  # before the read: if it ended, the read has its terminal
                page = store.read_events_raw(run_id, cursor, _PAGE)
                for raw in page:
                    if json_lines:
                        sys.stdout.buffer.write(raw.data + b"\n")
                    else:
                        sys.stdout.write(f"{raw.seq:>6} {raw.type:<16} {summary(parse_event(raw.data))}\n")
                sys.stdout.flush()
                if page:
                    cursor = page[-1].seq
                if len(page) == _PAGE:
                    continue
                if rec is None or rec.ended_at is not None or not follow:
                    break
                store.wait_for_change(run_id, cursor, None)  # the owner's notice; Ctrl-C stops
        except BrokenPipeError:  # `runwire events X --json | head`: the reader left
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return
        except KeyboardInterrupt:
            die(f"stopped following run {run_id} at seq {cursor}: rerun with --after {cursor}", 130)
        except StoreError as exc:
            die(str(exc))
        ended = store.get_run(run_id)
    if ended is not None and ended.ended_at is None:
        sys.stderr.write(
            f"runwire: run {run_id} is still running in another process; events so far: {ended.last_seq} "
            "(--follow reads it live)\n"
        )


def cancel(
    run_id: RunId,
    reason: Annotated[str, typer.Option("--reason", help="Why: recorded on run.cancelled.")] = "cancelled",
    timeout: Annotated[
        float, typer.Option("--timeout", min=0.0, help="Seconds to wait for the owner's confirmation.")
    ] = 10.0,
    data_dir: DataDir = None,
    store_url: StoreUrl = None,
    server: Server = None,
    token: Token = None,
) -> None:
    """Cancel a run, also one another process runs (its run.cancelled is stored when this returns)."""
    if server is not None:
        from ._remote_commands import remote_cancel

        remote_cancel(server, token, run_id)
        return
    with read_store(data_dir, store_url) as opened:
        store, rec = get_run(opened, run_id, data_dir, store_url)
        if rec.ended_at is not None:
            sys.stderr.write(f"run {run_id} already ended: {rec.state}\n")
            return
        try:
            store.request_cancel(run_id, reason, timeout)
        except (StoreError, RunTimeoutError) as exc:
            die(str(exc))
        ended = store.get_run(run_id)
    state = "gone" if ended is None else ended.state
    sys.stderr.write(f"run {run_id}: {state}\n")


def gc(
    older_than: Annotated[
        float | None, typer.Option("--older-than", min=0.0, help="Delete finished runs that ended more than DAYS ago.")
    ] = None,
    keep_last: Annotated[
        int | None, typer.Option("--keep-last", min=0, help="Keep only the N most recently ended finished runs.")
    ] = None,
    data_dir: DataDir = None,
    store_url: StoreUrl = None,
) -> None:
    """Delete finished runs and their events (runs in flight are never deleted)."""
    if older_than is None and keep_last is None:
        die("gc needs --older-than DAYS and/or --keep-last N", 2)
    with read_store(data_dir, store_url) as store:
        if store is None:
            deleted = 0
        else:
            deleted = store.gc(None if older_than is None else timedelta(days=older_than), keep_last)
    sys.stderr.write(f"deleted {deleted} finished run(s) from {where(data_dir, store_url)}\n")


def register(app: typer.Typer) -> None:
    for command in (runs, show, events, cancel, gc):
        app.command()(command)
