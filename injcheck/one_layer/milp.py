"""The one-layer MILP in CVXPY (solved by HiGHS).

For ``x != 0`` normalised by ``||x||_inf = 1`` (homogeneity makes this exact), count
the rows with ``<w_i, x> > 0``:

    min  sum_i z_i
    s.t. <w_i, x> <= ||w_i||_1 z_i        (z_i = 0 forces row i non-positive)
         -1 <= x <= 1,  x_j = +1 if u_j^+ = 1,  x_j = -1 if u_j^- = 1,  sum u = 1
         z, u^+, u^- binary.

``||w_i||_1`` is a valid big-M because ``|<w_i, x>| <= ||w_i||_1 ||x||_inf``. No margin
is needed: rows at zero cost nothing, and for generic ``W`` the minimum equals
``P*(W)`` (rows vanishing at an optimal ``x`` can be pushed negative together, since
at most ``n - 1`` of them vanish and they are independent). For other ``W`` it is a
lower bound on ``P*``. The decision form adds ``sum z <= n - 1`` and no objective,
so HiGHS stops at the first feasible point.
"""

from __future__ import annotations

from dataclasses import dataclass

import cvxpy as cp
import numpy as np

from ..solvers import SolveResult, solve_highs


@dataclass
class LayerMILP:
    """A built (not yet solved) one-layer MILP and the variables to read back."""

    problem: cp.Problem
    x: cp.Variable
    z: cp.Variable
    binaries: int


def build_layer_milp(weight: np.ndarray, *, decision: bool) -> LayerMILP:
    """Build the MILP; ``decision=True`` asks only whether fewer than ``n`` rows can be positive."""
    m, n = weight.shape
    x = cp.Variable(n, name="x")
    z = cp.Variable(m, boolean=True, name="z")
    u_plus = cp.Variable(n, boolean=True, name="u_plus")
    u_minus = cp.Variable(n, boolean=True, name="u_minus")
    big_m = np.abs(weight).sum(axis=1)
    constraints = [
        weight @ x <= cp.multiply(big_m, z),
        x >= -1,
        x <= 1,
        cp.sum(u_plus) + cp.sum(u_minus) == 1,
        x >= 1 - 2 * (1 - u_plus),
        x <= -1 + 2 * (1 - u_minus),
    ]
    if decision:
        constraints.append(cp.sum(z) <= n - 1)
        objective = cp.Minimize(0)
    else:
        objective = cp.Minimize(cp.sum(z))
    return LayerMILP(cp.Problem(objective, constraints), x, z, m + 2 * n)


def solve_layer_milp(milp: LayerMILP, *, time_limit: float | None) -> SolveResult:
    return solve_highs(milp.problem, time_limit=time_limit)
