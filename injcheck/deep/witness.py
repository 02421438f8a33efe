"""From a solver's point to a witness the verifier accepts.

A MILP solution usually sits on region boundaries (LP vertices), where a unit's
pre-activation is 0 up to solver tolerance and the float pattern is ambiguous. Given
the activation patterns the solver chose, :func:`polish_pair` solves one LP that moves
the pair into the interior of its regions (largest margin) while keeping the collision;
the exact verifier then has an unambiguous pattern to work with.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.optimize import linprog

from ..layers import Layer, activation_pattern, affine_pieces, hidden_states

#: Row norm (relative) under which a unit counts as constant on a region.
CONSTANT_TOL = 1e-12


pattern_at = activation_pattern  # one definition of the float activation pattern (layers.py)


def first_meeting_layer(
    layers: Sequence[Layer], x: np.ndarray, y: np.ndarray, rtol: float = 1e-7
) -> int:
    """1-based first layer k with ``h_k(x) == h_k(y)`` (to ``rtol``); ``l`` if none is."""
    for k, (hx, hy) in enumerate(
        zip(hidden_states(layers, x), hidden_states(layers, y), strict=True)
    ):
        scale = max(np.abs(hx).max(initial=0.0), np.abs(hy).max(initial=0.0), 1e-300)
        if np.abs(hx - hy).max(initial=0.0) <= rtol * scale or scale <= 1e-300:
            return k + 1
    return len(layers)


def _margin_rows(maps, pattern, upto: int):
    """Rows ``r x + s <= 0`` (normalised) that keep the pattern strict at layers <= upto."""
    rows, consts = [], []
    for k in range(upto):
        a_k, c_k = maps[k]
        ref = np.abs(a_k).max(initial=0.0) + np.abs(c_k).max(initial=0.0) + 1e-300
        for i, on in enumerate(pattern[k]):
            nrm = np.linalg.norm(a_k[i])
            if nrm <= CONSTANT_TOL * ref:
                continue  # constant on the region: nothing to keep
            sign = -1.0 if on else 1.0
            rows.append(sign * a_k[i] / nrm)
            consts.append(sign * c_k[i] / nrm)
    return np.array(rows).reshape(-1, maps[0][0].shape[1]), np.array(consts)


def polish_pair(
    layers: Sequence[Layer],
    pattern_x: Sequence[np.ndarray],
    pattern_y: Sequence[np.ndarray],
    meet: int,
    lo: np.ndarray,
    hi: np.ndarray,
    coord: int,
    sign: float,
    *,
    x_fixed: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray] | None:
    """Largest-margin pair in the two regions with ``h_meet(x) = h_meet(y)``.

    Maximises ``delta`` subject to every unit of layers ``1..meet`` being at distance
    ``>= delta`` from its boundary (for each free copy), ``sign (x - y)[coord] >= delta``
    and the box. Returns None when the best margin is not positive.
    """
    n = lo.size
    maps_x, maps_y = affine_pieces(layers, pattern_x), affine_pieces(layers, pattern_y)
    gx, sx = _margin_rows(maps_x, pattern_x, meet)
    gy, sy = _margin_rows(maps_y, pattern_y, meet)
    ax, cx = maps_x[meet - 1]
    ay, cy = maps_y[meet - 1]
    dx = np.asarray(pattern_x[meet - 1], float)
    dy = np.asarray(pattern_y[meet - 1], float)
    jx, ox = dx[:, None] * ax, dx * cx
    jy, oy = dy[:, None] * ay, dy * cy
    width = float(np.max(hi - lo))
    if x_fixed is None:
        # variables [x, y, delta]
        zx, zy = np.zeros((gx.shape[0], n)), np.zeros((gy.shape[0], n))
        sep = np.zeros(2 * n + 1)
        sep[coord], sep[n + coord], sep[-1] = -sign, sign, 1.0
        a_ub = np.vstack(
            [
                np.hstack([gx, zx, np.ones((gx.shape[0], 1))]),
                np.hstack([zy, gy, np.ones((gy.shape[0], 1))]),
                sep[None, :],
            ]
        )
        b_ub = np.concatenate([-sx, -sy, [0.0]])
        a_eq = np.hstack([jx, -jy, np.zeros((jx.shape[0], 1))])
        b_eq = oy - ox
        var_bounds = list(zip(lo, hi, strict=True)) * 2 + [(None, width)]
    else:
        # variables [y, delta]
        sep = np.zeros(n + 1)
        sep[coord], sep[-1] = sign, 1.0
        a_ub = np.vstack([np.hstack([gy, np.ones((gy.shape[0], 1))]), sep[None, :]])
        b_ub = np.concatenate([-sy, [sign * x_fixed[coord]]])
        a_eq = np.hstack([jy, np.zeros((jy.shape[0], 1))])
        b_eq = jx @ x_fixed + ox - oy
        var_bounds = list(zip(lo, hi, strict=True)) + [(None, width)]
    cost = np.zeros(a_ub.shape[1])
    cost[-1] = -1.0
    res = linprog(
        cost, A_ub=a_ub, b_ub=b_ub, A_eq=a_eq, b_eq=b_eq, bounds=var_bounds, method="highs"
    )
    if res.status != 0 or res.x[-1] <= 1e-9 * width:
        return None
    if x_fixed is None:
        return res.x[:n], res.x[n : 2 * n]
    return np.asarray(x_fixed, float), res.x[:n]


def interior_point(
    layers: Sequence[Layer],
    pattern: Sequence[np.ndarray],
    upto: int,
    lo: np.ndarray,
    hi: np.ndarray,
) -> tuple[np.ndarray, float] | None:
    """Largest-margin point of the region of ``pattern`` (layers ``1..upto``) in the box."""
    n = lo.size
    g, s = _margin_rows(affine_pieces(layers, pattern), pattern, upto)
    width = float(np.max(hi - lo))
    cost = np.zeros(n + 1)
    cost[-1] = -1.0
    a_ub = np.hstack([g, np.ones((g.shape[0], 1))]) if g.size else None
    res = linprog(
        cost,
        A_ub=a_ub,
        b_ub=-s if g.size else None,
        bounds=list(zip(lo, hi, strict=True)) + [(None, width)],
        method="highs",
    )
    if res.status != 0 or res.x[-1] <= 1e-9 * width:
        return None
    return res.x[:n], float(res.x[-1])


def null_step(
    layers: Sequence[Layer],
    pattern: Sequence[np.ndarray],
    upto: int,
    x: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
) -> np.ndarray | None:
    """``y = x + t d`` with ``J_upto d = 0``, t small enough to keep the pattern and the box."""
    maps = affine_pieces(layers, pattern)
    a_k, _ = maps[upto - 1]
    jac = np.asarray(pattern[upto - 1], float)[:, None] * a_k
    # Only V is needed; U of a tall Jacobian (m >> n) would be m x m.
    _, sing, vt = np.linalg.svd(jac, full_matrices=jac.shape[0] < jac.shape[1])
    n = x.size
    rank = int(np.sum(sing > 1e-10 * max(sing.max(initial=0.0), 1e-300)))
    if rank >= n:
        return None
    d = vt[-1]
    limit = np.inf
    for k in range(upto):
        a_j, c_j = maps[k]
        pre = a_j @ x + c_j
        rate = a_j @ d
        moving = np.abs(rate) > 1e-14 * (np.abs(a_j).max(initial=0.0) + 1e-300)
        if np.any(moving):
            limit = min(limit, float(np.min(np.abs(pre[moving]) / np.abs(rate[moving]))))
    # The box may block one direction (x on its face): go the roomier way.
    best_room = 0.0
    for cand in (d, -d):
        with np.errstate(divide="ignore", invalid="ignore"):
            room = np.where(cand > 0, (hi - x) / cand, np.where(cand < 0, (lo - x) / cand, np.inf))
        if float(np.min(room)) > best_room:
            best_room, d = float(np.min(room)), cand
    limit = min(limit, best_room)
    t = 0.5 * limit if np.isfinite(limit) else 1.0
    if t <= 0:
        return None
    return x + t * d
