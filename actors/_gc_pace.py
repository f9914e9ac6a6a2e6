"""While many runs are in flight, the cyclic GC's full collections come 10x more rarely.

Why: a full collection walks every tracked object in the process, and an in-flight async run
is ~30 of them (coroutines, its task and context, the record and its primitives). CPython 3.11
starts one each time the old generation grew 25 % and ten young-generation collections passed,
so starting 100,000 runs made ~20 of them, each walking millions of objects: a third of the
start time, and the per-run start cost grew with the count (docs/profiles.md).

Scoped and reversible: only the third threshold (how many generation-1 collections between
full ones) changes, only while at least ``MANY`` runs of this process's systems are between
``start`` and their terminal, and it is put back once fewer than ``MANY // 2`` are (the gap
keeps it from flapping). Put back only if it is still the value set here: a host that changed
the thresholds meanwhile keeps its own. Nothing is frozen or disabled: young collections run
as before, and an explicit ``gc.collect()`` collects everything as always. The trade: cyclic
garbage that survives the young generations waits longer for its full collection.
"""

from __future__ import annotations

import gc
import threading

__all__ = ["FACTOR", "MANY", "GcPace", "PACE"]

MANY = 1_000  # in-flight runs from which full collections are made rarer
FACTOR = 10  # how much rarer


class GcPace:
    """Counts the process's in-flight runs; raises and restores the gen-2 GC threshold."""

    __slots__ = ("_lock", "_raised", "_saved", "in_flight")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.in_flight = 0
        self._saved: tuple[int, int, int] | None = None  # the host's thresholds, while raised
        self._raised: tuple[int, int, int] | None = None  # what was set here

    def started(self) -> None:
        with self._lock:
            self.in_flight += 1
            if self.in_flight == MANY and self._saved is None:
                self._raise()

    def ended(self) -> None:
        with self._lock:
            self.in_flight -= 1
            if self.in_flight < MANY // 2 and self._saved is not None:
                self._restore()

    def _raise(self) -> None:
        saved = gc.get_threshold()
        if saved[0] == 0:  # the host disabled automatic collection this way: nothing to pace
            return
        raised = (saved[0], saved[1], saved[2] * FACTOR)
        gc.set_threshold(*raised)
        self._saved, self._raised = saved, raised

    def _restore(self) -> None:
        if gc.get_threshold() == self._raised and self._saved is not None:
            gc.set_threshold(*self._saved)
        self._saved = self._raised = None


PACE = GcPace()  # one per process: the collector is the process's, whichever system starts runs
