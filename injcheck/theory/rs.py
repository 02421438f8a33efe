"""Plain random duality (Gordon) = replica-symmetric predictions for one ReLU layer.

Notation (see ``docs/theory.md``): ``phi``/``Phi`` are the standard normal density and
CDF, ``Q(k) = 1 - Phi(k)`` and ``I(k) = E[z^2 1(0 < z < k)] = Phi(k) - 1/2 - k phi(k)``.

For a Gaussian ``m x n`` matrix ``W`` with ``m = alpha n`` the minimal number of
non-negative pre-activations ``P*(W) = min_{x != 0} #{i : <w_i, x> >= 0}`` satisfies,
with probability -> 1, ``P*(W)/n >= e_RS(alpha) - o(1)`` where

    alpha I(kappa) = 1,   e_RS(alpha) = alpha Q(kappa)

(Gordon's comparison inequality; Maillard et al. 2023, Stojnic 2024). The threshold
``e_RS = 1`` is the rigorous upper bound ``alpha_RS ~ 7.6477`` on the injectivity
capacity.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import optimize, special

__all__ = [
    "I_trunc",
    "Q_tail",
    "kappa_rs",
    "ground_state_rs",
    "capacity_rs",
    "puthawala_witness_alpha",
    "RSFiniteTemperature",
    "rs_finite_temperature",
    "dat_alpha",
    "gordon_distance_mc",
]


def Q_tail(k: float) -> float:
    """Gaussian tail ``Q(k) = P(z > k)``."""
    return float(special.ndtr(-k))


def I_trunc(k: float) -> float:
    """``I(k) = int_0^k z^2 phi(z) dz = Phi(k) - 1/2 - k phi(k)`` (increases from 0 to 1/2)."""
    if k <= 0.0:
        return 0.0
    if k < 1e-3:
        # Series avoids the cancellation of three O(1) terms: I(k) = k^3 / (3 sqrt(2 pi)) + O(k^5).
        return k**3 / (3.0 * math.sqrt(2.0 * math.pi)) * (1.0 - 0.3 * k * k)
    return float(special.ndtr(k) - 0.5 - k * math.exp(-0.5 * k * k) / math.sqrt(2.0 * math.pi))


def kappa_rs(alpha: float) -> float:
    """Root ``kappa`` of ``alpha I(kappa) = 1``; ``inf`` when ``alpha <= 2`` (no root)."""
    if alpha <= 2.0:
        return math.inf
    # I is increasing on (0, inf) with I(inf) = 1/2, so the bracket always holds for alpha > 2.
    hi = 1.0
    while alpha * I_trunc(hi) < 1.0:
        hi *= 2.0
    return optimize.brentq(lambda k: alpha * I_trunc(k) - 1.0, 0.0, hi, xtol=1e-15, rtol=1e-15)


def ground_state_rs(alpha: float) -> float:
    """Plain-RDT / RS minimal fraction ``e_RS(alpha) = alpha Q(kappa(alpha))``.

    A rigorous asymptotic lower bound on ``P*(W)/n``. Zero for ``alpha <= 2``, where
    Gordon's bound is void.

    Examples
    --------
    >>> round(ground_state_rs(7.6477), 3)
    1.0
    """
    k = kappa_rs(alpha)
    return 0.0 if math.isinf(k) else alpha * Q_tail(k)


def capacity_rs() -> float:
    """RS threshold: ``Q(kappa) = I(kappa)`` and ``alpha = 1 / Q(kappa)`` (~7.64769)."""
    k = optimize.brentq(lambda k: Q_tail(k) - I_trunc(k), 0.1, 5.0, xtol=1e-15, rtol=1e-15)
    return 1.0 / Q_tail(k)


def puthawala_witness_alpha() -> float:
    """Root of ``c Phi(-1/sqrt(c)) = 1`` (~3.4028).

    Below it the explicit point ``x0 = -mean_i w_i/|w_i|`` of Puthawala et al. (JMLR 2022)
    has fewer than ``n`` non-negative rows w.h.p., so a Gaussian layer is not injective.
    """
    return optimize.brentq(
        lambda c: c * special.ndtr(-1.0 / math.sqrt(c)) - 1.0, 2.0, 6.0, xtol=1e-14
    )


# --------------------------------------------------------------------------------------
# Finite temperature RS and the de Almeida-Thouless (dAT) point.
# --------------------------------------------------------------------------------------

# A dense trapezoid grid rather than Gauss-Hermite: near q -> 1 the integrands vary on
# the scale sqrt((1-q)/q) in xi, far below the Gauss-Hermite node spacing.
_GH_X = np.linspace(-10.0, 10.0, 8001)
_GH_W = np.exp(-0.5 * _GH_X**2) / math.sqrt(2.0 * math.pi) * (_GH_X[1] - _GH_X[0])


@dataclass(frozen=True)
class RSFiniteTemperature:
    """RS solution of the Gibbs measure ``exp(-beta #{i: <w_i,x> >= 0})`` on the sphere."""

    alpha: float
    beta: float
    q: float
    energy: float
    at_lambda: float  # alpha (1-q)^2 E[(d^2 log Z_out)^2]; RS is AT-stable iff < 1


def _zout_terms(q: float, beta: float):
    # Z_out(h) = E_z exp(-beta 1(h + sqrt(1-q) z >= 0)) = 1 - (1 - e^-beta) Phi(h / sqrt(1-q)).
    s = math.sqrt(1.0 - q)
    u = math.sqrt(q) * _GH_X / s
    a = -math.expm1(-beta)
    pdf = np.exp(-0.5 * u * u) / math.sqrt(2.0 * math.pi)
    z = special.ndtr(-u) + math.exp(-beta) * special.ndtr(u)  # no cancellation
    return u, a, pdf, z, s


def _rs_free_entropy_dq(q: float, alpha: float, beta: float) -> float:
    # d/dq of phi(q) = 1/2 log(1-q) + q / (2(1-q)) + alpha E log Z_out(sqrt(q) xi; 1-q).
    # Entropic part derivative: q / (2 (1-q)^2). Energetic part by differentiating u(q).
    u, a, pdf, z, s = _zout_terms(q, beta)
    du_dq = _GH_X * (0.5 / math.sqrt(q) / s + 0.5 * math.sqrt(q) / s**3)
    dlogz = -a * pdf * du_dq / z
    return q / (2.0 * (1.0 - q) ** 2) + alpha * float(np.dot(_GH_W, dlogz))


def rs_finite_temperature(alpha: float, beta: float) -> RSFiniteTemperature:
    """Solve the finite-temperature RS equation for ``q`` and return energy and AT value."""
    g = lambda q: _rs_free_entropy_dq(q, alpha, beta)  # noqa: E731
    lo, hi = 1e-10, 1.0 - 1e-7
    if g(lo) * g(hi) > 0:
        q = 0.0 if g(lo) < 0 else hi
    else:
        q = optimize.brentq(g, lo, hi, xtol=1e-14)
    q = max(q, 1e-12)
    u, a, pdf, z, s = _zout_terms(q, beta)
    energy = alpha * float(np.dot(_GH_W, math.exp(-beta) * special.ndtr(u) / z))
    # (1-q) d^2/dh^2 log Z_out = a u pdf / Z - a^2 pdf^2 / Z^2 (derivatives in h = sqrt(q) xi).
    s2g = a * u * pdf / z - (a * pdf / z) ** 2
    lam = alpha * float(np.dot(_GH_W, s2g**2))
    return RSFiniteTemperature(alpha, beta, q, energy, lam)


def dat_alpha() -> float:
    """de Almeida-Thouless point of the RS solution (~5.3238).

    For each ``alpha`` take the inverse temperature ``beta*(alpha)`` at which the RS
    energy equals 1 (``n`` non-negative rows); ``alpha_dAT`` is where that RS solution
    becomes AT-unstable. Below it the RS computation at ``beta*`` is (heuristically)
    exact, so states with at most ``n`` non-negative rows exist: a non-rigorous lower
    bound on the injectivity capacity (Maillard et al. 2023).
    """

    def beta_star(alpha: float) -> float:
        return optimize.brentq(
            lambda b: rs_finite_temperature(alpha, b).energy - 1.0, 1e-3, 30.0, xtol=1e-13
        )

    def at_margin(alpha: float) -> float:
        return rs_finite_temperature(alpha, beta_star(alpha)).at_lambda - 1.0

    return optimize.brentq(at_margin, 4.0, 7.0, xtol=1e-10)


# --------------------------------------------------------------------------------------
# Direct Monte Carlo of Gordon's auxiliary problem (an independent check of the RS line).
# --------------------------------------------------------------------------------------


def gordon_distance_mc(alpha: float, n: int, rng: np.random.Generator, reps: int = 1) -> float:
    """Estimate ``e_RS(alpha)`` from Gordon's auxiliary problem by sampling, no formulas.

    Gordon's comparison says ``min_{|x|=1} dist(Wx, C_K) > 0`` (so ``P*(W) > K``) w.h.p.
    whenever ``E dist(h, C_K) > E |g|`` with ``h ~ N(0, I_m)``, ``g ~ N(0, I_n)`` and
    ``C_K`` the closed set of vectors with at most ``K`` positive entries. The distance
    is explicit: keep the ``K`` largest positive ``h_i``, pay ``h_i^2`` for the others.
    Returns the mean over ``reps`` of ``K*/n``, the largest ``K`` with
    ``dist(h, C_K) > |g|``.
    """
    m = int(round(alpha * n))
    out = []
    for _ in range(reps):
        h = rng.standard_normal(m)
        g = rng.standard_normal(n)
        pos = np.sort(h[h > 0])  # ascending
        # dist^2 when keeping the K largest free = sum of the (npos - K) smallest squares.
        cum = np.concatenate([[0.0], np.cumsum(pos**2)])  # cum[j] = sum of j smallest
        npos = pos.size
        dist2 = cum[npos - np.arange(npos + 1)]  # index K = 0..npos
        ok = np.nonzero(dist2 > g @ g)[0]
        out.append((ok.max() if ok.size else 0) / n)
    return float(np.mean(out))
