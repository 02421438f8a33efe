"""Deep nets: the weak (local) and strong (global, fold-aware) layer conditions.

Layer ``k`` of a bias-free net acts on the image cone ``T_{k-1}`` of the first ``k - 1``
layers, a union of *pieces* (images of the linear regions, each spanning at most ``n``
dimensions). Write ``a_k(u) = #{i : (W_k u)_i > 0}`` (the *count*) for ``u in T_{k-1}``.

* **weak** (local non-degeneracy): ``a_k(u) >= n`` for every ``u``; necessary for
  injectivity.
* **strong** (global injectivity of layer ``k`` on ``T_{k-1}``): no ``u != v`` with
  ``ReLU(W_k u) = ReLU(W_k v)``. Such a pair has one positive set ``A`` for both points
  and ``W_A (u - v) = 0`` with ``u - v`` in ``span P_u + span P_v`` (dimension
  ``D <= 2n``); ``W_k`` is independent of the pieces, so almost surely ``|A| <= D - 1``.
  Hence ``a_k >= 2n`` everywhere on ``T_{k-1}`` is *sufficient* for strong injectivity
  at ``k >= 2`` (layer 1 has one piece, ``D = n``: strong = weak there).

Both are count conditions ``a_k >= e n`` with ``e = 1`` (weak, necessary) or ``e = 2``
(strong, sufficient). Gordon's comparison over ``T_{k-1}`` turns them into

    beta_k I(kappa) > omega_{k-1}^2,   beta_k Q(kappa) = e,   beta_k = m_k / n,

rigorous when ``omega_{k-1}`` (the normalised Gaussian width of ``T_{k-1}``) is exact.
Two width sources are offered: the Gordon width recursion of :mod:`.deep` (finite
layer widths, an upper estimate) and the *kernel width*, the exact value of the width
when the earlier layers are infinitely wide: the image process ``<g, u(x)>`` is then the
Gaussian process with the arc-cosine covariance ``K_{k-1}(<x, y>)``, whose normalised
supremum is the ground state of a spherical mixed p-spin model, given by the
zero-temperature Parisi formula (Chen and Sen 2017), a convex problem
(:func:`spherical_ground_state`). Derivations and status: ``docs/theory.md`` section 6.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

import numpy as np
from scipy import optimize, special

from . import deep, rsb
from .rs import I_trunc

__all__ = [
    "Status",
    "Notion",
    "WidthSource",
    "count_expansion",
    "count_expansion_lifted",
    "arccos_kernel",
    "arccos_kernel_slope",
    "composed_kernel",
    "spherical_ground_state",
    "kernel_width",
    "LayerCondition",
    "FoldLayer",
    "fold_table",
]


class Status(Enum):
    """How much a number can be trusted."""

    RIGOROUS_BOUND = "rigorous bound"
    ESTIMATE = "estimate"


class Notion(Enum):
    """Which layer condition: local rank (weak) or global injectivity on the image (strong)."""

    WEAK = "weak"
    STRONG = "strong"


class WidthSource(Enum):
    """Where ``omega_{k-1}`` comes from."""

    GORDON = "gordon"  # deep.width_map chain (finite widths, upper estimate)
    KERNEL = "kernel"  # infinitely wide earlier layers: Parisi ground state of K_{k-1}


def count_expansion(omega: float, e: float) -> float:
    """Gordon threshold ``beta = m/n`` for ``a(u) > e n`` on a set of normalised width ``omega``.

    Solves ``beta I(kappa) = omega^2`` with ``beta Q(kappa) = e``. ``e = 1, omega = 1``
    gives 7.6477 (:func:`deep.layer_expansion` is the case ``e = 1``).

    Examples
    --------
    >>> round(count_expansion(1.0, 1.0), 4)
    7.6477
    """
    if omega <= 0 or e <= 0:
        raise ValueError("omega and e must be positive")

    def gap(beta):
        kappa = special.ndtri(1.0 - e / beta)  # Q(kappa) = e / beta
        return beta * I_trunc(kappa) - omega**2

    lo = e * (1.0 + 1e-12)  # kappa = -inf: gap = -omega^2 < 0
    hi = 4.0 * e
    while gap(hi) < 0:
        hi *= 2.0
    return optimize.brentq(gap, lo, hi, xtol=1e-13, rtol=1e-13)


def count_expansion_lifted(omega: float, e: float) -> float:
    """One-step-lifted (1RSB) threshold for ``a(u) >= e n``, the image as a sphere.

    Treats ``T`` as a sphere of dimension ``omega^2 n`` (the substitution under which
    Gordon's bound for ``T`` equals Gordon's bound for such a sphere, see the docs):
    ``beta = omega^2 alpha'`` with ``e*_1RSB(alpha') = e / omega^2``. An estimate.
    """
    target = e / omega**2
    last: dict = {"theta": None}

    def energy(alpha):
        try:  # warm start from the last point (fast); Newton may fail far from it
            pt = rsb.solve_1rsb(alpha, last["theta"])
        except (RuntimeError, ValueError, np.linalg.LinAlgError):
            pt = rsb.solve_1rsb(alpha)
        last["theta"] = np.array([pt.q, pt.chi, pt.c])
        return pt.energy

    lo = 0.999 * float(rsb.capacity_1rsb().alpha)  # e*_1RSB(lo) < 1 <= target
    hi = 2.0 * lo
    while energy(hi) < target:
        lo, hi = hi, 2.0 * hi
    a = optimize.brentq(lambda x: energy(x) - target, lo, hi, xtol=1e-10)
    return omega**2 * a


def arccos_kernel(rho):
    """Cosine after one Gaussian ReLU layer: ``(sqrt(1 - r^2) + (pi - arccos r) r) / pi``."""
    r = np.clip(np.asarray(rho, dtype=float), -1.0, 1.0)
    return (np.sqrt(1.0 - r * r) + (math.pi - np.arccos(r)) * r) / math.pi


def arccos_kernel_slope(rho):
    """Derivative of :func:`arccos_kernel`: ``(pi - arccos r) / pi``."""
    r = np.clip(np.asarray(rho, dtype=float), -1.0, 1.0)
    return (math.pi - np.arccos(r)) / math.pi


def composed_kernel(depth: int) -> tuple[Callable, Callable]:
    """``K_depth`` (the kernel composed ``depth`` times) and its derivative (chain rule)."""

    def value(rho):
        r = np.asarray(rho, dtype=float)
        for _ in range(depth):
            r = arccos_kernel(r)
        return r

    def slope(rho):
        r = np.asarray(rho, dtype=float)
        d = np.ones_like(r)
        for _ in range(depth):
            d = d * arccos_kernel_slope(r)
            r = arccos_kernel(r)
        return d

    return value, slope


def spherical_ground_state(dxi: Callable, grid: int = 800) -> float:
    """Ground state ``lim E max_{|x| = 1} X(x) / sqrt(n)`` of a spherical mixed p-spin model.

    ``X`` is the centred Gaussian process on ``S^{n-1}`` with covariance ``xi(<x, y>)``,
    ``xi(q) = sum_p c_p q^p``, ``c_p >= 0``; ``dxi`` is ``xi'``. Zero-temperature Parisi
    formula (Chen and Sen 2017) in the form

        GS = min_phi (1/2) [ xi'(0) phi(0) + int_0^1 xi''(t) phi(t) dt + int_0^1 dt / phi(t) ],

    over positive, non-increasing, concave ``phi`` (``phi(t) = L + int_t^1 alpha``,
    ``alpha`` the non-decreasing zero-temperature Parisi measure). It is convex in
    ``phi``; ``phi`` is piecewise linear on a grid refined near ``t = 1`` (where the
    arc-cosine ``xi''`` has an integrable singularity) and ``int xi'' phi`` uses the exact
    increments of ``xi'``. Checks: ``xi = q^2`` gives ``sqrt 2``, ``xi = q^3`` gives 1.657.
    """
    import cvxpy as cp

    s = np.linspace(0.0, 1.0, grid + 1)
    t = 1.0 - (1.0 - s) ** 2
    dt = np.diff(t)
    dx = np.diff(np.asarray(dxi(t), dtype=float))
    phi = cp.Variable(grid + 1)
    energy = (
        float(dxi(np.array(0.0))) * phi[0]
        + dx @ (phi[:-1] + phi[1:]) / 2.0
        + dt @ (cp.inv_pos(phi[:-1]) + cp.inv_pos(phi[1:])) / 2.0
    )
    slope = cp.multiply(phi[1:] - phi[:-1], 1.0 / dt)
    cons = [phi[1:] <= phi[:-1], slope[1:] <= slope[:-1], phi >= 1e-8]
    prob = cp.Problem(cp.Minimize(0.5 * energy), cons)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "may be inaccurate" at the 1e-8 level
        prob.solve(solver=cp.CLARABEL)
    if prob.status not in ("optimal", "optimal_inaccurate"):
        raise RuntimeError(f"Parisi problem not solved: {prob.status}")
    return float(prob.value)


def kernel_width(depth: int, grid: int = 800) -> float:
    """Normalised width of the image of ``depth`` infinitely wide Gaussian ReLU layers.

    ``omega = GS(xi)`` with ``xi = K_depth - K_depth(0)`` (the constant part of the
    covariance is a common offset and does not move the supremum); ``depth = 0`` is the
    sphere, ``omega = 1``.
    """
    if depth == 0:
        return 1.0
    _, slope = composed_kernel(depth)
    return spherical_ground_state(slope, grid)


@dataclass(frozen=True)
class LayerCondition:
    """Needed width of layer ``k`` for one notion, in the chain where every layer is at
    its own threshold for that notion."""

    notion: Notion
    layer: int
    omega_in: float  # omega_{k-1} used
    m_over_n: float  # needed m_k / n (Gordon)
    expansion: float  # m_k / m_{k-1} (the previous layer at its own threshold)
    overall: float  # m_k / n: the overall expansion of a depth-k net
    status: Status
    lifted_m_over_n: float | None  # 1RSB estimate of m_k / n (image as a sphere)
    meaning: str

    def as_dict(self) -> dict:
        """JSON-ready: enums become their strings here, at the boundary."""
        d = {k: getattr(self, k) for k in self.__dataclass_fields__}
        d["notion"] = self.notion.value
        d["status"] = self.status.value
        return d


@dataclass(frozen=True)
class FoldLayer:
    """Both notions at one layer."""

    layer: int
    weak: LayerCondition
    strong: LayerCondition

    def as_dict(self) -> dict:
        return {"layer": self.layer, "weak": self.weak.as_dict(), "strong": self.strong.as_dict()}


_MEANING = {
    Notion.WEAK: "every layer keeps n active units (local rank); necessary for injectivity",
    Notion.STRONG: "count >= 2n on the image (>= n at layer 1); sufficient for injectivity",
}


def _status(layer: int) -> Status:
    # Layer 1 sees the sphere (omega_0 = 1 exactly), so Gordon is a theorem there. Later
    # layers use an estimated (Gordon chain) or limiting (infinite width) omega.
    return Status.RIGOROUS_BOUND if layer == 1 else Status.ESTIMATE


def _chain(notion: Notion, depth: int, source: WidthSource, lifted: bool) -> list[LayerCondition]:
    rows: list[LayerCondition] = []
    omega, prev = 1.0, 1.0
    for k in range(1, depth + 1):
        e = 2.0 if (notion is Notion.STRONG and k >= 2) else 1.0
        beta = count_expansion(omega, e)
        lift = count_expansion_lifted(omega, e) if lifted else None
        rows.append(
            LayerCondition(
                notion, k, omega, beta, beta / prev, beta, _status(k), lift, _MEANING[notion]
            )
        )
        if source is WidthSource.GORDON:
            omega = deep.width_map(beta, omega).omega_out
        else:
            omega = kernel_width(k)
        prev = beta
    return rows


def fold_table(
    depth: int, source: WidthSource = WidthSource.GORDON, lifted: bool = True
) -> list[FoldLayer]:
    """Weak and strong needed widths per layer, each chain at its own thresholds.

    Parameters
    ----------
    depth
        Number of layers ``l``.
    source
        Width of the image entering each layer (:class:`WidthSource`).
    lifted
        Also compute the 1RSB (one step of lifting) estimate of each threshold (slower).
    """
    if depth < 1:
        raise ValueError("depth must be >= 1")
    weak = _chain(Notion.WEAK, depth, source, lifted)
    strong = _chain(Notion.STRONG, depth, source, lifted)
    return [FoldLayer(k + 1, w, s) for k, (w, s) in enumerate(zip(weak, strong, strict=True))]
