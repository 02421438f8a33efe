"""The time budget of one check: a single object from :func:`injcheck.check` down to
every search loop and solver call.

A :class:`Budget` is a wall-clock deadline (``time.perf_counter()``) or none, and
optionally a node limit for the exact one-layer search trees: the deadline depends on the
machine and its load, the node limit does not (a sweep that must store the same verdict
on any machine sets one that binds before the deadline). Work that
should leave time for later stages takes a :meth:`Budget.share` of what remains, which
is again a Budget; loops ask :meth:`Budget.expired`, solvers get
:meth:`Budget.solver_seconds`. Nothing converts it back and forth between seconds,
deadlines and fractions on the way down.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

#: Solvers are never handed less than this many seconds (HiGHS rejects 0).
MIN_SOLVER_SECONDS = 1e-3
#: The largest node limit (the compiled core counts nodes in a signed 64-bit integer).
MAX_NODES = 2**62
#: One-layer methods whose searches count no nodes, so a node limit cannot bound them.
NODELESS_METHODS = ("milp", "brute", "heuristic")


@dataclass(frozen=True)
class Budget:
    """A wall-clock deadline, or no limit, and an optional node limit.

    Attributes
    ----------
    deadline : float or None
        ``time.perf_counter()`` value after which work should stop.
    start : float
        When the budget (or the share it was cut from) began.
    nodes : int or None
        The most nodes each exact search tree (the decision, each P* search) may visit;
        None for no limit. Shares keep it: it is not divided like time.
    """

    deadline: float | None
    start: float = field(default_factory=time.perf_counter)
    nodes: int | None = None

    @classmethod
    def seconds(cls, time_limit: float | None, nodes: int | None = None) -> Budget:
        """A budget of ``time_limit`` seconds from now (None: unlimited), ``nodes`` per tree."""
        now = time.perf_counter()
        return cls(None if time_limit is None else now + float(time_limit), now, nodes)

    @classmethod
    def unlimited(cls) -> Budget:
        return cls(None)

    def remaining(self) -> float | None:
        """Seconds left (never negative), None when unlimited."""
        if self.deadline is None:
            return None
        return max(self.deadline - time.perf_counter(), 0.0)

    def expired(self) -> bool:
        return self.deadline is not None and time.perf_counter() > self.deadline

    def elapsed(self) -> float:
        return time.perf_counter() - self.start

    def share(self, fraction: float) -> Budget:
        """A budget that ends after ``fraction`` of the time now remaining."""
        remaining = self.remaining()
        if remaining is None:
            return Budget(None, nodes=self.nodes)
        return Budget(time.perf_counter() + fraction * remaining, nodes=self.nodes)

    def solver_seconds(self) -> float | None:
        """The ``time_limit`` to hand a solver: what remains, at least a millisecond."""
        remaining = self.remaining()
        return None if remaining is None else max(remaining, MIN_SOLVER_SECONDS)
