"""While many runs are in flight, the cyclic GC's full collections come rarer, in proportion.

Why: a full collection walks every tracked object in the process, and an in-flight async run
is ~30 of them (coroutines, its task and context, the record and its primitives). CPython 3.11
starts one every ten generation-1 collections once the old generation grew 25 %, so starting
100,000 runs made ~17-20 of them, each walking millions of objects: a third of the start time,
and the per-run start cost grew with the count (docs/profiles.md). With the third threshold
multiplied by (in-flight runs // ``STEP``), a full collection's interval grows with what it
walks, so its cost per run stays flat.

Scoped and reversible: only the third threshold (generation-1 collections between full ones)
changes, only while at least ``2 * STEP`` runs of this process's systems are between ``start``
and their terminal; it is recomputed at each multiple of ``STEP`` and put back below. It is
never put back over a value the host set meanwhile (that one becomes the base scaled from, if
many runs stay in flight). Nothing is frozen or disabled: young collections run as before and an explicit
``gc.collect()`` collects everything. The trade: cyclic garbage that outlives the young
generations waits longer (up to 100x at 100,000 runs in flight) for its full collection.
"""

from __future__ import annotations

import gc
import threading

__all__ = ["PACE", "STEP", "GcPace"]

STEP = 1_000  # in-flight runs per multiple of the host's third threshold


class GcPace:
    """Counts the process's in-flight runs; scales and restores the third GC threshold."""

    __slots__ = ("_lock", "_saved", "_set", "in_flight")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.in_flight = 0
        self._saved: tuple[int, int, int] | None = None  # the host's thresholds, while paced
        self._set: tuple[int, int, int] | None = None  # what was set here

    def started(self) -> None:
        with self._lock:
            self.in_flight += 1
            if self.in_flight % STEP == 0:
                self._pace()

    def ended(self) -> None:
        with self._lock:
            self.in_flight -= 1
            if self.in_flight % STEP == 0:
                self._pace()

    def _pace(self) -> None:
        factor = self.in_flight // STEP
        current = gc.get_threshold()
        if self._saved is not None and current != self._set:  # the host set its own: keep it
            self._saved = self._set = None
        if self._saved is None:
            if factor < 2 or current[0] == 0:  # few runs, or automatic collection is off
                return
            self._saved = current
        saved = self._saved
        if factor < 2:
            gc.set_threshold(*saved)
            self._saved = self._set = None
            return
        self._set = (saved[0], saved[1], saved[2] * factor)
        gc.set_threshold(*self._set)


PACE = GcPace()  # one per process: the collector is the process's, whichever system starts runs
