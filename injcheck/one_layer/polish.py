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
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

__all__ = ["Polish", "polish_cell"]

#: The margin LP's optimum must exceed this for a move to count (the LP's own
#: tolerances are ~1e-7; the new point is re-certified exactly by the caller anyway).
MARGIN_MIN = 1e-7


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
        LPs solved after the first.
    truncated : bool
        Whether the deadline stopped the pass before ``max_tries`` or the end of the rows.
    """

    x: np.ndarray | None
    flips: int
    tried: int
    truncated: bool


def polish_cell(
    weight: np.ndarray,
    x: np.ndarray,
    *,
    max_tries: int | None = None,
    deadline: float | None = None,
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

    Returns
    -------
    Polish
    """
    import highspy

    unit = weight / np.where((norms := np.linalg.norm(weight, axis=1)) > 0, norms, 1.0)[:, None]
    fields = unit @ x
    negative = fields < 0
    highs = _margin_lp(unit, negative)
    feasible, truncated = _margin_run(highs, deadline)
    if not feasible:
        return Polish(None, 0, 0, truncated)
    n = weight.shape[1]
    best = np.array(highs.getSolution().col_value[:n])
    order = np.flatnonzero(~negative)
    order = order[np.argsort(fields[order], kind="stable")][:max_tries]
    flips = tried = 0
    for j in order:
        if truncated or (deadline is not None and time.perf_counter() >= deadline):
            return Polish(best, flips, tried, True)
        tried += 1
        highs.changeRowBounds(int(j), -highspy.kHighsInf, 0.0)
        feasible, truncated = _margin_run(highs, deadline)
        if feasible:
            flips += 1
            best = np.array(highs.getSolution().col_value[:n])
        else:
            highs.changeRowBounds(int(j), -highspy.kHighsInf, highspy.kHighsInf)
    return Polish(best, flips, tried, truncated)


def _margin_lp(unit: np.ndarray, negative: np.ndarray):
    """A quiet single-thread HiGHS holding the margin LP with the rows ``negative`` bound."""
    import highspy

    from ..solvers import quiet_highs
    from .geometry import to_csc

    m, n = unit.shape
    inf = highspy.kHighsInf
    highs = quiet_highs()
    highs.setOptionValue("threads", 1)  # one thread: the simplex path is deterministic
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = n + 1, m
    lp.col_cost_ = np.r_[np.zeros(n), -1.0]
    lp.col_lower_, lp.col_upper_ = np.r_[-np.ones(n), 0.0], np.r_[np.ones(n), 1.0]
    lp.row_lower_ = np.full(m, -inf)
    lp.row_upper_ = np.where(negative, 0.0, inf)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    csc = to_csc(np.hstack([unit, np.ones((m, 1))]))
    lp.a_matrix_.start_, lp.a_matrix_.index_, lp.a_matrix_.value_ = csc
    highs.passModel(lp)
    return highs


def _margin_run(highs, deadline: float | None) -> tuple[bool, bool]:
    """Solve; ``(the optimal margin is clearly positive, the deadline stopped the LP)``."""
    import highspy

    if deadline is not None:
        highs.setOptionValue("time_limit", max(deadline - time.perf_counter(), 1e-3))
    highs.run()
    status = highs.getModelStatus()
    if status != highspy.HighsModelStatus.kOptimal:
        return False, status == highspy.HighsModelStatus.kTimeLimit
    return -highs.getInfo().objective_function_value > MARGIN_MIN, False
