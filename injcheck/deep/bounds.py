"""Pre-activation bounds on an input box: interval arithmetic, then LP tightening.

Every unit ends up in one of three classes: always off (``upper <= 0``), always on
(``lower >= 0``) or undecided; only undecided units need a binary in the MILP.

Bounds only tighten: an LP that fails or runs out of time keeps the previous (interval)
bound, and an LP value is loosened by a small safety margin before it is used, so a
solver tolerance can never cut a true network point out of the encoding.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import linprog

from ..networks import Layer

#: Relative safety margin added to every LP bound (LP optima are accurate to ~1e-9).
LP_SAFETY = 1e-7

OFF, UNDECIDED, ON = -1, 0, 1


@dataclass
class Bounds:
    """Proven bounds ``lower[k] <= W_k h_{k-1} + b_k <= upper[k]`` on the input box.

    Attributes
    ----------
    lower, upper : list of ndarray
        Pre-activation bounds per layer (0-based list index = layer - 1).
    lo, hi : ndarray
        The input box they hold on.
    lp_solves, lp_failures : int
        LP tightening calls, and those that failed (their bound was kept).
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
    tightened: list[bool] = field(default_factory=list)

    def state(self, k: int) -> np.ndarray:
        """Per unit of layer ``k`` (0-based): ``OFF``, ``ON`` or ``UNDECIDED``."""
        out = np.full(self.lower[k].shape, UNDECIDED)
        # lower == 0 stays undecided: such a unit may vanish on a whole region, and
        # counting it as active there would be wrong for the local check.
        out[self.lower[k] > 0] = ON
        out[self.upper[k] <= 0] = OFF
        return out

    def undecided(self, k: int) -> np.ndarray:
        """Indices of the undecided units of layer ``k`` (0-based)."""
        return np.flatnonzero(self.state(k) == UNDECIDED)

    def undecided_per_layer(self) -> list[int]:
        return [int(self.undecided(k).size) for k in range(len(self.lower))]

    def post(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Bounds of ``h_k = ReLU(pre_k)``."""
        return np.maximum(self.lower[k], 0.0), np.maximum(self.upper[k], 0.0)


def _interval(layer: Layer, h_lo: np.ndarray, h_hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    w_pos, w_neg = np.maximum(layer.weight, 0), np.minimum(layer.weight, 0)
    bias = layer.bias
    return w_pos @ h_lo + w_neg @ h_hi + bias, w_pos @ h_hi + w_neg @ h_lo + bias


def _relaxation(layers: Sequence[Layer], bounds: Bounds, upto: int):
    """LP relaxation (triangle for undecided units) of layers ``0..upto-1``.

    Variables: ``[x, h_1, ..., h_upto]``. Returns ``(a_ub, b_ub, a_eq, b_eq, var_bounds,
    offset of h_upto)``.
    """
    n = bounds.lo.size
    sizes = [n] + [layer.weight.shape[0] for layer in layers[:upto]]
    offsets = np.concatenate([[0], np.cumsum(sizes)])
    total = int(offsets[-1])
    rows_ub, rhs_ub, rows_eq, rhs_eq = [], [], [], []
    var_bounds = list(zip(bounds.lo, bounds.hi, strict=True))
    for k in range(upto):
        layer = layers[k]
        lower, upper = bounds.lower[k], bounds.upper[k]
        state = bounds.state(k)
        bias = layer.bias.copy()
        prev = slice(offsets[k], offsets[k + 1])
        for i in range(layer.weight.shape[0]):
            col = offsets[k + 1] + i
            if state[i] == OFF:
                var_bounds.append((0.0, 0.0))
                continue
            var_bounds.append((max(lower[i], 0.0), max(upper[i], 0.0)))
            row = np.zeros(total)
            row[prev] = layer.weight[i]
            if state[i] == ON:  # h = pre
                row[col] = -1.0
                rows_eq.append(row)
                rhs_eq.append(-bias[i])
                continue
            # h >= pre
            ge = row.copy()
            ge[col] = -1.0
            rows_ub.append(ge)
            rhs_ub.append(-bias[i])
            # h <= u (pre - l) / (u - l)
            slope = upper[i] / (upper[i] - lower[i])
            le = -slope * row
            le[col] = 1.0
            rows_ub.append(le)
            rhs_ub.append(slope * (bias[i] - lower[i]))
    as_arr = lambda rows: np.array(rows) if rows else None  # noqa: E731
    return (
        as_arr(rows_ub),
        np.array(rhs_ub) if rhs_ub else None,
        as_arr(rows_eq),
        np.array(rhs_eq) if rhs_eq else None,
        var_bounds,
        int(offsets[upto]),  # start of h_upto
        total,
    )


def compute_bounds(
    layers: Sequence[Layer],
    lo: np.ndarray,
    hi: np.ndarray,
    *,
    use_lp: bool = True,
    deadline: float | None = None,
) -> Bounds:
    """Interval bounds, then per-unit LP tightening of layers 2..l.

    Layer 1 needs no LP: on a box the interval bound is exact.

    Parameters
    ----------
    layers : list of Layer
    lo, hi : ndarray
        Input box.
    use_lp : bool
        Tighten with LPs (one min and one max per undecided unit).
    deadline : float, optional
        ``time.perf_counter()`` value after which no more LPs are started.

    Returns
    -------
    Bounds
    """
    start = time.perf_counter()
    lo, hi = np.asarray(lo, float), np.asarray(hi, float)
    bounds = Bounds([], [], lo, hi)
    h_lo, h_hi = lo, hi
    for k, layer in enumerate(layers):
        low, up = _interval(layer, h_lo, h_hi)
        bounds.lower.append(low)
        bounds.upper.append(up)
        tightened = False
        if use_lp and k > 0:
            tightened = _tighten_layer(layers, bounds, k, deadline)
        bounds.tightened.append(tightened)
        h_lo, h_hi = bounds.post(k)
    bounds.seconds = time.perf_counter() - start
    return bounds


def _tighten_layer(layers, bounds: Bounds, k: int, deadline: float | None) -> bool:
    a_ub, b_ub, a_eq, b_eq, var_bounds, h_off, total = _relaxation(layers, bounds, k)
    layer = layers[k]
    bias = layer.bias.copy()
    width_prev = layers[k - 1].weight.shape[0]
    all_done = True
    for i in np.flatnonzero(bounds.state(k) == UNDECIDED):
        for sense in (1.0, -1.0):  # 1: minimise (lower bound), -1: maximise
            if deadline is not None and time.perf_counter() > deadline:
                return False
            cost = np.zeros(total)
            cost[h_off : h_off + width_prev] = sense * layer.weight[i]
            options = {}
            if deadline is not None:
                options["time_limit"] = max(deadline - time.perf_counter(), 1e-3)
            bounds.lp_solves += 1
            try:
                res = linprog(
                    cost,
                    A_ub=a_ub,
                    b_ub=b_ub,
                    A_eq=a_eq,
                    b_eq=b_eq,
                    bounds=var_bounds,
                    method="highs",
                    options=options,
                )
            except ValueError:
                res = None
            if res is None or res.status != 0:
                bounds.lp_failures += 1
                all_done = False
                continue  # keep the interval bound
            value = sense * float(res.fun) + bias[i]
            slack = LP_SAFETY * (1.0 + abs(value))
            if sense > 0:
                bounds.lower[k][i] = max(bounds.lower[k][i], value - slack)
            else:
                bounds.upper[k][i] = min(bounds.upper[k][i], value + slack)
    return all_done


def sampled_violation(
    layers: Sequence[Layer], bounds: Bounds, *, samples: int = 512, seed: int = 0
) -> float:
    """Largest relative violation of the bounds by random inputs (and box corners).

    A positive value means a bound is wrong, so no proof built on it may be trusted.
    """
    rng = np.random.default_rng(seed)
    n = bounds.lo.size
    pts = bounds.lo + (bounds.hi - bounds.lo) * rng.random((samples, n))
    corners = bounds.lo + (bounds.hi - bounds.lo) * rng.integers(0, 2, (samples, n))
    h = np.vstack([pts, corners])
    worst = 0.0
    for k, layer in enumerate(layers):
        pre = h @ layer.weight.T + layer.bias
        scale = 1.0 + np.maximum(np.abs(bounds.lower[k]), np.abs(bounds.upper[k]))
        worst = max(worst, float(np.max((bounds.lower[k] - pre) / scale)))
        worst = max(worst, float(np.max((pre - bounds.upper[k]) / scale)))
        h = np.maximum(pre, 0.0)
    return worst
