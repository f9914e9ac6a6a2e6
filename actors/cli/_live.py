"""Follow a run in the terminal: a rich live view, or JSON lines; Ctrl-C cancels the run."""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Mapping
from types import FrameType
from typing import TYPE_CHECKING

from runwire.protocol import RunEvent, dump_event

if TYPE_CHECKING:
    from runwire.actors import RunHandle

__all__ = ["EXIT_CODES", "exit_code", "follow", "milestone_line"]

EXIT_CODES = {"run.completed": 0, "run.failed": 1, "run.cancelled": 130}
_TEXT_DONE = {"file_described": "described", "overview_written": "wrote"}  # milestone -> its streams are whole


def follow(handle: RunHandle, *, as_json: bool) -> RunEvent:
    """Stream the run's events to the terminal until its terminal event; return that event.

    Ctrl-C cancels the run and the stream goes on to its ``run.cancelled``, so the output holds
    every event up to the terminal (a KeyboardInterrupt could strike between writing an event and
    noting it, and lose or repeat it). A second Ctrl-C interrupts at once.
    """
    previous = signal.getsignal(signal.SIGINT)
    in_main = threading.current_thread() is threading.main_thread()

    def on_interrupt(signum: int, frame: FrameType | None) -> None:
        signal.signal(signal.SIGINT, previous)
        threading.Thread(target=handle.cancel, args=("interrupted (Ctrl-C)",), daemon=True).start()

    if in_main:
        signal.signal(signal.SIGINT, on_interrupt)
    try:
        return _follow_json(handle) if as_json else _follow_rich(handle)
    except BrokenPipeError:  # e.g. `runwire ... --json | head`: the reader left, stop the run
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return handle.cancel("stdout closed")
    except KeyboardInterrupt:  # the second Ctrl-C: stop reading, still say how the run ended
        terminal = handle.cancel("interrupted (Ctrl-C)")
        if as_json:
            sys.stdout.buffer.write(dump_event(terminal) + b"\n")
            sys.stdout.flush()
        else:
            _print_terminal(terminal)
        return terminal
    finally:
        if in_main:
            signal.signal(signal.SIGINT, previous)


def exit_code(terminal: RunEvent) -> int:
    """0 completed, 1 failed, 130 cancelled."""
    return EXIT_CODES.get(terminal.type, 1)


def _follow_json(handle: RunHandle) -> RunEvent:
    out = sys.stdout.buffer
    last: RunEvent | None = None
    for event in handle.events():
        out.write(dump_event(event) + b"\n")
        out.flush()
        last = event
    assert last is not None  # a run's stream always ends with its terminal
    return last


def _follow_rich(handle: RunHandle) -> RunEvent:
    from rich.console import Console, Group
    from rich.live import Live
    from rich.markup import escape
    from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn

    from ._streams import StreamingTexts

    console = Console(stderr=True, soft_wrap=True)  # one event, one line: never wrapped at the width
    progress = Progress(
        TextColumn("[bold]{task.fields[phase]}"),
        BarColumn(),
        TaskProgressColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.description}"),
        console=console,
    )
    task = progress.add_task("starting", total=1.0, phase=handle.pipeline)
    streams = StreamingTexts()  # one line per text being written (concurrent LM calls interleave)
    last: RunEvent | None = None
    counts = {"events": 0, "deltas": 0}
    with Live(Group(progress, streams), console=console, refresh_per_second=10, transient=False) as live:
        for event in handle.events():
            last = event
            counts["events"] += 1
            if event.type == "run.progress":
                if event.fraction is not None:
                    progress.update(task, completed=event.fraction)
                if event.message:
                    progress.update(task, description=event.message)
            elif event.type == "run.milestone" and event.name in _TEXT_DONE:
                for label, text in streams.close(str(event.data.get("artifact_id"))):
                    line = " ".join(text.split())
                    live.console.print(f"[green]{_TEXT_DONE[event.name]}[/] [bold]{escape(label)}[/]: {escape(line)}")
            elif event.type == "run.milestone":
                progress.update(task, phase=event.name)
                live.console.print(f"[cyan]milestone[/] {escape(event.name)} {escape(milestone_line(event.data))}")
            elif event.type == "run.log":
                live.console.print(f"[dim]{event.level}[/] {escape(' '.join(event.message.split()))}")
            elif event.type == "text.delta":
                counts["deltas"] += 1
                streams.add(event)
            elif event.type == "artifact":
                where = event.path or event.artifact_id
                live.console.print(f"[green]artifact[/] {where} ({event.size} bytes)")
        leftover = streams.close_all()  # the last frame shows no half-written line
    if not console.is_terminal:
        console.line()  # the last frame of a non-terminal ends without a newline
    for label, text in leftover:
        console.print(f"[bold]{escape(label)}[/]: {escape(text)}")
    console.print(f"[dim]{counts['events']} events, {counts['deltas']} text deltas[/]")
    assert last is not None
    _print_terminal(last, console)
    return last


def milestone_line(data: Mapping[str, object]) -> str:
    """Milestone data as one readable line, whole: ``files=12 skipped=(binary 2, secret 1) paths=a, b``."""
    return " ".join(f"{key}={_value(value)}" for key, value in data.items())


def _value(value: object) -> str:
    if isinstance(value, Mapping):
        return "(" + ", ".join(f"{key} {_value(item)}" for key, item in value.items()) + ")"
    if isinstance(value, list | tuple):
        return ", ".join(_value(item) for item in value) if value else "none"
    if isinstance(value, bool) or value is None:
        return str(value).lower() if value is not None else "null"
    if isinstance(value, int):
        return f"{value:,}"
    return " ".join(str(value).split())


def _short(data: object) -> str:
    text = str(data)
    return text if len(text) <= 100 else text[:97] + "..."


def _print_terminal(terminal: RunEvent, console: object | None = None) -> None:
    from rich.console import Console
    from rich.markup import escape

    con = console if isinstance(console, Console) else Console(stderr=True, soft_wrap=True)
    if terminal.type == "run.completed":
        con.print(f"[bold green]completed[/] run {terminal.run_id}: {_short(terminal.result)}")
    elif terminal.type == "run.failed":
        message = escape(" ".join(terminal.message.split()))
        con.print(f"[bold red]failed[/] run {terminal.run_id}: {terminal.error_type}: {message}")
    elif terminal.type == "run.cancelled":
        con.print(f"[bold yellow]cancelled[/] run {terminal.run_id}: {terminal.reason}")
