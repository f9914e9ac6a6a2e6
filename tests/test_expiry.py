"""Finished runs expire in terminal order through one queue: every one, once, after its retention,
more than a timer callback's batch included."""

from __future__ import annotations

import threading
import time

from runwire.actors._expiry import ExpiryQueue
from runwire.actors._timer import Timer


def test_every_run_expires_once_in_order_after_its_retention() -> None:
    timer = Timer()
    expired: list[tuple[str, float]] = []
    done, late = threading.Event(), threading.Event()
    count = 2_500  # more than one batch of the timer callback

    def expire(run_id: str) -> None:
        if run_id == "later":
            late.set()
            return
        expired.append((run_id, time.monotonic()))
        if len(expired) == count:
            done.set()

    try:
        queue = ExpiryQueue(timer, 0.05, expire)
        added = {}
        for i in range(count):
            added[f"run-{i}"] = time.monotonic()
            queue.add(f"run-{i}")
        assert done.wait(30)
        assert [rid for rid, _ in expired] == list(added)
        assert all(at - added[rid] >= 0.05 for rid, at in expired)
        # the queue re-arms once drained: a later run expires too
        queue.add("later")
        assert late.wait(10)
    finally:
        timer.stop()
