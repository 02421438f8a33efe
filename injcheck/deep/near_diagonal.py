"""Exact exclusion of near-diagonal collisions: a lifted rank certificate on a box cover.

The pair MILPs (global, pointwise) demand a separation ``|x_j - y_j| >= eps_j`` for some
``j``; on its own their infeasibility says nothing about collisions closer than ``eps``.
This module proves, with no margin, that there are none, so that MILP infeasibility plus
a complete cover is an exact proof of injectivity.

Lifted rank certificate
-----------------------
On a box ``H`` of inputs, sound bounds (:func:`.split.backward_bounds_batch`) sort every
unit into stable-active (``l > 0``), stable-inactive (``u <= 0``) and undecided. Writing
the undecided units' outputs as free variables ``r``, every hidden state is affine on
``H``::

    h_k(x) = X_k x + R_k r(x) + c_k        (stable-active rows follow W_k, inactive are 0,
                                            an undecided unit is a fresh column of R_k)

For the stable-active units ``S`` of the last layer, ``f_S(x) = W_S h_{l-1}(x) + b_S``.
If ``f(x) = f(y)`` with ``x, y`` in ``H`` then ``A (x - y) + B (r(x) - r(y)) = 0`` with
``A = W_S X_{l-1}``, ``B = W_S R_{l-1}``. When the projection ``P A`` of ``A`` onto the
orthogonal complement of ``range(B)`` has rank ``n``, this forces ``x = y``: **f is
injective on H**. The argument is linear algebra on exact identities; the only numerics
are the bounds (sound, widened for rounding) and one SVD, read with wide margins (the
range of ``B`` is taken generously, the rank of ``P A`` strictly).

Cover
-----
A pair with ``|x_j - y_j| < eps_j`` for every ``j`` and ``x`` in a base box ``B`` lies
in ``H_B = (B + [-eps, eps]) ∩ D``. The cover certifies ``H_B`` for a family of base boxes
whose union contains every possible ``x``; base boxes that fail are bisected (widest
free coordinate) down to ``MIN_WIDTH``. The global check uses the ``2n`` facets of the
unit cube as base (by homogeneity and swapping, ``|x|_inf = 1 >= |y|_inf``), or the whole
input box for networks with biases.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..networks import Layer
from .split import backward_bounds_batch

#: Base boxes narrower than this are not split further (the cover then gives up).
MIN_WIDTH = 2.0**-12
#: The cover gives up after certifying or splitting this many boxes.
MAX_BOXES = 200_000
#: Boxes whose bounds are computed together.
BATCH = 64
#: Singular values of ``B`` above this (relative) span the projected-out range.
RANGE_TOL = 1e-12
#: ``P A`` counts as full rank when its smallest singular value exceeds this times ``|A|``.
RANK_TOL = 1e-7


def lifted_hidden(
    layers: Sequence[Layer], bounds: Sequence[tuple[np.ndarray, np.ndarray]], n: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The lifted affine form of the state after ``layers`` on a box (module docstring).

    Returns ``(x_part, r_part, const, g)``: ``h(x) = x_part x + r_part r(x) + const`` for
    every ``x`` of the box, where ``r(x)`` holds the outputs of the undecided units (one
    column each) and ``g`` the ``x``-coefficients of those units' own pre-activations
    (one row each). With no layers, ``h(x) = x``.
    """
    x_part, r_part, const = np.eye(n), np.zeros((n, 0)), np.zeros(n)
    switch_rows = [np.zeros((0, n))]
    for layer, (low, up) in zip(layers, bounds, strict=True):
        active, undecided = low > 0, (low <= 0) & (up > 0)
        pre_x, pre_r = layer.weight @ x_part, layer.weight @ r_part
        pre_c = layer.weight @ const + (0.0 if layer.bias is None else layer.bias)
        switch_rows.append(pre_x[undecided])
        fresh = np.zeros((layer.weight.shape[0], int(undecided.sum())))
        fresh[np.flatnonzero(undecided), np.arange(fresh.shape[1])] = 1.0
        x_part = np.where(active[:, None], pre_x, 0.0)
        r_part = np.hstack([np.where(active[:, None], pre_r, 0.0), fresh])
        const = np.where(active, pre_c, 0.0)
    return x_part, r_part, const, np.vstack(switch_rows)


def lifted_rows(
    layers: Sequence[Layer], bounds: Sequence[tuple[np.ndarray, np.ndarray]]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The lifted linear form of the last layer on a box (module docstring).

    Returns ``(active, a, b, g)``: the mask of stable-active last-layer units and, for
    every last-layer unit, the coefficients of ``x`` (``a``, shape ``(m, n)``) and of the
    free outputs ``r`` of undecided hidden units (``b``) in its pre-activation, up to a
    constant: ``pre_L(x) = a x + b r(x) + c`` for every ``x`` in the box; ``g`` holds the
    ``x``-coefficients of the undecided units' own pre-activations (one row each).
    """
    n = layers[0].weight.shape[1]
    x_part, r_part, _, g = lifted_hidden(layers[:-1], bounds[:-1], n)
    last = layers[-1].weight
    return bounds[-1][0] > 0, last @ x_part, last @ r_part, g


def _generous_range(b: np.ndarray) -> tuple[np.ndarray, int]:
    """Left singular vectors of ``b`` (square) and how many of them span its range,
    counting every singular value above ``RANGE_TOL`` (relative) as range."""
    left, sing, _ = np.linalg.svd(b, full_matrices=True)
    rank = int(np.sum(sing > RANGE_TOL * max(float(sing[0]), 1e-300))) if sing.size else 0
    return left, rank


def forces_zero(a: np.ndarray, b: np.ndarray) -> bool:
    """Does ``a u + b v = 0`` force ``u = 0``? (Projection of ``a`` off ``range(b)`` has
    full column rank; ``range(b)`` is taken generously, the rank strictly.)"""
    cols = a.shape[1]
    if a.shape[0] < cols or not np.all(np.isfinite(a)) or not np.all(np.isfinite(b)):
        return False
    scale = float(np.linalg.norm(a, 2))
    if not scale > 0:
        return False
    if b.size:
        left, rank = _generous_range(b)
        a = left[:, rank:].T @ a
        if a.shape[0] < cols:
            return False
    # Relative to a before the projection: range(a) inside range(b) leaves rounding noise.
    return bool(np.linalg.svd(a, compute_uv=False)[-1] > RANK_TOL * scale)


def lifted_rank_certificate(
    layers: Sequence[Layer], bounds: Sequence[tuple[np.ndarray, np.ndarray]]
) -> bool:
    """True when the bounds of a box ``H`` prove ``f`` injective on ``H`` (module docstring).

    Parameters
    ----------
    layers : list of Layer
    bounds : list of (lower, upper)
        Sound pre-activation bounds of every layer on ``H``.
    """
    active, a, b, g = lifted_rows(layers, bounds)
    if forces_zero(a[active], b[active]):
        return True
    # One switching unit in the whole box: decide the two-piece map exactly.
    return b.shape[1] == 1 and single_switch_injective(a[active], b[active, 0], g[0])


def single_switch_injective(a: np.ndarray, c: np.ndarray, g: np.ndarray) -> bool:
    """Injectivity on a box with one undecided hidden unit (and ``a`` of full rank).

    There ``f(x) - f(y) = a d + c (r(x) - r(y))`` on the stable-active output rows, with
    ``d = x - y`` and ``r(x) - r(y) = t g.d`` for some ``t`` in ``[0, 1]`` (ReLU is
    monotone and 1-Lipschitz; ``g`` is the unit's own pre-activation slope, which has
    no free part when it is the only undecided unit). So a collision needs
    ``(a + t c g^T) d = 0``. If ``c`` is not in ``range(a)`` that forces ``g.d = 0`` and
    ``d = 0``; if ``c = a e`` it forces ``d = -t e (g.d)``, i.e. ``1 + t g.e = 0``. Hence
    ``g.e > -1`` (``e`` the least-squares solution) proves injectivity either way: the
    two-piece map folds only when ``c = a e`` with ``1 + g.e <= 0``.
    """
    n = a.shape[1]
    if a.shape[0] < n or not np.all(np.isfinite(a)):
        return False
    sing = np.linalg.svd(a, compute_uv=False)
    if not sing[-1] > RANK_TOL * sing[0]:
        return False
    e = np.linalg.lstsq(a, c, rcond=None)[0]
    return bool(g @ e > -1.0 + RANK_TOL * (1.0 + np.linalg.norm(g) * np.linalg.norm(e)))


@dataclass
class CoverResult:
    """Outcome of :func:`cover_near_diagonal`."""

    proven: bool
    certified_boxes: int
    seconds: float
    reason: str = ""  # why the cover is incomplete
    stuck_at: np.ndarray | None = None  # centre of a base box that could not be certified

    def summary(self) -> dict:
        out = {
            "proven": self.proven,
            "certified_boxes": self.certified_boxes,
            "seconds": round(self.seconds, 4),
        }
        if not self.proven:
            out["reason"] = self.reason
        return out


def cover_near_diagonal(
    layers: Sequence[Layer],
    bases: Sequence[tuple[np.ndarray, np.ndarray]],
    reach: np.ndarray,
    domain: tuple[np.ndarray, np.ndarray],
    **limits,
) -> CoverResult:
    """Prove ``f`` injective on ``(B + [-reach, reach]) ∩ domain`` for a cover of the
    bases: :func:`certify_cover` with the lifted rank certificate (``limits``:
    ``deadline``, ``min_width``, ``max_boxes``)."""
    return certify_cover(
        layers, bases, lifted_rank_certificate, reach=reach, domain=domain, **limits
    )


def output_floor_certificate(floor: float):
    """A certificate that ``|f(x)|_inf > floor`` on a box: some last-layer unit's lower
    bound exceeds ``floor`` (``relu(p) >= p``)."""

    def certify(layers: Sequence[Layer], bounds) -> bool:
        return bool(np.max(bounds[-1][0]) > floor)

    return certify


def certify_cover(
    layers: Sequence[Layer],
    bases: Sequence[tuple[np.ndarray, np.ndarray]],
    certify,
    *,
    reach: np.ndarray | None = None,
    domain: tuple[np.ndarray, np.ndarray] | None = None,
    deadline: float | None = None,
    min_width: float = MIN_WIDTH,
    max_boxes: int = MAX_BOXES,
) -> CoverResult:
    """Bisect the base boxes until ``certify(layers, bounds)`` holds on every
    ``(B + [-reach, reach]) ∩ domain``.

    Parameters
    ----------
    layers : list of Layer
    bases : list of (lo, hi)
        Base boxes (may be degenerate in some coordinates, e.g. facets).
    certify : callable
        ``certify(layers, bounds)`` with the sound pre-activation bounds of all layers on
        one box; True proves the box.
    reach : ndarray of shape (n,), optional
        How far a partner point may be from the base box, per coordinate (default 0).
    domain : (lo, hi), optional
        The box both points live in (default: no clipping).
    deadline : float, optional
        ``time.perf_counter()`` value at which to give up.
    min_width : float
        Base boxes are not bisected below this width.
    max_boxes : int
        Give up after examining this many boxes.

    Returns
    -------
    CoverResult
        ``proven`` when every base box was covered by certified boxes.
    """
    start = time.perf_counter()
    n = layers[0].weight.shape[1]
    reach = np.zeros(n) if reach is None else np.asarray(reach, float)
    dom_lo, dom_hi = (
        (np.full(n, -np.inf), np.full(n, np.inf))
        if domain is None
        else (np.asarray(v, float) for v in domain)
    )
    stack = [(np.asarray(lo, float), np.asarray(hi, float)) for lo, hi in bases]
    certified = examined = 0

    def result(proven: bool, reason: str = "", stuck=None) -> CoverResult:
        return CoverResult(proven, certified, time.perf_counter() - start, reason, stuck)

    while stack:
        if deadline is not None and time.perf_counter() > deadline:
            return result(False, "time limit")
        if examined >= max_boxes:
            return result(False, f"more than {max_boxes} boxes")
        batch, stack = stack[-BATCH:], stack[:-BATCH]
        h_lo = np.array([np.maximum(lo - reach, dom_lo) for lo, _ in batch])
        h_hi = np.array([np.minimum(hi + reach, dom_hi) for _, hi in batch])
        bounds = backward_bounds_batch(layers, h_lo, h_hi, len(layers))
        examined += len(batch)
        for i, (lo, hi) in enumerate(batch):
            if certify(layers, [(low[i], up[i]) for low, up in bounds]):
                certified += 1
                continue
            width = hi - lo
            j = int(np.argmax(width))
            if width[j] < min_width:
                return result(
                    False, f"a box of width {width[j]:.2g} could not be certified", (lo + hi) / 2
                )
            mid = 0.5 * (lo[j] + hi[j])
            upper_lo, lower_hi = lo.copy(), hi.copy()
            upper_lo[j], lower_hi[j] = mid, mid
            stack += [(lo, lower_hi), (upper_lo, hi)]
    return result(True)
