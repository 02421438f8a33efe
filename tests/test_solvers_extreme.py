"""Numerically extreme data makes the solvers and LAPACK fail: that is an unknown result
(or a rejected certificate), never a traceback and never a verdict."""

import cvxpy as cp
import numpy as np

from injcheck.one_layer.geometry import certificate_is_valid, minimal_support
from injcheck.solvers import solve_highs


def test_a_cvxpy_value_error_is_unknown(monkeypatch):
    x = cp.Variable(2, name="x")
    problem = cp.Problem(cp.Minimize(cp.sum(x)), [x >= 0])

    def broken(*args, **kwargs):
        raise ValueError("Cannot unpack invalid solution: Solution(status=UNKNOWN, ...)")

    monkeypatch.setattr(problem, "solve", broken)
    result = solve_highs(problem)
    assert result.outcome == "unknown" and not result.values
    assert result.raw_status == "solver_error: ValueError: Cannot unpack invalid solution"


def test_lapack_failures_reject_the_certificate():
    rows = np.array([[1.0, 0.0], [-1.0, np.nan], [0.0, -1.0]])
    support = minimal_support(rows, np.arange(3), np.ones(3) / 3)
    assert list(support) == [0, 1, 2]
    assert not certificate_is_valid(rows, np.arange(3))
