"""Typed messages the actors exchange (never dicts): one small frozen class per intent."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from pydantic import JsonValue

from runwire.protocol import RunEvent

if TYPE_CHECKING:
    from ._live_run import LiveRun
    from ._subscription import Sink

__all__ = [
    "Admit",
    "Close",
    "Deadline",
    "Drain",
    "Fault",
    "InfoBatch",
    "InfoRequest",
    "Open",
    "Pause",
    "Publish",
    "PublishTerminal",
    "Resume",
    "RunEnded",
    "Settle",
    "Signal",
    "SignalKind",
    "Start",
    "Started",
    "Subscribe",
    "Unsubscribe",
    "WorkerDone",
]

SignalKind = Literal["complete", "fail", "cancel", "provider_finish"]


# --- to the BusActor -------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Open:
    """Create the run's log (sent by the system before anything else about the run)."""

    record: LiveRun


@dataclass(frozen=True, slots=True)
class Drain:
    """The run's outbox has events: take them all, sequence and fan out."""

    record: LiveRun


@dataclass(frozen=True, slots=True)
class Publish:
    """A lifecycle event from the CompletionActor (run.started)."""

    run_id: str
    event: RunEvent


@dataclass(frozen=True, slots=True)
class PublishTerminal:
    """The one terminal event of a run, decided by the CompletionActor."""

    run_id: str
    event: RunEvent


@dataclass(frozen=True, slots=True)
class Subscribe:
    """Replay the log after ``after_seq`` to ``sink``, then keep it on the live tail."""

    run_id: str
    sink: Sink
    after_seq: int


@dataclass(frozen=True, slots=True)
class Unsubscribe:
    run_id: str
    sink: Sink


@dataclass(frozen=True, slots=True)
class Resume:
    """A ``block`` subscriber caught up: the bus may drain the run's outbox again."""

    run_id: str
    sink: Sink


@dataclass(frozen=True, slots=True)
class Close:
    """Forget the run (retention expired): free its log and subscriptions."""

    run_id: str


# --- to the CompletionActor ------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Admit:
    """A new run exists, PENDING."""

    record: LiveRun


@dataclass(frozen=True, slots=True)
class Started:
    """The RunActor is handing the run to a worker: PENDING -> RUNNING."""

    run_id: str


@dataclass(frozen=True, slots=True)
class Signal:
    """An outcome signal: what a run's CompletionActor receives about how the run ends (the one
    meaning of "signal" in the core; ``RunInfo.discarded_signals`` counts the ones that lost).
    Precedence: cancel > fail > complete > provider_finish."""

    run_id: str
    kind: SignalKind
    result: JsonValue = None
    error_type: str = ""
    message: str = ""
    traceback: str | None = None
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Settle:
    """Sent by the CompletionActor to itself: decide, for each run whose candidate was handled
    before this was sent, between the signals that arrived so far (one message for many runs)."""


# --- to the RunActor -------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Start:
    record: LiveRun


@dataclass(frozen=True, slots=True)
class WorkerDone:
    """The worker finished the pipeline (or stopped on cancellation)."""

    run_id: str
    signal: Signal | None


@dataclass(frozen=True, slots=True)
class RunEnded:
    """The run's terminal was decided as ``run.cancelled``: stop its worker if it still runs (a
    completed or failed run's worker is done or ends by itself, so those are not sent)."""

    run_id: str
    kind: str


@dataclass(frozen=True, slots=True)
class Deadline:
    """Sent by the timer: the cancelled run's worker had its grace period."""

    run_id: str


# --- any shard actor -------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class InfoRequest:
    """Asked from outside (with a timeout): this actor's view of one run."""

    run_id: str


# --- the debug seam (tests, diagnosis): every shard actor handles these in ShardActor._shared --
@dataclass(frozen=True, slots=True)
class InfoBatch:
    """Asked from outside: this actor's view of several runs at once, ``{run_id: info}``; runs it
    does not know (expired meanwhile) are left out. One ask per shard lists any number of runs."""

    run_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Pause:
    """Hold this actor until ``release`` is set, so messages queue up behind it.

    Lets tests put racing messages in one mailbox deterministically. Bounded by ``timeout``;
    ``held`` is set once the actor is held (messages sent after that queue up behind it). Every
    shard actor handles it, and so does any integration actor that offers the debug seam (the
    ODA StepRunnerActor): ``runwire.actors.ext.Pause``.
    """

    release: threading.Event
    timeout: float = 10.0
    held: threading.Event | None = None


@dataclass(frozen=True, slots=True)
class Fault:
    """Raise inside the actor while handling ``run_id`` (fault injection); ``escape``: let the
    exception stop the actor (its ``on_failure`` then ends every run it holds)."""

    run_id: str
    escape: bool = False
