"""Child process for the PostgreSQL cross-process tests (run as a script, never collected).

``crash <url>``: a RunSystem on the store at ``<url>`` runs one pipeline that logs forever;
the first line is ``run <run_id>``, then ``ack <seq>`` after each commit of its events (every
event up to seq is committed). The test SIGKILLs (or SIGSTOPs) it mid-run.
``hold <url>``: one run that logs a line per ``emit`` read on stdin and otherwise waits; it
prints ``run <run_id>`` once its first events are committed, ``emitted <seq>`` after each
line is committed, and exits once the run ended (cancelled from another process).
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Mapping

from runwire.actors import RunContext, RunSystem


def _printer(run_id: str) -> object:
    lock = threading.Lock()

    def acked(acks: Mapping[str, int]) -> None:  # on the store's writer thread
        seq = acks.get(run_id)
        if seq is not None:
            with lock:
                print(f"ack {seq}", flush=True)

    return acked


def crash_mode(url: str) -> None:
    def chatter(ctx: RunContext) -> None:
        i = 0
        while True:
            i += 1
            ctx.log(f"line {i}")

    system = RunSystem(store=url)
    run_id = "crash-run"
    system.store.add_commit_listener(_printer(run_id))
    print(f"run {run_id}", flush=True)
    system.start(chatter, {"kind": "crash"}, run_id=run_id, name="chatter").wait()


def hold_mode(url: str) -> None:
    lines: list[str] = []
    more = threading.Condition()
    ended = threading.Event()

    def held(ctx: RunContext) -> None:
        ctx.milestone("holding")
        done = 0
        while not ended.is_set():
            with more:
                more.wait_for(lambda seen=done: len(lines) > seen or ended.is_set(), 60)  # type: ignore[misc]
            while done < len(lines):
                ctx.log(lines[done])
                done += 1

    with RunSystem(store=url, cancel_deadline=2.0) as system:
        store = system.store  # its binding serves other processes' cancels (StoreBinding.bind)
        handle = system.start(held, name="held")
        handle.on_terminal(lambda terminal: (ended.set(), _notify(more)))
        for event in handle.events():
            if event.type == "run.milestone":
                break
        store.flush(30)
        print(f"run {handle.run_id}", flush=True)
        reader = threading.Thread(target=_read_stdin, args=(lines, more, ended), daemon=True)
        reader.start()
        terminal = handle.wait(120)
        store.flush(30)
        print(f"ended {terminal.type}", flush=True)


def _notify(cond: threading.Condition) -> None:
    with cond:
        cond.notify_all()


def _read_stdin(lines: list[str], more: threading.Condition, ended: threading.Event) -> None:
    for line in sys.stdin:
        with more:
            lines.append(line.strip())
            more.notify_all()
        if ended.is_set():
            return


if __name__ == "__main__":
    mode, url = sys.argv[1:3]
    crash_mode(url) if mode == "crash" else hold_mode(url)
