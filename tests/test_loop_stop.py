"""Stopping the async loop leaves nothing behind on the user's stderr, whatever the timeout."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

SCRIPT = textwrap.dedent(
    """
    import asyncio, gc, sys
    from runwire.actors import RunSystem
    from runwire.actors.ext import Job, LocalExecutor

    db = sys.argv[1]
    for _ in range(30):
        try:
            RunSystem(store=db)  # a corrupt file: the constructor closes its executor with timeout 0
        except Exception:
            pass
    for _ in range(30):
        ex = LocalExecutor(1)
        async def forever():
            await asyncio.Event().wait()
        ex.start(Job(run_id="r", is_async=True, call=forever))
        ex.close(5)  # the task ends at its cancel: close returns once the loop closed
    gc.collect()
    print("done")
    """
)


def test_a_failed_start_and_a_close_with_a_live_task_print_nothing(tmp_path: Path) -> None:
    db = tmp_path / "runs.sqlite3"
    db.write_bytes(b"this is not a database, " * 200)
    out = subprocess.run(
        [sys.executable, "-X", "dev", "-c", SCRIPT, str(db)], capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "done"
    assert "never awaited" not in out.stderr and "destroyed but it is pending" not in out.stderr, out.stderr
