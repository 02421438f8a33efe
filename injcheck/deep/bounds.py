"""Sound pre-activation bounds on input boxes: one type, the method chosen by name.

``compute_bounds(layers, lo, hi, method=...)`` returns :class:`Bounds` with
``lower[k] <= W_k h_{k-1}(x) + b_k <= upper[k]`` for every ``x`` in the box. ``lo, hi``
are one box (shape ``(n,)``) or a batch of boxes (``(B, n)``); the bounds then have a
leading batch axis. Methods, from cheap to tight:

* ``"interval"``: interval arithmetic, layer by layer;
* ``"symbolic"``: forward symbolic intervals (affine lower and upper functions of ``x``
  per unit, concretised exactly over the box);
* ``"crown"``: back-substitution of every layer's rows through the ReLU relaxations of
  the layers below (the CROWN / DeepPoly scheme), met with the symbolic bounds;
* ``"lp"`` (one box): interval bounds, then two LPs per undecided unit of layers 2..l
  over the triangle relaxation. An LP value is loosened by ``LP_SAFETY``; an LP that
  fails or runs out of time keeps the interval bound. Bounds only tighten.

Every relaxation uses :func:`relu_relaxation`; every concretisation is widened by a few
ulps of the magnitudes involved, so float rounding cannot make a bound unsound.
:func:`sampled_violation` is the sanity check that every proof runs before trusting
bounds.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from scipy.optimize import linprog

from ..budget import Budget
from ..layers import Layer, pre_activations

#: Relative safety margin added to every LP bound (LP optima are accurate to ~1e-9).
LP_SAFETY = 1e-7
#: Relative widening of concretised affine bounds (float rounding of the propagation).
ROUNDING = 1e-12
METHODS = ("interval", "symbolic", "crown", "lp")

OFF, UNDECIDED, ON = -1, 0, 1


@dataclass
class Bounds:
    """Proven pre-activation bounds of every layer on a box (or a batch of boxes).

    A sequence of ``(lower[k], upper[k])`` per layer (0-based ``k`` = layer - 1).

    Attributes
    ----------
    lower, upper : list of ndarray
        Shape ``(m_k,)`` for one box, ``(B, m_k)`` for a batch.
    lo, hi : ndarray
        The box(es) they hold on.
    lp_solves, lp_failures : int
        LP tightening calls (method ``"lp"``), and those that failed (bound kept).
    seconds : float
        Time spent.
    """

    lower: list[np.ndarray]
    upper: list[np.ndarray]
    lo: np.ndarray
    hi: np.ndarray
    lp_solves: int = 0
    lp_failures: int = 0
    seconds: float = 0.0

    def __len__(self) -> int:
        return len(self.lower)

    def __getitem__(self, k):
        if isinstance(k, slice):
            return list(zip(self.lower[k], self.upper[k], strict=True))
        return self.lower[k], self.upper[k]

    def item(self, i: int) -> Bounds:
        """The bounds of box ``i`` of a batch."""
        return Bounds(
            [a[i] for a in self.lower], [a[i] for a in self.upper], self.lo[i], self.hi[i]
        )

    def prefix(self, depth: int) -> Bounds:
        """The bounds of layers ``1..depth`` (they hold for the truncated network)."""
        return Bounds(self.lower[:depth], self.upper[:depth], self.lo, self.hi)

    def state(self, k: int) -> np.ndarray:
        """Per unit of layer ``k`` (0-based): ``OFF``, ``ON`` or ``UNDECIDED``."""
        out = np.full(self.lower[k].shape, UNDECIDED)
        # lower == 0 stays undecided: such a unit may vanish on a whole region, and
        # counting it as active there would be wrong for the local check.
        out[self.lower[k] > 0] = ON
        out[self.upper[k] <= 0] = OFF
        return out

    def always_on(self, k: int) -> np.ndarray:
        """Number of units of layer ``k`` on everywhere on the box (per box of a batch)."""
        return np.sum(self.lower[k] > 0, axis=-1)

    def undecided(self, k: int) -> np.ndarray:
        """Indices of the undecided units of layer ``k`` (0-based, one box)."""
        return np.flatnonzero(self.state(k) == UNDECIDED)

    def undecided_per_layer(self) -> list[int]:
        return [int(self.undecided(k).size) for k in range(len(self.lower))]

    def post(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Bounds of ``h_k = ReLU(pre_k)``."""
        return np.maximum(self.lower[k], 0.0), np.maximum(self.upper[k], 0.0)


def compute_bounds(
    layers: Sequence[Layer],
    lo: np.ndarray,
    hi: np.ndarray,
    *,
    method: str = "crown",
    upto: int | None = None,
    budget: Budget | None = None,
) -> Bounds:
    """Sound bounds of layers ``1..upto`` (default all) on the box(es) ``[lo, hi]``.

    Parameters
    ----------
    layers : list of Layer
    lo, hi : ndarray of shape (n,) or (B, n)
    method : {"interval", "symbolic", "crown", "lp"}
        See the module docstring; ``"lp"`` takes one box.
    upto : int, optional
    budget : Budget, optional
        ``"lp"`` starts no LP after it expires (the interval bound is kept).

    Returns
    -------
    Bounds
    """
    if method not in METHODS:
        raise ValueError(f"unknown bound method {method!r}; use one of {METHODS}")
    start = time.perf_counter()
    lo, hi = np.asarray(lo, float), np.asarray(hi, float)
    layers = list(layers)[: len(layers) if upto is None else upto]
    if method == "lp":
        bounds = _lp_bounds(layers, lo, hi, budget or Budget.unlimited())
    else:
        single = lo.ndim == 1
        batch_lo, batch_hi = (lo[None], hi[None]) if single else (lo, hi)
        compute = {"interval": _interval, "symbolic": _symbolic, "crown": _crown}[method]
        lower, upper = compute(layers, batch_lo, batch_hi)
        if single:
            lower, upper = [a[0] for a in lower], [a[0] for a in upper]
        bounds = Bounds(lower, upper, lo, hi)
    bounds.seconds = time.perf_counter() - start
    return bounds


def relu_relaxation(low: np.ndarray, up: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per unit, ``lam p <= relu(p) <= slope p + shift`` for ``p`` in ``[low, up]``.

    On units: identity; off units: 0; undecided units: the triangle's upper side
    ``u (p - l) / (u - l)`` and the lower line of the smaller area (``lam`` 0 or 1).
    """
    on, off = low >= 0, up <= 0
    und = ~on & ~off
    lam = np.where(on, 1.0, np.where(und & (up > -low), 1.0, 0.0))
    slope = np.where(on, 1.0, np.where(und, up / np.where(und, up - low, 1.0), 0.0))
    shift = np.where(und, -slope * low, 0.0)
    return lam, slope, shift


def _concretise(coef: np.ndarray, const: np.ndarray, centre: np.ndarray, radius: np.ndarray):
    """Min over each box of ``coef x + const`` (batched), widened for float rounding."""
    value = np.einsum("bjn,bn->bj", coef, centre) + const
    spread = np.einsum("bjn,bn->bj", np.abs(coef), radius)
    slack = ROUNDING * np.einsum("bjn,bn->bj", np.abs(coef), np.abs(centre) + radius)
    return value - spread - slack - ROUNDING * (np.abs(const) + 1.0)


def _interval(layers: Sequence[Layer], lo: np.ndarray, hi: np.ndarray):
    """Interval arithmetic (exact for layer 1 on a box)."""
    lower, upper = [], []
    h_lo, h_hi = lo, hi
    for layer in layers:
        w_pos, w_neg = np.maximum(layer.weight, 0), np.minimum(layer.weight, 0)
        low = h_lo @ w_pos.T + h_hi @ w_neg.T + layer.bias
        up = h_hi @ w_pos.T + h_lo @ w_neg.T + layer.bias
        lower.append(low)
        upper.append(up)
        h_lo, h_hi = np.maximum(low, 0.0), np.maximum(up, 0.0)
    return lower, upper


def _symbolic(layers: Sequence[Layer], lo: np.ndarray, hi: np.ndarray):
    """Forward symbolic intervals: ``L(x) <= h_{k-1}(x) <= U(x)`` affine, pushed through
    ``W+ L + W- U + b <= pre_k <= W+ U + W- L + b`` and the ReLU relaxation."""
    batch, n = lo.shape
    centre, radius = (lo + hi) / 2.0, (hi - lo) / 2.0
    l_a = np.broadcast_to(np.eye(n), (batch, n, n))
    l_b = np.zeros((batch, n))
    u_a, u_b = l_a, l_b
    lower, upper = [], []
    for layer in layers:
        wp, wn = np.maximum(layer.weight, 0.0), np.minimum(layer.weight, 0.0)
        pl_a, pl_b = wp @ l_a + wn @ u_a, l_b @ wp.T + u_b @ wn.T + layer.bias
        pu_a, pu_b = wp @ u_a + wn @ l_a, u_b @ wp.T + l_b @ wn.T + layer.bias
        low = _concretise(pl_a, pl_b, centre, radius)
        up = -_concretise(-pu_a, -pu_b, centre, radius)
        lower.append(low)
        upper.append(up)
        lam, slope, shift = relu_relaxation(low, up)
        l_a, l_b = lam[..., None] * pl_a, lam * pl_b
        u_a, u_b = slope[..., None] * pu_a, slope * pu_b + shift
    return lower, upper


def _crown(layers: Sequence[Layer], lo: np.ndarray, hi: np.ndarray):
    """Back-substitution: the rows of ``W_k`` go down through the relaxations of layers
    ``k-1, ..., 1`` (lower relaxation where the coefficient is positive, upper where it
    is negative) to an affine function of ``x``, minimised exactly over the box; met
    with the symbolic bounds (both sound, so is the meet)."""
    centre, radius = (lo + hi) / 2.0, (hi - lo) / 2.0
    f_lower, f_upper = _symbolic(layers, lo, hi)
    lower, upper, relax = [f_lower[0]], [f_upper[0]], [relu_relaxation(f_lower[0], f_upper[0])]
    for k in range(1, len(layers)):
        low = np.maximum(_back_substitute(layers, relax, k, 1.0, centre, radius), f_lower[k])
        up = np.minimum(-_back_substitute(layers, relax, k, -1.0, centre, radius), f_upper[k])
        lower.append(low)
        upper.append(up)
        relax.append(relu_relaxation(low, up))
    return lower, upper


def _back_substitute(layers, relax, k: int, sign: float, centre, radius) -> np.ndarray:
    """Lower bound of ``sign * pre_k`` over each box, by back-substitution."""
    batch = centre.shape[0]
    weight = layers[k].weight
    coef = np.broadcast_to(sign * weight, (batch, *weight.shape))
    const = np.broadcast_to(sign * layers[k].bias, (batch, weight.shape[0]))
    for i in range(k - 1, -1, -1):
        lam, slope, shift = relax[i]
        pos, neg = np.maximum(coef, 0.0), np.minimum(coef, 0.0)
        const = const + np.einsum("bjm,bm->bj", neg, shift)
        a = pos * lam[:, None, :] + neg * slope[:, None, :]
        if layers[i].has_bias:
            const = const + a @ layers[i].bias
        coef = a @ layers[i].weight
    return _concretise(coef, const, centre, radius)


def _lp_bounds(layers: Sequence[Layer], lo: np.ndarray, hi: np.ndarray, budget: Budget):
    """Interval bounds, then per-unit LP tightening of layers 2..l (one box)."""
    lower, upper = _interval(layers[:1], lo[None], hi[None])
    bounds = Bounds([lower[0][0]], [upper[0][0]], lo, hi)
    for k in range(1, len(layers)):
        h_lo, h_hi = bounds.post(k - 1)
        low, up = _interval(layers[k : k + 1], h_lo[None], h_hi[None])
        bounds.lower.append(low[0][0])
        bounds.upper.append(up[0][0])
        _tighten_layer(layers, bounds, k, budget)
    return bounds


class _Relaxation(NamedTuple):
    """An LP in scipy's form over the variables ``[x, h_1, ..., h_upto]``."""

    a_ub: np.ndarray | None
    b_ub: np.ndarray | None
    a_eq: np.ndarray | None
    b_eq: np.ndarray | None
    var_bounds: list
    last_offset: int  # where h_upto starts
    size: int


def _triangle_relaxation(layers: Sequence[Layer], bounds: Bounds, upto: int) -> _Relaxation:
    """LP relaxation (triangle for undecided units) of layers ``0..upto-1``."""
    sizes = [bounds.lo.size] + [layer.weight.shape[0] for layer in layers[:upto]]
    offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(int)
    total = int(offsets[-1])
    rows_ub, rhs_ub, rows_eq, rhs_eq = [], [], [], []
    var_bounds = list(zip(bounds.lo, bounds.hi, strict=True))
    for k in range(upto):
        layer, state = layers[k], bounds.state(k)
        _, slope, shift = relu_relaxation(bounds.lower[k], bounds.upper[k])
        var_bounds += [
            (0.0, 0.0) if s == OFF else (p, q) for s, p, q in zip(state, *bounds.post(k))
        ]
        for i in np.flatnonzero(state != OFF):
            row = np.zeros(total)
            row[offsets[k] : offsets[k + 1]] = layer.weight[i]
            row[offsets[k + 1] + i] = -1.0  # row . z = pre - h
            if state[i] == ON:  # h = pre
                rows_eq.append(row)
                rhs_eq.append(-layer.bias[i])
                continue
            rows_ub.append(row)  # h >= pre
            rhs_ub.append(-layer.bias[i])
            upper_side = -slope[i] * row  # h <= slope pre + shift
            upper_side[offsets[k + 1] + i] = 1.0
            rows_ub.append(upper_side)
            rhs_ub.append(slope[i] * layer.bias[i] + shift[i])

    def as_array(rows):
        return np.array(rows) if rows else None

    return _Relaxation(
        as_array(rows_ub),
        as_array(rhs_ub),
        as_array(rows_eq),
        as_array(rhs_eq),
        var_bounds,
        int(offsets[upto]),
        total,
    )


def _tighten_layer(layers, bounds: Bounds, k: int, budget: Budget) -> None:
    """Two LPs per undecided unit of layer ``k`` (a failed LP is counted in ``lp_failures``
    and keeps the interval bound; none is started once the budget is spent)."""
    lp = _triangle_relaxation(layers, bounds, k)
    layer = layers[k]
    width_prev = layers[k - 1].weight.shape[0]
    for i in np.flatnonzero(bounds.state(k) == UNDECIDED):
        for sense in (1.0, -1.0):  # 1: minimise (lower bound), -1: maximise
            if budget.expired():
                return
            cost = np.zeros(lp.size)
            cost[lp.last_offset : lp.last_offset + width_prev] = sense * layer.weight[i]
            limit = budget.solver_seconds()
            bounds.lp_solves += 1
            try:
                res = linprog(
                    cost,
                    A_ub=lp.a_ub,
                    b_ub=lp.b_ub,
                    A_eq=lp.a_eq,
                    b_eq=lp.b_eq,
                    bounds=lp.var_bounds,
                    method="highs",
                    options={} if limit is None else {"time_limit": limit},
                )
            except ValueError:
                res = None
            if res is None or res.status != 0:
                bounds.lp_failures += 1
                continue  # keep the interval bound
            value = sense * float(res.fun) + layer.bias[i]
            slack = LP_SAFETY * (1.0 + abs(value))
            if sense > 0:
                bounds.lower[k][i] = max(bounds.lower[k][i], value - slack)
            else:
                bounds.upper[k][i] = min(bounds.upper[k][i], value + slack)


def sampled_violation(
    layers: Sequence[Layer], bounds: Bounds, *, samples: int = 512, seed: int = 0
) -> float:
    """Largest relative violation of one box's bounds by random inputs and box corners.

    A positive value means a bound is wrong, so no proof built on it may be trusted.
    """
    rng = np.random.default_rng(seed)
    n = bounds.lo.size
    points = bounds.lo + (bounds.hi - bounds.lo) * rng.random((samples, n))
    corners = bounds.lo + (bounds.hi - bounds.lo) * rng.integers(0, 2, (samples, n))
    worst = 0.0
    pres = pre_activations(layers[: len(bounds)], np.vstack([points, corners]))
    for (low, up), pre in zip(bounds, pres, strict=True):
        scale = 1.0 + np.maximum(np.abs(low), np.abs(up))
        worst = max(worst, float(np.max((low - pre) / scale)), float(np.max((pre - up) / scale)))
    return worst
