"""What the three shard actors share: message dispatch that contains a bug to the run it concerns.

An exception escaping ``on_receive`` of a ``tell``-ed message would stop a pykka actor, and with
it every run of its shard. Each shard actor instead catches it, logs it, and fails only the run
the message was about (``_fault``), so that run still gets its one terminal. An actor that
dies anyway (``on_failure``) first gives every run it still holds its terminal (``_crashed``).

What every shard actor answers alike is handled here, in ``_shared``: the info asks
(``InfoRequest``, ``InfoBatch``: each actor's ``_info`` of a run) and the debug seam, ``Pause``
(hold this actor) and ``Fault`` (raise inside it). Each actor's ``_handle`` reaches it only after
its own cases, so none of it costs the messages of a run anything; tests/helpers.py builds on it.

A ``Box`` is a shard actor's second mailbox, for the messages every run sends once on its way in
and out (Open, Admit, Subscribe, Start, Started, run.started, WorkerDone, its outcome, its
terminal): many of them for one pykka ``tell`` when runs start or end close together
(docs/profiles.md, session 8). Its order (see ``Box``): FIFO among what goes through the box,
and before anything told to the actor after the put; but a put may pass a plain ``tell`` sent
before it. Each message sent through a box is one whose handling is the same if it passes the
direct tells that can be ahead of it (a Drain: the terminal seals the outbox with what is
pending; a Resume, an Unsubscribe, a cancel's RunEnded or Deadline: they find the run ended or
unknown and do nothing, as when they lose the race with it); what must stay behind
another message goes through the same box (a store's Subscribe: before run.started).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from types import TracebackType
from typing import Any, ClassVar

import pykka

from ._messages import Fault, InfoBatch, InfoRequest, Pause, Signal

__all__ = ["Box", "Shard", "ShardActor", "internal_failure", "run_id_of", "tell_quietly"]

_log = logging.getLogger("runwire.shard")


class Box:
    """Messages for one actor, handed over many per ``tell`` of one bell (``Batch``).

    ``put`` appends under a lock and tells the bell only if none is in the actor's mailbox yet;
    the actor's ``take`` empties the box and clears that flag under the same lock. So a message
    put here is in the box when a bell still ahead of anything told later is handled (the bell
    is told under the lock, so no other thread's later tell can pass it). Not the other way:
    while a bell waits in the mailbox, a put joins it and so passes the tells queued behind that
    bell. A dead actor raises ``ActorDeadError`` on ``put``, as on ``tell``.
    """

    __slots__ = ("_bell", "_items", "_lock", "_queued", "_stopped", "ref")
    ref: pykka.ActorRef[Any]  # set by ``bind`` once the actor is started, before any put
    _stopped: Callable[[], bool]  # the actor's ``actor_stopped.is_set``: ``not ref.is_alive()``, one call

    def __init__(self) -> None:
        self._items: list[Any] = []
        self._lock = threading.Lock()
        self._queued = False
        self._bell = Batch(self)  # the one bell message this box sends, made once

    def put(self, message: Any) -> None:
        with self._lock:
            if self._queued:
                if not self._stopped():
                    self._items.append(message)
                    return
                raise pykka.ActorDeadError(f"{self.ref} not found")
            self.ref.tell(self._bell)  # raises for a dead actor, before anything is kept
            self._items.append(message)
            self._queued = True

    def bind(self, ref: pykka.ActorRef[Any]) -> pykka.ActorRef[Any]:
        self.ref = ref
        self._stopped = ref.actor_stopped.is_set  # what ``ref.is_alive()`` reads, bound once
        return ref

    def put_quietly(self, message: Any) -> None:
        """``put`` that ignores a stopped actor, as ``tell_quietly``."""
        try:
            self.put(message)
        except pykka.ActorDeadError:
            _log.debug("actor %s is gone; dropped %s", self.ref, type(message).__name__)

    def take(self) -> list[Any]:
        with self._lock:
            items, self._items = self._items, []
            self._queued = False
        return items


class Batch:
    """The bell of a ``Box``: handle what is in it now, each message as if told on its own."""

    __slots__ = ("box",)

    def __init__(self, box: Box) -> None:
        self.box = box


class Shard:
    """One shard's three actors, as the system holds them, and their boxes."""

    __slots__ = (
        "bus",
        "bus_box",
        "bus_put",
        "bus_tell",
        "completion",
        "completion_box",
        "completion_tell",
        "index",
        "run_actor",
        "run_box",
    )

    def __init__(
        self,
        index: int,
        bus: pykka.ActorRef[Any],
        completion: pykka.ActorRef[Any],
        run_actor: pykka.ActorRef[Any],
        boxes: tuple[Box, Box, Box],
    ):
        self.index = index
        self.bus = bus
        self.completion = completion
        self.run_actor = run_actor
        self.bus_box, self.completion_box, self.run_box = boxes
        # one bound method per shard, shared by its runs: not one (GC-tracked) per run
        self.bus_tell = bus.tell
        self.bus_put = self.bus_box.put
        self.completion_tell = completion.tell


def run_id_of(message: Any) -> str | None:
    """The run a message is about (``run_id``, or its ``record``'s), if any."""
    run_id = getattr(message, "run_id", None) or getattr(getattr(message, "record", None), "run_id", None)
    return run_id if isinstance(run_id, str) and run_id else None


def tell_quietly(ref: pykka.ActorRef[Any], message: object) -> None:
    """``tell`` that ignores a stopped actor: a late message to a shard or a loop that is gone."""
    try:
        ref.tell(message)
    except pykka.ActorDeadError:
        _log.debug("actor %s is gone; dropped %s", ref, type(message).__name__)


def internal_failure(run_id: str, where: str, exc: BaseException | None) -> Signal:
    """The ``fail`` signal for a bug inside the runtime itself."""
    return Signal(run_id, "fail", error_type="InternalError", message=f"{where} fault: {type(exc).__name__}: {exc}")


class ShardActor(pykka.ThreadingActor):
    use_daemon_thread = True
    role: ClassVar[str]  # what this actor is to a run, in failure messages: "bus", "completion", ...
    shard: int

    def on_receive(self, message: Any) -> Any:
        if type(message) is Batch:
            for item in message.box.take():
                # one message's failure stays that message's; not the subclass's on_receive: a
                # bus's held wake-ups are released once, after the whole batch
                ShardActor.on_receive(self, item)
            return None
        try:
            return self._handle(message)
        except Exception as exc:
            if isinstance(message, Fault) and message.escape:
                raise  # fault injection: let it kill the actor (tests on_failure)
            _log.exception("%s shard %d failed handling %s", type(self).__name__, self.shard, type(message).__name__)
            run_id = run_id_of(message)
            if run_id is not None:
                self._fault(run_id, exc)
            return None

    def _handle(self, message: Any) -> Any:
        raise NotImplementedError

    def _shared(self, message: Any) -> Any:
        """Where each ``_handle`` sends a message none of its cases matched: info asks, the debug seam."""
        match message:
            case InfoRequest(run_id):
                return self._info(run_id)
            case InfoBatch(run_ids):
                return {rid: info for rid in run_ids if (info := self._info(rid)) is not None}
            case Pause(release, timeout, held):
                if held is not None:
                    held.set()
                release.wait(timeout)
            case Fault(run_id):
                raise RuntimeError(f"injected {self.role} fault while handling run {run_id}")
            case _:
                raise TypeError(f"{type(self).__name__} got an unknown message: {message!r}")
        return None

    def _info(self, run_id: str) -> Any:
        """This actor's view of ``run_id`` (its ``*RunInfo``), or None if it does not know the run."""
        raise NotImplementedError

    def _fault(self, run_id: str, exc: Exception) -> None:
        """Fail ``run_id``: handling a message about it raised ``exc``."""
        raise NotImplementedError

    def on_failure(
        self,
        exception_type: type[BaseException] | None,
        exception_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """This shard is dying: every run it still holds gets its terminal before it goes."""
        where = f"{self.role} shard {self.shard}"
        for run_id in list(self._open_runs()):
            self._crashed(internal_failure(run_id, where, exception_value))

    def _open_runs(self) -> Iterable[str]:
        """The runs this shard holds that have no terminal yet."""
        raise NotImplementedError

    def _crashed(self, failure: Signal) -> None:
        """See that ``failure`` becomes its run's terminal without this (dying) actor."""
        raise NotImplementedError
