"""Ground truth for tiny layers: enumerate every cell of the arrangement exactly.

Everything is exact: every float64 is a rational, and since positive scaling of a
row or of a point changes no sign, rows, rays and points are kept as integer
vectors (Python ints). The result is exact for any W, generic or not. A pointed cell has an extreme ray cut out by ``n - 1`` independent
rows; near a ray ``r`` the cells are those of the lower-dimensional arrangement
of the rows vanishing at ``r``, so we recurse on them. When exactly ``n - 1``
independent rows vanish at ``r``, the cell where all of them are negative has the
smallest active set of all cells at ``r``, so that one cell is enough: both ``P*``
and the spanning criterion only need, for every cell, one with a subset of its
active rows ("dominant" cells). A rank-deficient
arrangement is reduced to its row space first. Cost grows like ``m^(n-1)``:
meant for ``n <= 3`` (``n = 4`` with small ``m``).
"""

from __future__ import annotations

import time
from fractions import Fraction
from itertools import combinations
from math import gcd, lcm

import numpy as np

from .rational import rref

Vector = list[int]


class EnumerationTimeout(Exception):
    """The deadline passed before every cell was enumerated."""


def _check_deadline(deadline: float | None) -> None:
    if deadline is not None and time.perf_counter() > deadline:
        raise EnumerationTimeout


def _dot(a: Vector, b: Vector) -> int:
    return sum(x * y for x, y in zip(a, b))


def _integer(vec) -> Vector:
    """A positive multiple of a rational vector with integer, coprime entries."""
    fracs = [Fraction(v) for v in vec]
    scale = lcm(*(f.denominator for f in fracs)) if fracs else 1
    ints = [int(f * scale) for f in fracs]
    common = 0
    for v in ints:
        common = gcd(common, v)
    return [v // common for v in ints] if common > 1 else ints


def integer_rows(weight: np.ndarray) -> list[Vector]:
    return [_integer(float(v) for v in row) for row in weight]


def exact_rank(rows: list[Vector], ncols: int) -> int:
    """Rank of integer rows by fraction-free (Bareiss) elimination."""
    mat = [list(r) for r in rows]
    rank, prev = 0, 1
    for col in range(ncols):
        piv = next((i for i in range(rank, len(mat)) if mat[i][col] != 0), None)
        if piv is None:
            continue
        mat[rank], mat[piv] = mat[piv], mat[rank]
        p = mat[rank][col]
        for i in range(rank + 1, len(mat)):
            a = mat[i][col]
            mat[i] = [(p * v - a * u) // prev for v, u in zip(mat[i], mat[rank])]
        prev = p
        rank += 1
        if rank == len(mat):
            break
    return rank


def _det(mat: list[Vector]) -> int:
    """Exact integer determinant (Laplace for the tiny sizes used here)."""
    if len(mat) == 1:
        return mat[0][0]
    return sum(
        (-1) ** j * mat[0][j] * _det([row[:j] + row[j + 1 :] for row in mat[1:]])
        for j in range(len(mat))
        if mat[0][j]
    )


def cofactor_vector(rows: list[Vector]) -> Vector:
    """Generalised cross product of ``n - 1`` integer rows in R^n: orthogonal to all of
    them, and zero exactly when they are linearly dependent."""
    n = len(rows) + 1
    return [(-1) ** j * _det([r[:j] + r[j + 1 :] for r in rows]) for j in range(n)]


def null_vector(rows: list[Vector], ncols: int) -> Vector | None:
    """One non-zero exact vector orthogonal to all rows, or None if they have full rank."""
    red, pivots = rref(rows, ncols)
    free = [c for c in range(ncols) if c not in pivots]
    if not free:
        return None
    f = free[0]
    vec = [Fraction(0)] * ncols
    vec[f] = Fraction(1)
    for row, p in zip(red, pivots):
        vec[p] = -row[f]
    return _integer(vec)


def _all_negative_direction(tight: list[Vector], ray: Vector) -> Vector:
    """Exact ``u`` with ``<z, u> = -1`` for the ``n - 1`` independent rows ``z`` cutting out ``ray``.

    With ``u_j = 0`` for a coordinate where ``ray_j != 0`` the system is square and
    non-singular (``ray_j`` is, up to sign, its determinant).
    """
    from ..verify import solve_square

    j = next(c for c, v in enumerate(ray) if v != 0)
    square = [[Fraction(v) for v in (z[:j] + z[j + 1 :])] for z in tight]
    sol = solve_square(square, [Fraction(-1)] * len(tight))
    return _integer(sol[:j] + [Fraction(0)] + sol[j:])


def cell_points(rows: list[Vector], n: int, deadline: float | None = None) -> list[Vector]:
    """Exact points of dominant cells of the central arrangement of ``rows`` in R^n.

    For every open cell ``C`` some returned point lies in a cell whose active set is
    contained in that of ``C`` (see the module docstring).

    Raises
    ------
    EnumerationTimeout
        When ``deadline`` (a ``time.perf_counter()`` value) passes first.
    """
    nonzero = [r for r in rows if any(r)]
    if not nonzero:
        return [[1] + [0] * (n - 1)]
    if exact_rank(nonzero, n) < n:
        _, pivots = rref(nonzero, n)
        # Signs depend only on the row space: solve in the coordinates of independent columns.
        sub = [[r[c] for c in pivots] for r in nonzero]
        points = []
        for p in cell_points(sub, len(pivots), deadline):
            full = [0] * n
            for c, v in zip(pivots, p):
                full[c] = v
            points.append(full)
        return points
    if n == 1:
        return [[1], [-1]]
    points, seen = [], set()
    for subset in combinations(range(len(nonzero)), n - 1):
        _check_deadline(deadline)
        ray = cofactor_vector([nonzero[i] for i in subset])
        if not any(ray):
            continue  # dependent rows cut out no ray
        for sign in (1, -1):
            r = [sign * v for v in ray]
            values = [_dot(w, r) for w in nonzero]
            tight = [w for w, v in zip(nonzero, values) if v == 0]
            j = next(c for c, v in enumerate(r) if v != 0)
            if len(tight) == n - 1:
                directions = [_all_negative_direction(tight, r)]
            else:  # degenerate ray: enumerate the local arrangement
                local_rows = [w[:j] + w[j + 1 :] for w in tight]
                directions = [u[:j] + [0] + u[j:] for u in cell_points(local_rows, n - 1, deadline)]
            for u in directions:
                ratios = [
                    Fraction(abs(v), abs(_dot(w, u)))
                    for w, v in zip(nonzero, values)
                    if v != 0 and _dot(w, u) != 0
                ]
                step = min(ratios) / 2 if ratios else Fraction(1)
                # r + step * u, scaled by step's denominator to stay integer.
                point = _integer([a * step.denominator + step.numerator * b for a, b in zip(r, u)])
                key = tuple(_dot(w, point) > 0 for w in nonzero)
                if key not in seen:
                    seen.add(key)
                    points.append(point)
    return points


def brute_force_layer(weight: np.ndarray, deadline: float | None = None) -> dict:
    """Exact P*(W), injectivity (spanning criterion) and a witness cell point.

    Raises :class:`EnumerationTimeout` when ``deadline`` passes first.

    Returns
    -------
    dict with ``p_star`` (min over cells of non-negative rows), ``injective`` (every
    cell's active rows span R^n), ``cells`` (number found) and ``witness_points``
    (exact points of the cells whose active rows do not span).
    """
    m, n = weight.shape
    rows = integer_rows(weight)
    zero_rows = sum(1 for r in rows if not any(r))
    best, witnesses = None, []
    points = cell_points(rows, n, deadline)
    for point in points:
        _check_deadline(deadline)
        active = [r for r in rows if _dot(r, point) > 0]
        count = len(active) + zero_rows
        best = count if best is None else min(best, count)
        if exact_rank(active, n) < n:
            witnesses.append(point)
    return {
        "p_star": best,
        "injective": not witnesses,
        "cells": len(points),
        "witness_points": witnesses,
    }


def best_collision_pair(weight: np.ndarray, witness_points: list[Vector]):
    """The exact collision with the largest relative separation over all witness cells
    (a cell squeezed against a hyperplane gives a valid but float-invisible pair)."""

    def separation(pair):
        x, y = (np.array([float(v) for v in p]) for p in pair)
        return np.linalg.norm(x - y) / max(np.linalg.norm(x), 1e-300)

    return max((exact_collision_pair(weight, p) for p in witness_points), key=separation)


def exact_collision_pair(
    weight: np.ndarray, point: Vector
) -> tuple[list[Fraction], list[Fraction]]:
    """An exact collision ``(x, y)`` from a cell point whose active rows do not span.

    The point is rescaled to unit max-norm (homogeneity) so the pair has a natural size.
    """
    n = weight.shape[1]
    rows = integer_rows(weight)
    active = [r for r in rows if _dot(r, point) > 0]
    d = null_vector(active, n) if active else [1] + [0] * (n - 1)
    ratios = [
        Fraction(abs(_dot(r, point)), abs(_dot(r, d)))
        for r in rows
        if _dot(r, point) < 0 and _dot(r, d) != 0
    ]
    t = min(ratios) / 2 if ratios else Fraction(1)
    scale = Fraction(1, max(abs(v) for v in point))
    x = [scale * v for v in point]
    return x, [a + scale * t * b for a, b in zip(x, d)]
