"""Exact local improvement of a cell point: move across one hyperplane at a time by LP.

Given a point ``x`` of an open cell of the arrangement of ``W``, keep the rows negative at
``x`` negative and try to add the positive rows one at a time, smallest field first, each
by a warm-started margin LP

    max t   s.t.   <w_i, x> + t <= 0  (i in N + {j}),   |x|_inf <= 1,

where ``N`` is the set of rows made negative so far. ``t > 0`` means the cell on the
negative side of row ``j`` exists, so the move is kept and the count drops by one; else
row ``j`` is released again. The work is a number of LPs (``max_tries``), not seconds,
so that the same input gives the same result on any machine under any load; a
``deadline`` is only a safety cap, and hitting it is reported (``truncated``).

With ``band`` (row generation, for large ``m n``) the LP holds only the rows of ``N``
whose normalised field at ``x`` lies within ``band`` of 0; after each solve every row of
``N`` is checked at the LP point and the violated ones are added before solving again.
A reduced LP is a relaxation, so ``t <= 0`` there already rejects the move, and a
solution that satisfies every row of ``N`` is optimal for the full LP: the moves taken
are exactly those of the full LP (docs/heuristic.md, "Row generation").
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

__all__ = ["Polish", "polish_cell", "polish_lp_budget"]

#: The margin LP's optimum must exceed this for a move to count (the LP's own
#: tolerances are ~1e-7; the new point is re-certified exactly by the caller anyway).
MARGIN_MIN = 1e-7


#: Seconds-worth of polishing LPs, as ``POLISH_LP_WORK / (m n)^2`` LPs: one LP after a
#: single-row change costs ~3.6e-12 (m n)^2 CPU seconds (measured at alpha = 5 on a 2-core
#: Xeon: 0.009 s at n = 100, 0.045 s at n = 150, 0.35 s at n = 250; docs/heuristic.md),
#: so this is ~5 s a layer, and a full pass over the positive rows up to n ~ 150.
POLISH_LP_WORK = 1.4e12
#: Above this ``m n`` polishing is off (the first LP alone takes over a minute at
#: n = 1000, m = 5000).
POLISH_MAX_MN = 400_000


def polish_lp_budget(m: int, n: int) -> int:
    """LPs of the exact polishing per layer of shape ``(m, n)``: a count from the shape
    (never from timings, so a seed gives the same count under any load); 0 is off."""
    if m * n > POLISH_MAX_MN:
        return 0
    return int(min(m, max(1, POLISH_LP_WORK / float(m * n) ** 2)))


@dataclass(frozen=True)
class Polish:
    """Outcome of :func:`polish_cell`.

    Attributes
    ----------
    x : numpy.ndarray or None
        The last feasible LP point (None if the first LP failed); the caller must
        re-certify its count.
    flips : int
        Rows moved to the negative side.
    tried : int
        Moves tried (margin LPs after the first; with ``band`` each may take a few solves).
    truncated : bool
        Whether the deadline stopped the pass before ``max_tries`` or the end of the rows.
    solves : int
        LP solves in all, the first included (row generation re-solves after adding rows).
    lp_rows : int
        Rows held by the LP at the end (``m`` without ``band``).
    """

    x: np.ndarray | None
    flips: int
    tried: int
    truncated: bool
    solves: int = 0
    lp_rows: int = 0


def polish_cell(
    weight: np.ndarray,
    x: np.ndarray,
    *,
    max_tries: int | None = None,
    deadline: float | None = None,
    band: float | None = None,
) -> Polish:
    """Move a cell point across the hyperplanes of its positive rows, one at a time.

    Parameters
    ----------
    weight : numpy.ndarray
        ``W`` of shape ``(m, n)``.
    x : numpy.ndarray
        A point of an open cell (no row vanishes at it).
    max_tries : int, optional
        LPs after the first (None: every positive row once).
    deadline : float, optional
        ``time.perf_counter()`` value after which no LP is started (a cap; the result
        then depends on the machine, which ``Polish.truncated`` says).
    band : float, optional
        Row generation: the LP starts with the negative rows whose field at ``x``, scaled
        to ``N(0, 1)`` (unit rows, ``|x| = sqrt(n)``), exceeds ``-band``, and gains the
        violated ones as it goes (None: all ``m`` rows, the plain LP). The moves are the
        same; only the size of the LP changes.

    Returns
    -------
    Polish
    """
    unit = weight / np.where((norms := np.linalg.norm(weight, axis=1)) > 0, norms, 1.0)[:, None]
    fields = unit @ x
    negative = fields < 0
    if band is None:
        held = np.ones(len(fields), dtype=bool)
    else:
        scale = np.sqrt(weight.shape[1]) / max(float(np.linalg.norm(x)), 1e-300)
        held = negative & (fields * scale > -band)
    lp = _MarginLP(unit, negative, held, deadline)
    best = lp.solve()
    if best is None:
        return lp.result(None, 0, 0)
    order = np.flatnonzero(~negative)
    order = order[np.argsort(fields[order], kind="stable")][:max_tries]
    flips = tried = 0
    for j in order:
        if lp.truncated or (deadline is not None and time.perf_counter() >= deadline):
            lp.truncated = True
            return lp.result(best, flips, tried)
        tried += 1
        lp.set_negative(int(j), True)
        new = lp.solve()
        if new is not None:
            flips, best = flips + 1, new
        else:
            lp.set_negative(int(j), False)
    return lp.result(best, flips, tried)


class _MarginLP:
    """The margin LP over the rows ``held`` of ``unit`` (``negative`` ones bound by 0),
    grown by the violated negative rows it does not hold (row generation)."""

    def __init__(self, unit: np.ndarray, negative: np.ndarray, held: np.ndarray, deadline):
        from ..solvers import quiet_highs

        self.unit, self.negative, self.deadline = unit, negative.copy(), deadline
        self.position = np.full(len(negative), -1)  # row of the model holding each row
        self.truncated, self.solves = False, 0
        n = unit.shape[1]
        self.highs = quiet_highs()
        self.highs.setOptionValue("threads", 1)  # one thread: the simplex path is deterministic
        self.highs.addVars(n + 1, np.r_[-np.ones(n), 0.0], np.r_[np.ones(n), 1.0])
        self.highs.changeColCost(n, -1.0)
        self._add(np.flatnonzero(held))

    def _add(self, rows: np.ndarray) -> None:
        import highspy

        from .geometry import to_csc

        base = self.highs.getNumRow()
        self.position[rows] = base + np.arange(len(rows))
        upper = np.where(self.negative[rows], 0.0, highspy.kHighsInf)
        # Rows of [unit | 1] are the columns of its transpose: CSC of the transpose is CSR.
        starts, index, values = to_csc(np.hstack([self.unit[rows], np.ones((len(rows), 1))]).T)
        lower = np.full(len(rows), -highspy.kHighsInf)
        self.highs.addRows(len(rows), lower, upper, len(values), starts[:-1], index, values)

    def set_negative(self, row: int, negative: bool) -> None:
        """Bind ``row`` by 0 (adding it to the model if needed) or release it."""
        import highspy

        self.negative[row] = negative
        if self.position[row] < 0:
            self._add(np.array([row]))
        else:
            upper = 0.0 if negative else highspy.kHighsInf
            self.highs.changeRowBounds(int(self.position[row]), -highspy.kHighsInf, upper)

    def solve(self) -> np.ndarray | None:
        """The LP point if the optimal margin over every negative row is clearly positive."""
        n = self.unit.shape[1]
        while True:
            if not self._run():
                return None
            point = np.array(self.highs.getSolution().col_value)
            margin = point[n]
            # Rows the model does not hold must meet the same constraint at the LP point.
            missing = np.flatnonzero(
                self.negative & (self.position < 0) & (self.unit @ point[:n] + margin > 0)
            )
            if missing.size == 0:
                return point[:n]
            self._add(missing)

    def _run(self) -> bool:
        """Solve; whether the optimal margin is clearly positive (a deadline hit is noted)."""
        import highspy

        if self.deadline is not None:
            self.highs.setOptionValue("time_limit", max(self.deadline - time.perf_counter(), 1e-3))
        self.highs.run()
        self.solves += 1
        status = self.highs.getModelStatus()
        if status != highspy.HighsModelStatus.kOptimal:
            self.truncated = self.truncated or status == highspy.HighsModelStatus.kTimeLimit
            return False
        return -self.highs.getInfo().objective_function_value > MARGIN_MIN

    def result(self, x: np.ndarray | None, flips: int, tried: int) -> Polish:
        return Polish(x, flips, tried, self.truncated, self.solves, self.highs.getNumRow())
