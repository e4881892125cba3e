"""Where a solve spends its time: seconds per named phase, summed over calls.

The solvers take an optional :class:`PhaseTimes` and add to it ``network`` (energy evaluations,
forward and backward) and ``subproblem`` (the bundle's dual); callers add their own phases.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager


class PhaseTimes:
    """Seconds spent per phase name, accumulated until :meth:`pop`."""

    def __init__(self) -> None:
        self.seconds: defaultdict[str, float] = defaultdict(float)

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] += time.perf_counter() - start

    def pop(self) -> dict[str, float]:
        """The totals so far, and start again from zero."""
        totals = dict(self.seconds)
        self.seconds.clear()
        return totals


@contextmanager
def timed(times: PhaseTimes | None, name: str) -> Iterator[None]:
    """``times.phase(name)``, or nothing when ``times`` is None."""
    if times is None:
        yield
    else:
        with times.phase(name):
            yield
