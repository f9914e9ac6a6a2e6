"""What the three shard actors share: message dispatch that contains a bug to the run it concerns.

An exception escaping ``on_receive`` of a ``tell``-ed message would stop a pykka actor, and with
it every run of its shard. Each shard actor instead catches it, logs it, and fails only the run
the message was about (``_fault``), so that run still gets its one terminal.
"""

from __future__ import annotations

import logging
from typing import Any

import pykka

from ._messages import Fault, Signal

__all__ = ["ShardActor", "internal_failure", "run_id_of"]

_log = logging.getLogger("runwire.shard")


def run_id_of(message: Any) -> str | None:
    """The run a message is about (``run_id``, or its ``record``'s), if any."""
    run_id = getattr(message, "run_id", None) or getattr(getattr(message, "record", None), "run_id", None)
    return run_id if isinstance(run_id, str) and run_id else None


def internal_failure(run_id: str, where: str, exc: BaseException) -> Signal:
    """The ``fail`` signal for a bug inside the runtime itself."""
    return Signal(run_id, "fail", error_type="InternalError", message=f"{where} fault: {type(exc).__name__}: {exc}")


class ShardActor(pykka.ThreadingActor):
    use_daemon_thread = True
    shard: int

    def on_receive(self, message: Any) -> Any:
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

    def _fault(self, run_id: str, exc: Exception) -> None:
        """Fail ``run_id``: handling a message about it raised ``exc``."""
        raise NotImplementedError
