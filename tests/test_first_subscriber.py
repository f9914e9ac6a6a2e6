"""A process's first async subscriber imports nothing on its way to the bus.

Why: anyio imports its backends and its synchronisation module lazily, on first use. A first
subscriber that paid those imports while a run flooded waited for the GIL at every import step:
its subscription reached the bus ~2 s late, after the run's first 155,000 events had left the
retained window (found by benchmarks/concurrency.py). The check runs in a fresh interpreter, so
no other test has imported the modules already.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent(
    """
    import asyncio, json, sys
    from runwire.actors import RunSystem

    def pipeline(ctx):
        for _ in range(1000):
            ctx.delta("answer", "x")

    async def main(system):
        handle = system.start(pipeline)
        before = set(sys.modules)
        count = 0
        async for _event in handle.events():
            count += 1
        print(json.dumps({"events": count, "imported": sorted(set(sys.modules) - before)}))

    with RunSystem() as system:
        asyncio.run(main(system))
    """
)


def test_first_async_subscriber_on_asyncio_imports_nothing() -> None:
    done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=60, check=True)
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["events"] == 1002  # run.started, every delta, run.completed
    assert seen["imported"] == []
