"""Geometry of one layer ``x -> ReLU(W x)``: cells, collisions, certificates, genericity.

Notation follows the README: ``T`` is a set of rows forced strictly negative,
``A = {i : <w_i, x> > 0}`` the active rows at a point ``x`` of an open cell.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from itertools import combinations
from math import comb

import numpy as np
import scipy.linalg
from scipy.optimize import linprog

from ..solvers import quiet_highs

#: Relative size below which a row's residual counts as "in the span" of others.
SPAN_TOL = 1e-9
#: Largest number of n x n minors we enumerate to verify genericity exactly.
MAX_MINORS = 200_000


def cell_point(weight: np.ndarray, negative_rows: np.ndarray) -> np.ndarray | None:
    """A well-centred point ``x`` with ``<w_i, x> <= -1`` for the rows in ``negative_rows``, or None.

    By homogeneity this is feasible iff the open cone ``{W_T x < 0}`` is non-empty
    (THEORY.md section 2), so the margin 1 is a normalisation, not an approximation.
    Minimising ``||x||_1`` (as ``x = p - q`` with ``p, q >= 0``) maximises the margin
    relative to the size of ``x``, which keeps witnesses away from cell walls.
    """
    import highspy

    rows = weight[np.asarray(negative_rows, dtype=bool)]
    n = weight.shape[1]
    if rows.shape[0] == 0:
        return np.ones(n) / np.sqrt(n)
    highs = quiet_highs()
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = 2 * n, rows.shape[0]
    lp.col_cost_ = np.ones(2 * n)
    lp.col_lower_, lp.col_upper_ = np.zeros(2 * n), np.full(2 * n, highspy.kHighsInf)
    lp.row_lower_ = np.full(rows.shape[0], -highspy.kHighsInf)
    lp.row_upper_ = -np.ones(rows.shape[0])
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_, lp.a_matrix_.index_, lp.a_matrix_.value_ = to_csc(np.hstack([rows, -rows]))
    highs.passModel(lp)
    highs.run()
    if highs.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        return None
    sol = np.array(highs.getSolution().col_value)
    x = sol[:n] - sol[n:]
    if not np.all(rows @ x < 0):
        return None
    return x / np.max(np.abs(x))


def to_csc(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A dense matrix in HiGHS's compressed-sparse-column arrays.

    Shared by the LPs built here and in :mod:`.gordan` and :mod:`.heuristic`.

    Parameters
    ----------
    matrix : numpy.ndarray
        Dense 2-D matrix.

    Returns
    -------
    starts : numpy.ndarray of int32
        Column start offsets into ``index`` and ``values`` (one more than the columns).
    index : numpy.ndarray of int32
        Row index of each non-zero, column by column.
    values : numpy.ndarray of float
        The non-zeros in the same order.
    """
    starts, index, values = [0], [], []
    for col in matrix.T:
        nz = np.flatnonzero(col)
        index.extend(nz.tolist())
        values.extend(col[nz].tolist())
        starts.append(len(index))
    return np.array(starts, dtype=np.int32), np.array(index, dtype=np.int32), np.array(values)


def collision_from_cell_point(
    weight: np.ndarray, x: np.ndarray
) -> tuple[np.ndarray, np.ndarray] | None:
    """Build ``y != x`` with ``ReLU(W x) = ReLU(W y)`` from a cell point with rank-deficient active rows.

    THEORY.md section 2: take ``d`` in ``null(W_A)`` and ``y = x + t d`` with
    ``0 < t < min_{i not in A} |<w_i,x>| / |<w_i,d>|``; we use half of that bound so
    every inactive row stays strictly negative. Rows with ``<w_i, x> = 0`` (a point on a
    hyperplane, as with integer weights) must not turn positive: ``d`` is taken in their
    null space too when the rank allows, else with the sign that keeps them non-positive.
    Returns None if ``W_A`` has full rank or no direction keeps the zero rows off.
    """
    x = x / np.max(np.abs(x))  # homogeneity: present the pair at unit scale
    pre = weight @ x
    scale = np.abs(weight) @ np.abs(x)
    active = pre > 0
    zero = ~active & (np.abs(pre) <= 1e-12 * scale)
    n = weight.shape[1]
    d = _off_direction(weight[active], weight[zero], n)
    if d is None:
        return None
    off = ~active & ~zero
    slope = weight[off] @ d
    room = np.abs(pre[off])
    moving = slope > 0  # rows moving towards their hyperplane
    t = 0.5 * np.min(room[moving] / slope[moving]) if moving.any() else np.linalg.norm(x)
    t = min(t, np.linalg.norm(x))
    if zero.any() and np.all(weight[zero] @ d < 0):
        # x sits on the hyperplanes of the zero rows; x + t d / 2 is strictly inside the
        # same cell as y, so both points have unambiguous patterns for the exact check.
        return x + 0.5 * t * d, x + t * d
    return x, x + t * d


def _null_basis(rows: np.ndarray, n: int) -> np.ndarray:
    """An orthonormal basis (columns) of the null space of ``rows``."""
    if rows.shape[0] == 0:
        return np.eye(n)
    _, sing, vt = np.linalg.svd(rows, full_matrices=True)
    rank = int(np.sum(sing > sing[0] * 1e-10)) if sing.size else 0
    return vt[rank:].T


def _off_direction(active: np.ndarray, zero: np.ndarray, n: int) -> np.ndarray | None:
    """A unit ``d`` with ``active @ d = 0`` and ``zero @ d <= 0``, strictly negative where
    possible (then ``y`` lies strictly inside a cell and its pattern is unambiguous);
    None when ``active`` has full rank or every such ``d`` turns a zero row on."""
    basis = _null_basis(active, n)
    if basis.shape[1] == 0:
        return None
    if zero.shape[0] == 0:
        return basis[:, -1]
    # max s  s.t.  zero @ basis @ c <= -s,  -1 <= c <= 1,  s <= 1
    slopes = zero @ basis
    k = basis.shape[1]
    res = linprog(
        np.r_[np.zeros(k), -1.0],
        A_ub=np.hstack([slopes, np.ones((slopes.shape[0], 1))]),
        b_ub=np.zeros(slopes.shape[0]),
        bounds=[(-1.0, 1.0)] * k + [(None, 1.0)],
        method="highs",
    )
    if res.status == 0 and -res.fun > 1e-9:
        d = basis @ res.x[:k]
        return d / np.linalg.norm(d)
    # No strict choice: keep the zero rows exactly at zero if the rank allows.
    both = _null_basis(np.vstack([active, zero]), n)
    return both[:, -1] if both.shape[1] else None


@dataclass
class Genericity:
    """Whether every ``n`` rows of ``W`` are linearly independent.

    ``generic`` is True when no structure was found; ``verified`` says whether all
    ``n x n`` minors were checked (only when there are at most ``MAX_MINORS``).
    """

    generic: bool
    verified: bool
    reason: str


def genericity(weight: np.ndarray) -> Genericity:
    """Screen ``W`` for the structures that break the count criterion ``P* >= n``.

    Zero rows, parallel rows, rank deficiency and integer-like (small-denominator)
    entries are detected; when few enough, all maximal minors are checked.
    """
    m, n = weight.shape
    norms = np.linalg.norm(weight, axis=1)
    if np.any(norms == 0):
        return Genericity(False, True, "zero rows")
    if np.linalg.matrix_rank(weight) < n:
        return Genericity(False, True, "rank(W) < n")
    unit = weight / norms[:, None]
    cos = unit @ unit.T
    np.fill_diagonal(cos, 0)
    if np.any(np.abs(cos) > 1 - 1e-12):
        return Genericity(False, True, "parallel rows")
    if np.all(weight * 1024 == np.round(weight * 1024)):
        return Genericity(False, False, "integer-like entries (rows may be linearly dependent)")
    if n == 1:
        return Genericity(True, True, "no zero rows")
    if comb(m, n) <= MAX_MINORS:
        subsets = np.array(list(combinations(range(m), n)))
        dets = np.abs(np.linalg.det(unit[subsets]))
        if np.any(dets < 1e-10):
            return Genericity(False, True, "n rows are (nearly) linearly dependent")
        return Genericity(True, True, "all maximal minors are non-zero")
    return Genericity(True, False, "no zero, parallel or integer-like rows (minors not enumerated)")


def minimal_support(unit_rows: np.ndarray, support: np.ndarray, lam: np.ndarray) -> np.ndarray:
    """Shrink a certificate to an affinely independent support (Caratheodory steps).

    LP vertices can be degenerate; on a minimal support the weights are unique, so the
    float and exact checks below can recompute them.
    """
    support, lam = np.asarray(support), np.asarray(lam, dtype=float)
    while support.size > 1:
        system = np.vstack([unit_rows[support].T, np.ones(support.size)])
        try:
            _, sing, vt = np.linalg.svd(system)
        except np.linalg.LinAlgError:  # no shrinking; the checks below judge the support
            break
        if support.size <= system.shape[0] and sing[-1] > 1e-10 * sing[0]:
            break
        v = vt[-1]
        if not np.any(v > 0):
            v = -v
        pos = v > 1e-14
        step = np.min(lam[pos] / v[pos])
        lam = lam - step * v
        keep = lam > 1e-12
        keep[np.flatnonzero(pos)[np.argmin(lam[pos])]] = False  # drop the entry the step zeroed
        support, lam = support[keep], lam[keep]
    return support


def certificate_is_valid(weight: np.ndarray, support: np.ndarray, tol: float = 1e-9) -> bool:
    """Float check of a Gordan certificate: ``0`` lies in the relative interior of
    ``conv{w_i : i in support}`` with a clear margin.

    The weights are recomputed on the support by least squares (``W_T^T lam = 0``,
    ``sum lam = 1``); they must be positive and the residual tiny.
    """
    rows = weight[support]
    unit = rows / np.linalg.norm(rows, axis=1, keepdims=True)
    system = np.vstack([unit.T, np.ones(len(support))])
    rhs = np.zeros(system.shape[0])
    rhs[-1] = 1.0
    try:
        lam, *_ = np.linalg.lstsq(system, rhs, rcond=None)
    except np.linalg.LinAlgError:  # NaN or overflowed rows: no certificate we can trust
        return False
    residual = np.linalg.norm(system @ lam - rhs)
    return bool(residual < tol and np.all(lam > tol))


def certificate_is_exact(weight: np.ndarray, support: np.ndarray) -> bool:
    """Exact rational check of a Gordan certificate on a minimal (affinely independent) support.

    Solves ``W_T^T lam = 0, sum lam = 1`` exactly and requires ``lam > 0``.
    """
    from ..verify import solve_square

    rows = [[Fraction(float(v)) for v in weight[i]] for i in support]
    k, n = len(rows), len(rows[0])
    eqs = [[rows[j][c] for j in range(k)] for c in range(n)] + [[Fraction(1)] * k]
    rhs = [Fraction(0)] * n + [Fraction(1)]
    # Pick k independent equations (the support of a vertex certificate is minimal).
    float_eqs = np.array([[float(v) for v in row] for row in eqs])
    _, _, perm = scipy.linalg.qr(float_eqs.T, pivoting=True, mode="economic")
    chosen = list(perm[:k])
    lam = solve_square([eqs[r] for r in chosen], [rhs[r] for r in chosen])
    if lam is None or any(v <= 0 for v in lam):
        return False
    return all(sum((a * b for a, b in zip(row, lam)), Fraction(0)) == r for row, r in zip(eqs, rhs))


def greedy_low_depth_cell(weight: np.ndarray, limit: int) -> np.ndarray | None:
    """Primal heuristic (Chinneck's greedy MaxFS): a cell point with at most ``limit``
    non-negative rows, or None.

    Solve the elastic LP ``min sum s  s.t.  W_R x - s <= -1, s >= 0`` over the rows
    ``R`` still required negative; when its optimum is 0 the point is in an open cell,
    otherwise release the row with the largest violation and repeat. Cheap (``limit + 1``
    small LPs); proves nothing when it fails.
    """
    import highspy

    norms = np.linalg.norm(weight, axis=1)
    if np.any(norms == 0):
        return None
    unit = weight / norms[:, None]
    rows = np.arange(weight.shape[0])
    n = weight.shape[1]
    for _ in range(limit + 1):
        k = rows.size
        highs = quiet_highs()
        lp = highspy.HighsLp()
        lp.num_col_, lp.num_row_ = n + k, k
        lp.col_cost_ = np.r_[np.zeros(n), np.ones(k)]
        lp.col_lower_ = np.r_[np.full(n, -highspy.kHighsInf), np.zeros(k)]
        lp.col_upper_ = np.full(n + k, highspy.kHighsInf)
        lp.row_lower_, lp.row_upper_ = np.full(k, -highspy.kHighsInf), -np.ones(k)
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        csc = to_csc(np.hstack([unit[rows], -np.eye(k)]))
        lp.a_matrix_.start_, lp.a_matrix_.index_, lp.a_matrix_.value_ = csc
        highs.passModel(lp)
        highs.run()
        if highs.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            return None
        sol = np.array(highs.getSolution().col_value)
        if highs.getInfo().objective_function_value < 1e-9:
            return cell_point(weight, np.isin(np.arange(weight.shape[0]), rows))
        rows = np.delete(rows, np.argmax(sol[n:]))
    return None
