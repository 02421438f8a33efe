"""Solver plumbing: run a CVXPY problem on HiGHS and read its status with care.

The one table :data:`OUTCOMES` says what each CVXPY status proves. Anything not in
it is ``"unknown"``. Two traps are handled here so that no caller has to:

* CVXPY files a HiGHS time limit under a "solution present" status (``USER_LIMIT``)
  and may hand back zeros when there is no incumbent; we look at HiGHS' own
  ``primal_solution_status`` before trusting any value.
* ``INFEASIBLE_OR_UNBOUNDED`` and the ``*_INACCURATE`` statuses prove nothing.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # cvxpy takes seconds to import; only the MILP paths need it
    import cvxpy as cp

#: What a CVXPY status string proves. Unlisted statuses mean "unknown".
OUTCOMES = {
    "optimal": "optimal",
    "infeasible": "infeasible",
    "user_limit": "limit",
}

#: HiGHS' ``primal_solution_status`` value for "a feasible point is available".
_HIGHS_FEASIBLE = 2


@dataclass
class SolveResult:
    """Outcome of one solver call.

    Attributes
    ----------
    outcome : {"optimal", "infeasible", "feasible", "unknown"}
        ``feasible``: the solver stopped at a limit but holds an incumbent.
    raw_status : str
        CVXPY's status string.
    objective, dual_bound : float or None
        Incumbent objective and the proven bound (MILP), when available.
    values : dict
        ``variable name -> ndarray`` for ``optimal`` and ``feasible`` only.
    """

    outcome: str
    raw_status: str
    objective: float | None = None
    dual_bound: float | None = None
    values: dict[str, np.ndarray] = field(default_factory=dict)
    wall_time: float = 0.0


def solve_highs(
    problem: cp.Problem,
    *,
    time_limit: float | None = None,
    threads: int = 1,
    options: dict | None = None,
) -> SolveResult:
    """Solve ``problem`` with HiGHS through CVXPY and classify the result.

    Parameters
    ----------
    time_limit : float, optional
        Seconds for HiGHS (``None``: no limit).
    threads : int
        HiGHS threads; 1 keeps results reproducible and sweeps parallel.
    """
    import cvxpy as cp

    quiet_highs()  # the first HiGHS instance of a process prints a banner; swallow it here
    opts = {
        "threads": int(threads),
        "random_seed": 0,
        "output_flag": False,
        "mip_rel_gap": 0.0,
        "mip_abs_gap": 0.5,
    }
    if time_limit is not None:
        opts["time_limit"] = float(max(time_limit, 1e-3))
    opts.update(options or {})
    start = time.perf_counter()
    try:
        with warnings.catch_warnings():
            # "Solution may be inaccurate" on a time limit: the status table handles it.
            warnings.simplefilter("ignore", UserWarning)
            problem.solve(solver=cp.HIGHS, **opts)
    except (cp.SolverError, ValueError) as exc:
        # ValueError: CVXPY's "Cannot unpack invalid solution" or "Problem data contains
        # NaN or Inf" on numerically extreme data: the solve proves nothing.
        text = str(exc).split(": Solution(")[0][:200]  # not CVXPY's whole solution object
        return SolveResult(
            "unknown",
            f"solver_error: {type(exc).__name__}: {text}",
            wall_time=time.perf_counter() - start,
        )
    elapsed = time.perf_counter() - start
    raw = str(problem.status)
    info = problem.solver_stats.extra_stats if problem.solver_stats else None
    outcome = OUTCOMES.get(raw, "unknown")
    has_point = info is not None and getattr(info, "primal_solution_status", 0) == _HIGHS_FEASIBLE
    if outcome == "limit":
        outcome = "feasible" if has_point else "unknown"
    elif outcome == "optimal" and not has_point:
        outcome = "unknown"
    result = SolveResult(outcome, raw, wall_time=elapsed)
    if info is not None and np.isfinite(getattr(info, "mip_dual_bound", np.nan)):
        result.dual_bound = float(info.mip_dual_bound)
    if outcome in ("optimal", "feasible"):
        result.objective = float(problem.value)
        result.values = {v.name(): np.asarray(v.value, dtype=float) for v in problem.variables()}
    return result


_banner_shown = False


def quiet_highs():
    """A ``highspy.Highs`` instance with logging off.

    HiGHS prints a banner to the process' stdout when the first instance is built,
    before any option can be set; we send that one write to /dev/null so that
    ``--json`` output stays clean.
    """
    import os
    import sys

    import highspy

    global _banner_shown
    if _banner_shown:
        highs = highspy.Highs()
    else:
        sys.stdout.flush()
        saved = os.dup(1)
        try:
            with open(os.devnull, "w") as devnull:
                os.dup2(devnull.fileno(), 1)
                highs = highspy.Highs()
        finally:
            os.dup2(saved, 1)
            os.close(saved)
        _banner_shown = True
    highs.setOptionValue("output_flag", False)
    highs.setOptionValue("threads", 1)
    return highs
