"""Plain random duality (Gordon) for deep bias-free ReLU networks: layer-wise expansions.

Program (derivation in ``docs/theory.md``). Let ``T_{k-1} subset S^{m_{k-1}-1}`` be the
normalised image of the input sphere under the first ``k-1`` layers and
``omega_{k-1}^2 = (E sup_{u in T_{k-1}} <g, u>)^2 / n`` its normalised Gaussian width
(``omega_0 = 1``). Conditionally on the first ``k-1`` layers, Gordon's comparison
applied to ``W_k`` says every ``x`` has at least ``n`` active units at layer ``k``
w.h.p. once

    beta_k I(kappa) > omega_{k-1}^2,    beta_k Q(kappa) = 1,    beta_k = m_k / n.

The same comparison gives the next width: ``{W_k u : u in T_{k-1}}`` is replaced by the
ball of radius ``sqrt(n) omega_{k-1}`` around a Gaussian vector ``h in R^{m_k}``, so

    sqrt(n) omega_k ~ E sup { <g, ReLU(y)> / |ReLU(y)| : |y - h|^2 <= n omega_{k-1}^2 },

a separable problem solved exactly in the large-n limit through its KKT conditions
(:func:`width_map`). All quantities are per ``n`` and exact in the limit; the chain of
Gordon estimates makes the layer-wise expansions *upper bounds* on what is needed for
local non-degeneracy (every Jacobian of rank ``n``), not a statement about folds.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
from scipy import optimize, special

from .rs import I_trunc

__all__ = [
    "WidthMap",
    "width_map",
    "layer_expansion",
    "DeepLayer",
    "deep_expansion",
    "width_monte_carlo",
]

_GL_X, _GL_W = np.polynomial.legendre.leggauss(64)


@dataclass(frozen=True)
class WidthMap:
    """Solution of the per-coordinate KKT system behind :func:`width_map`."""

    beta: float  # m_k / n
    omega_in: float
    omega_out: float
    p: float  # a / R: objective value over the norm of ReLU(y)
    s: float  # Lagrange multiplier of the ball constraint times R
    active_fraction: float  # P(r_i > 0) at the maximiser


def _moments(p: float, s: float):
    """``E[r^2], E[g r], E[cost], P(r > 0)`` for ``(g, h) ~ N(0, I_2)``.

    The per-coordinate maximiser of ``g r - p r^2 / 2 - s cost(r; h)`` over ``r >= 0``
    (``cost = (r - h)^2`` for ``r > 0``, ``h_+^2`` for ``r = 0``) is positively
    homogeneous in ``(g, h)``; in polar coordinates ``(g, h) = rho (cos t, sin t)`` it is
    ``rho (cos t + 2 s sin t) / (p + 2 s)`` for ``t in (t_b, t_a)`` and 0 elsewhere, with
    ``t_a = pi - atan(1 / (2 s))`` (where the interior root reaches 0 for ``h > 0``) and
    ``t_b = -atan(1 / K)``, ``K = 2 s + sqrt(2 s (p + 2 s))`` (for ``h < 0`` the root
    beats ``r = 0`` only there: a jump). With ``E rho^2 = 2`` each moment is
    ``(1 / pi) int r(t)^2 dt`` etc., done by Gauss-Legendre on the smooth pieces.
    """
    t_a = math.pi - math.atan(1.0 / (2.0 * s)) if s > 0 else math.pi / 2
    kk = 2.0 * s + math.sqrt(2.0 * s * (p + 2.0 * s))
    t_b = -math.atan(1.0 / kk) if kk > 0 else -math.pi / 2

    def nodes(a, b):
        return 0.5 * (b - a) * _GL_X + 0.5 * (a + b), 0.5 * (b - a) * _GL_W

    t, w = nodes(t_b, t_a)
    g, h = np.cos(t), np.sin(t)
    r = (g + 2.0 * s * h) / (p + 2.0 * s)
    er2 = float(w @ r**2) / math.pi
    egr = float(w @ (g * r)) / math.pi
    cost = float(w @ (r - h) ** 2) / math.pi
    # r = 0 with h > 0 costs h^2: angles (t_a, pi)
    t0, w0 = nodes(t_a, math.pi)
    cost += float(w0 @ np.sin(t0) ** 2) / math.pi
    return er2, egr, cost, (t_a - t_b) / (2.0 * math.pi)


def width_map(beta: float, omega: float) -> WidthMap:
    """Gordon estimate of the normalised width after one more ReLU layer.

    Parameters
    ----------
    beta
        Width of the new layer over the input dimension, ``m_k / n``.
    omega
        Normalised width ``omega_{k-1}`` of the normalised image set entering the layer.

    Returns
    -------
    WidthMap
        ``omega_out = sqrt(beta) E[g r] / sqrt(E[r^2])`` at the KKT point, where the
        multipliers ``(p, s)`` solve ``p E[r^2] = E[g r]`` (the objective is a ratio) and
        ``beta E[cost] = omega^2`` (the ball constraint is active).

    Examples
    --------
    >>> round(width_map(1e6, 1.0).omega_out, 2)  # very wide layer: nearly isometric image
    1.0
    """
    if beta <= 0 or omega <= 0:
        raise ValueError("beta and omega must be positive")

    def p_of_s(s):
        # p E[r^2] - E[g r] decreases in p; root in (0, inf)
        def eq(p):
            er2, egr, _, _ = _moments(p, s)
            return p * er2 - egr

        hi = 1.0
        while eq(hi) < 0:
            hi *= 2.0
        return optimize.brentq(eq, 1e-12, hi, xtol=1e-14, rtol=1e-13)

    def cost_gap(log_s):
        s = math.exp(log_s)
        return beta * _moments(p_of_s(s), s)[2] - omega**2

    # cost decreases as the multiplier s grows (a stiffer ball)
    lo, hi = -20.0, 20.0
    if cost_gap(lo) < 0:  # even the unconstrained optimum fits in the ball
        s = math.exp(lo)
    else:
        s = math.exp(optimize.brentq(cost_gap, lo, hi, xtol=1e-13))
    p = p_of_s(s)
    er2, egr, _, act = _moments(p, s)
    return WidthMap(beta, omega, math.sqrt(beta) * egr / math.sqrt(er2), p, s, act)


def layer_expansion(omega: float) -> float:
    """Smallest ``beta = m_k / n`` with ``beta I(kappa) >= omega^2``, ``beta Q(kappa) = 1``.

    ``omega = 1`` gives the one-layer RS/Gordon threshold 7.6477.
    """

    def gap(beta):
        kappa = special.ndtri(1.0 - 1.0 / beta)  # Q(kappa) = 1/beta
        return beta * I_trunc(kappa) - omega**2

    hi = 4.0
    while gap(hi) < 0:
        hi *= 2.0
    return optimize.brentq(gap, 2.0 + 1e-12, hi, xtol=1e-14, rtol=1e-14)


@dataclass(frozen=True)
class DeepLayer:
    """One row of the deep expansion table."""

    layer: int
    omega_in: float  # omega_{k-1}
    m_over_n: float  # beta_k = m_k / n needed at layer k
    expansion: float  # m_k / m_{k-1}
    omega_out: float  # omega_k (Gordon estimate)
    active_fraction: float  # fraction of units active at the width maximiser

    def as_dict(self) -> dict:
        return asdict(self)


def deep_expansion(depth: int, widths: list[float] | None = None) -> list[DeepLayer]:
    """Plain-RDT layer-by-layer expansions for a depth-``depth`` network.

    Each layer is set at its own threshold ``beta_k = layer_expansion(omega_{k-1})``
    unless ``widths`` (values of ``m_k / n``) are given, in which case those are used to
    propagate ``omega`` and the threshold column still reports what would be needed.
    """
    if depth < 1:
        raise ValueError("depth must be >= 1")
    rows = []
    omega, prev = 1.0, 1.0
    for k in range(1, depth + 1):
        need = layer_expansion(omega)
        beta = need if widths is None else float(widths[k - 1])
        wm = width_map(beta, omega)
        rows.append(DeepLayer(k, omega, need, need / prev, wm.omega_out, wm.active_fraction))
        omega, prev = wm.omega_out, beta
    return rows


def width_monte_carlo(
    widths_over_n: list[float],
    n: int,
    seed: int = 0,
    restarts: int = 16,
    steps: int = 300,
    samples: int = 1,
) -> dict:
    """Monte Carlo of ``omega_l = E sup_x <g, u(x)> / sqrt(n)`` for random ReLU layers.

    ``u(x) = h_l(x) / |h_l(x)|`` is the normalised output of ``l = len(widths_over_n)``
    Gaussian layers with widths ``round(beta_k n)``. The sup over the sphere is
    searched by projected gradient ascent (Adam on ``x / |x|``) from ``restarts``
    starting points, one of them the linearised guess ``J^T g``. Any search returns
    a value *below* the true sup, so this is a lower estimate; the gap is gauged by the
    spread between restarts (reported) and by comparing restart counts in the docs.

    Returns a dict with the mean estimate, its standard error over ``samples`` networks
    and the mean spread between the best and the median restart.
    """
    import torch

    n_threads = torch.get_num_threads()
    torch.set_num_threads(1)  # small matrices: one thread is faster on a shared machine
    try:
        return _width_mc(widths_over_n, n, seed, restarts, steps, samples)
    finally:
        torch.set_num_threads(n_threads)


def _width_mc(widths_over_n, n, seed, restarts, steps, samples) -> dict:
    import torch

    gen = torch.Generator().manual_seed(seed)
    vals, spreads = [], []
    for _ in range(samples):
        dims = [n] + [int(round(b * n)) for b in widths_over_n]
        ws = [
            torch.randn(dims[i + 1], dims[i], generator=gen, dtype=torch.float64)
            for i in range(len(dims) - 1)
        ]
        g = torch.randn(dims[-1], generator=gen, dtype=torch.float64)

        def value(x, ws=ws, g=g):
            h = x / x.norm(dim=1, keepdim=True)
            for w in ws:
                h = torch.relu(h @ w.T)
            return (h @ g) / h.norm(dim=1).clamp_min(1e-300)

        x0 = torch.randn(restarts, n, generator=gen, dtype=torch.float64)
        # linearised start: gradient of <g, W_l ... W_1 x> through the all-active path
        v = g.clone()
        for w in reversed(ws):
            v = w.T @ v
        x0[0] = v
        x = x0.clone().requires_grad_(True)
        opt = torch.optim.Adam([x], lr=0.05)
        for it in range(steps):
            opt.zero_grad()
            loss = -value(x).sum()
            loss.backward()
            opt.step()
            with torch.no_grad():
                x /= x.norm(dim=1, keepdim=True)
            if it == steps // 2:
                for grp in opt.param_groups:
                    grp["lr"] = 0.01
        with torch.no_grad():
            vv = value(x)
        vals.append(float(vv.max()) / math.sqrt(n))
        spreads.append(float(vv.max() - vv.median()) / math.sqrt(n))
    arr = np.array(vals)
    return {
        "n": n,
        "omega": float(arr.mean()),
        "stderr": float(arr.std(ddof=1) / math.sqrt(len(arr))) if len(arr) > 1 else float("nan"),
        "restart_spread": float(np.mean(spreads)),
        "samples": samples,
        "restarts": restarts,
    }
