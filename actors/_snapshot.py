"""Snapshots of runs for ``get`` and ``runs``: what the shard's three actors know, as a RunInfo.

One run costs three asks (one per actor, in parallel). Many runs cost one batched ask
(``InfoBatch``) per shard actor, however many runs: listing 10,000 runs must not make 30,000
round trips, and a run that expires between the listing and the answer is simply left out.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pykka

from ._bus import BusRunInfo
from ._completion import CompletionRunInfo
from ._errors import RunExpiredError, RunTimeoutError, RunwireError
from ._info import RunInfo
from ._live_run import LiveRun
from ._messages import InfoBatch, InfoRequest
from ._run_actor import RunActorInfo

__all__ = ["snapshot", "snapshots"]

Refs = tuple[pykka.ActorRef[Any], pykka.ActorRef[Any], pykka.ActorRef[Any]]  # completion, bus, run actor


def snapshot(record: LiveRun, refs: Refs, timeout: float) -> RunInfo:
    """One run's RunInfo; ``RunExpiredError`` if its state was freed meanwhile."""
    question = InfoRequest(record.run_id)
    futures = [ref.ask(question, block=False) for ref in refs]
    comp, bus, run_actor = _gather(record.shard, futures, timeout, f"about run {record.run_id} ")
    if not isinstance(comp, CompletionRunInfo) or not isinstance(bus, BusRunInfo):
        raise RunExpiredError(record.run_id)
    return _run_info(record, comp, bus, run_actor if isinstance(run_actor, RunActorInfo) else None)


def snapshots(records: Sequence[LiveRun], shards: Sequence[Refs], timeout: float) -> list[RunInfo]:
    """RunInfos of ``records`` in their order, runs that expired meanwhile left out."""
    by_shard: dict[int, list[LiveRun]] = {}
    for record in records:
        by_shard.setdefault(record.shard, []).append(record)
    asked = []
    for index, group in by_shard.items():  # every question out first: the shards answer in parallel
        question = InfoBatch(tuple(r.run_id for r in group))
        asked.append((index, [ref.ask(question, block=False) for ref in shards[index]]))
    answers: dict[str, tuple[Any, Any, Any]] = {}
    for index, futures in asked:
        comp, bus, run_actor = (m if isinstance(m, dict) else {} for m in _gather(index, futures, timeout))
        for rid, c in comp.items():
            answers[rid] = (c, bus.get(rid), run_actor.get(rid))
    infos = []
    for record in records:
        comp, bus, run_actor = answers.get(record.run_id, (None, None, None))
        if isinstance(comp, CompletionRunInfo) and isinstance(bus, BusRunInfo):
            infos.append(_run_info(record, comp, bus, run_actor if isinstance(run_actor, RunActorInfo) else None))
    return infos


def _gather(shard: int, futures: list[pykka.Future[Any]], timeout: float, about: str = "") -> list[Any]:
    try:
        return [f.get(timeout=timeout) for f in futures]
    except pykka.Timeout:
        raise RunTimeoutError(f"the runtime did not answer {about}in time (shard {shard})") from None
    except pykka.ActorDeadError as exc:
        raise RunwireError(f"runtime shard {shard} is down: {exc}") from None


def _run_info(record: LiveRun, comp: CompletionRunInfo, bus: BusRunInfo, run_actor: RunActorInfo | None) -> RunInfo:
    # The terminal as the *log* has it (the bus fills the slot after appending it), read after
    # the bus answered: a terminal the CompletionActor decided but the bus has not logged yet
    # must not show up next to a last_seq that does not include it.
    terminal = record.terminal.result() if record.terminal.done() else None
    return RunInfo(
        run_id=record.run_id,
        pipeline=record.pipeline_name,
        state=comp.state,
        created_at=record.created_at,
        parent_run_id=record.parent_run_id,
        step=record.step,
        terminal=terminal,
        last_seq=max(bus.last_seq, terminal.seq) if terminal is not None else bus.last_seq,
        retained_from=bus.retained_from,
        retained_bytes=bus.retained_bytes,
        subscribers=bus.subscribers,
        late_events_dropped=bus.late_events_dropped,
        discarded_signals=comp.discarded_signals,
        finish_reason=comp.finish_reason,
        worker_active=run_actor is not None and run_actor.worker_active,
        worker_abandoned=run_actor is not None and run_actor.worker_abandoned,
    )
