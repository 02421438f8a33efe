"""One step of lifting = one-step replica symmetry breaking (1RSB) at zero temperature.

The zero-temperature 1RSB energy of the spherical perceptron with the cost
``1(h >= 0)`` per row (derivation in ``docs/theory.md``), with parameters
``(q, chi, c)``, ``D = chi + c (1 - q)``, ``A = sqrt(chi / D)``, ``s = sqrt(1 - q)``:

    N(xi) = H(sqrt(q) xi / s) + e^{-c} H((sqrt(2 chi) - sqrt(q) xi) / s)
            + A exp(-c q xi^2 / (2 D)) [H(u1) - H(u2)],
    f = -q / (2 D) - ln(D / chi) / (2 c) - (alpha / c) E_xi ln N(xi),

with ``H(u) = P(z > u)``, ``u1 = -A sqrt(q) xi / s`` and
``u2 = -A (sqrt(q) xi - sqrt(2/chi) D) / s``. The 1RSB prediction ``e_1RSB(alpha)`` is
``f`` at its stationary point; there it also equals the second expression
``alpha e^{-c} E[I_2chi / N]`` (the fraction of rows pushed above ``sqrt(2 chi)``).

All functions accept complex parameters so that exact gradients come from the
complex-step rule ``df/dp = Im f(p + i eps) / eps``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import special

__all__ = [
    "OneRSBPoint",
    "energy_1rsb",
    "energy_1rsb_count",
    "solve_1rsb",
    "ground_state_1rsb",
    "capacity_1rsb",
    "ground_state_curve_1rsb",
]

# Trapezoid rule for E over xi ~ N(0, 1) on [-9, 9]: the integrand is analytic, so the
# rule converges geometrically; dx = 0.04 agrees with dx = 0.0025 to ~1e-13 at the
# threshold (and with adaptive quad in the tests), while 160 Gauss-Hermite nodes were
# off by 4e-9 (node spacing too coarse for the narrow features of N(xi)).
_DXI = 0.04
_XI = np.arange(-9.0, 9.0 + _DXI / 2, _DXI)
_W = np.exp(-0.5 * _XI**2) / math.sqrt(2.0 * math.pi) * _DXI
_CS = 1e-30  # complex-step size


def _H(u):
    return special.ndtr(-u)


def _phi_diff(a, b):
    """``Phi(b) - Phi(a)`` without cancellation (both arguments large and positive)."""
    big = np.real(a) > 0
    return np.where(big, _H(a) - _H(b), special.ndtr(b) - special.ndtr(a))


def _parts(theta, xi=_XI):
    q, chi, c = theta
    d = chi + c * (1.0 - q)
    a = np.sqrt(chi / d)
    s = np.sqrt(1.0 - q)
    sq = np.sqrt(q)
    i_neg = _H(sq * xi / s)
    i_2chi = _H((np.sqrt(2.0 * chi) - sq * xi) / s)
    u1 = -a * sq * xi / s
    u2 = -a * (sq * xi - np.sqrt(2.0 / chi) * d) / s
    # H(u1) - H(u2) = Phi(-u1) - Phi(-u2)
    i_0 = a * np.exp(-c * q * xi**2 / (2.0 * d)) * _phi_diff(-u2, -u1)
    n = i_neg + np.exp(-c) * i_2chi + i_0
    return d, i_2chi, n


def energy_1rsb(theta, alpha: float, xi=_XI, w=_W):
    """The 1RSB functional ``f(q, chi, c; alpha)`` (real or complex parameters)."""
    q, chi, c = theta
    d, _, n = _parts(theta, xi)
    return -q / (2.0 * d) - np.log(d / chi) / (2.0 * c) - (alpha / c) * np.dot(w, np.log(n))


def energy_1rsb_count(theta, alpha: float, xi=_XI, w=_W) -> float:
    """Second expression ``alpha e^{-c} E[I_2chi / N]`` (equal to ``f`` only when stationary)."""
    _, i_2chi, n = _parts(theta, xi)
    return float(np.real(alpha * np.exp(-theta[2]) * np.dot(w, i_2chi / n)))


def _grad(theta, alpha: float) -> np.ndarray:
    """Exact gradient of ``f`` in ``(q, chi, c)`` by the complex-step rule."""
    g = np.empty(3)
    for j in range(3):
        t = np.array(theta, dtype=complex)
        t[j] += 1j * _CS
        g[j] = np.imag(energy_1rsb(t, alpha)) / _CS
    return g


def _dgrad_dalpha(theta) -> np.ndarray:
    # f is affine in alpha: d/dalpha grad f = grad of -(1/c) E ln N.
    return _grad(theta, 1.0) - _grad(theta, 0.0)


def _hess(theta, alpha: float, h: float = 1e-6) -> np.ndarray:
    hm = np.empty((3, 3))
    for j in range(3):
        e = np.zeros(3)
        e[j] = h * max(1.0, abs(theta[j]))
        hm[:, j] = (_grad(theta + e, alpha) - _grad(theta - e, alpha)) / (2 * e[j])
    return 0.5 * (hm + hm.T)


@dataclass(frozen=True)
class OneRSBPoint:
    """Stationary point of the 1RSB functional."""

    alpha: float
    q: float
    chi: float
    c: float
    energy: float  # f at the stationary point
    energy_count: float  # alpha e^{-c} E[I_2chi/N], must agree with ``energy``
    grad_norm: float


# Stationary point at the 1RSB threshold, used as the default starting guess.
_THETA_REF = np.array([0.777231, 0.0533007, 3.286661])
_ALPHA_REF = 6.71570


def _point(theta, alpha) -> OneRSBPoint:
    e = float(np.real(energy_1rsb(theta, alpha)))
    return OneRSBPoint(
        alpha,
        *map(float, theta),
        e,
        energy_1rsb_count(theta, alpha),
        float(np.linalg.norm(_grad(theta, alpha))),
    )


def _newton(fun, jac, x0, tol=1e-13, maxiter=60, valid=lambda x: True):
    """Damped Newton on a square system, reusing the Jacobian while the residual at
    least halves per step (each Jacobian costs six gradients)."""
    x = np.array(x0, dtype=float)
    r = fun(x)
    j = jac(x)
    fresh = True
    for _ in range(maxiter):
        nr = np.linalg.norm(r)
        if nr < tol:
            return x
        step = np.linalg.solve(j, -r)
        t = 1.0
        while t > 1e-6:
            xn = x + t * step
            if valid(xn):
                rn = fun(xn)
                if np.all(np.isfinite(rn)) and np.linalg.norm(rn) < (1 - 1e-4 * t) * nr:
                    break
            t *= 0.5
        else:
            if not fresh:  # stale Jacobian: refresh and retry before giving up
                j, fresh = jac(x), True
                continue
            raise RuntimeError("1RSB Newton iteration stalled")
        ratio = np.linalg.norm(rn) / nr
        x, r = xn, rn
        if ratio > 0.5 or t < 1.0:
            j, fresh = jac(x), True
        else:
            fresh = False
    if np.linalg.norm(r) > 1e3 * tol:
        raise RuntimeError("1RSB Newton iteration did not converge")
    return x


def _valid(theta) -> bool:
    q, chi, c = theta[:3]
    return 0.0 < q < 1.0 and chi > 0.0 and c > 0.0


def _solve_from(alpha: float, theta0) -> np.ndarray:
    return _newton(lambda t: _grad(t, alpha), lambda t: _hess(t, alpha), theta0, valid=_valid)


def solve_1rsb(alpha: float, theta0=None) -> OneRSBPoint:
    """Stationary point ``(q, chi, c)`` of the 1RSB functional at ``alpha``.

    Without ``theta0`` the point is continued from the threshold (``alpha ~ 6.7157``) in
    geometric steps of at most 15 % in ``alpha - 2``, each warm-started from the last:
    Newton from a fixed guess does not reach the far ends (``alpha -> 2`` or large).
    """
    if theta0 is not None:
        return _point(_solve_from(alpha, np.asarray(theta0, dtype=float)), alpha)
    theta = _THETA_REF
    a = _ALPHA_REF
    ratio = (alpha - 2.0) / (a - 2.0)
    nstep = max(1, int(math.ceil(abs(math.log(ratio)) / math.log(1.15))))
    for j in range(1, nstep + 1):
        a_j = 2.0 + (a - 2.0) * ratio ** (j / nstep)
        theta = _solve_from(a_j, theta)
    return _point(theta, alpha)


def ground_state_1rsb(alpha: float, theta0=None) -> float:
    """1RSB prediction of ``e*(alpha) = lim P*(W)/n``."""
    return solve_1rsb(alpha, theta0).energy


def capacity_1rsb(theta0=None, alpha0: float = _ALPHA_REF) -> OneRSBPoint:
    """1RSB threshold: stationary point with ``f = 1``; solves 4 equations in 4 unknowns."""
    x0 = np.append(_THETA_REF if theta0 is None else theta0, alpha0)

    def fun(x):
        theta, alpha = x[:3], x[3]
        return np.append(_grad(theta, alpha), np.real(energy_1rsb(theta, alpha)) - 1.0)

    def jac(x):
        theta, alpha = x[:3], x[3]
        g = _grad(theta, alpha)
        j = np.zeros((4, 4))
        j[:3, :3] = _hess(theta, alpha)
        j[:3, 3] = _dgrad_dalpha(theta)
        j[3, :3] = g
        j[3, 3] = np.real(energy_1rsb(theta, 1.0) - energy_1rsb(theta, 0.0))
        return j

    x = _newton(fun, jac, x0, valid=lambda x: _valid(x) and x[3] > 2)
    return _point(x[:3], x[3])


def ground_state_curve_1rsb(alphas) -> list[OneRSBPoint]:
    """``e_1RSB`` on a grid, continuing the stationary point from the threshold outwards."""
    alphas = np.asarray(alphas, dtype=float)
    out: dict[int, OneRSBPoint] = {}
    ref = capacity_1rsb()
    order = np.argsort(np.abs(alphas - ref.alpha))
    for i in order:
        # warm start from the already-solved neighbour closest in alpha
        done = [k for k in out]
        if done:
            k = min(done, key=lambda k: abs(alphas[k] - alphas[i]))
            t0 = np.array([out[k].q, out[k].chi, out[k].c])
        else:
            t0 = np.array([ref.q, ref.chi, ref.c])
        out[i] = solve_1rsb(alphas[i], t0)
    return [out[i] for i in range(len(alphas))]
