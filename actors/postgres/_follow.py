"""Following and cancelling a run another process owns: waits woken by NOTIFY, never polling."""

from __future__ import annotations

import json
import time
from collections.abc import Callable

from runwire.actors import RunTimeoutError, UnknownRunError
from runwire.actors.store import StoreError

from ._listen import Listener
from ._reads import Readers

__all__ = ["request_cancel", "wait_for_change"]


def wait_for_change(listener: Listener, readers: Readers, run_id: str, after_seq: int, timeout: float | None) -> bool:
    """True once ``run_id`` has a committed event past ``after_seq``, has ended or is unknown;
    False when ``timeout`` passed. Registers before each re-read, so no notice falls between."""
    if after_seq < 0:
        raise ValueError(f"after_seq must be >= 0, not {after_seq!r}")
    if timeout is not None and timeout < 0:
        raise ValueError(f"timeout must be >= 0 seconds or None, not {timeout!r}")
    deadline = None if timeout is None else time.monotonic() + timeout
    woke = listener.watch(run_id)
    try:
        while True:
            woke.clear()
            rec = readers.get_run(run_id)
            if rec is None or rec.ended_at is not None or rec.last_seq > after_seq:
                return True
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                return False
            woke.wait(left)
    finally:
        listener.unwatch(run_id, woke)


def request_cancel(
    listener: Listener,
    readers: Readers,
    recover: Callable[[float], object],
    run_id: str,
    reason: str,
    timeout: float,
) -> None:
    """NOTIFY the owner's cancel channel, then wait for the run's terminal to be committed."""
    if isinstance(timeout, bool) or not isinstance(timeout, int | float):
        raise TypeError(f"timeout must be a number of seconds, not {timeout!r}")
    if not timeout > 0:
        raise ValueError(f"timeout must be > 0 seconds, not {timeout!r}")
    deadline = time.monotonic() + timeout
    woke = listener.watch(run_id)
    try:
        rec = readers.get_run(run_id)
        if rec is None:
            raise UnknownRunError(run_id)
        if rec.ended_at is not None:
            return
        owner, pid, host, leased = readers.owner_of(run_id)
        if owner is None or not leased:  # no live lease: close it (and the dead owner's other runs)
            recover(max(deadline - time.monotonic(), 0.1))
            return
        notice = json.dumps({"run_id": run_id, "reason": reason, "owner": owner, "from": listener.token})
        readers.query("sending a cancel", "SELECT pg_notify(%s, %s)", (listener.cancel_channel, notice))
        while True:
            woke.clear()
            rec = readers.get_run(run_id)
            if rec is None or rec.ended_at is not None:
                return
            why = listener.refusal(run_id)
            if why is not None:
                rec = readers.get_run(run_id)  # the owner committed what it had before refusing
                if rec is None or rec.ended_at is not None:
                    return  # it ended there meanwhile (e.g. as its system closed): that is the answer
                raise StoreError(f"cannot cancel run {run_id}: owner pid {pid} on {host} {why}", readers.target.shown)
            left = deadline - time.monotonic()
            if left <= 0:
                raise RunTimeoutError(
                    f"run {run_id}: its owner pid {pid} on {host} (owner token {owner}) did not confirm the cancel "
                    f"within {timeout} s [{readers.target.shown}]"
                )
            woke.wait(left)
    finally:
        listener.unwatch(run_id, woke)
