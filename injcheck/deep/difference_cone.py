"""The difference-cone certificate: no collision between two boxes, with no prefix proof.

For ``x`` in a box ``B_x`` and ``y`` in a box ``B_y`` write ``d = x - y`` and, per hidden
unit, ``g = h(x) - h(y)`` (post-activation) and ``e = p(x) - p(y)`` (pre-activation).
Biases cancel, so ``e_k = W_k g_{k-1}`` with ``g_0 = d``: every difference is linear in
``d`` and in the differences of the units whose state is not the same on both boxes.
From sound bounds on each box:

* a unit on at every point of both boxes has ``g = e``; one off on both has ``g = 0``;
* any other unit gets a free variable ``delta = ReLU(p) - ReLU(p - e)``, which for every
  ``p`` lies **between 0 and e** (ReLU is monotone and 1-Lipschitz). When the unit is on
  on ``B_x`` and off on ``B_y`` the sign is known (``0 <= delta <= e``), and the
  opposite way round ``e <= delta <= 0``;
* a last-layer unit with a positive lower bound on either box is on at both points of
  a collision with equal pre-activations: ``e = 0``.

So a collision gives ``z = (d, delta)`` with ``E z = 0`` (the output rows) and every
``delta_i`` between 0 and ``e_i(z)``. ``d = 0`` forces every ``e`` and ``delta`` to
vanish layer by layer, so if the only such ``z`` is 0, then ``x = y``: **the pair of
boxes holds no collision**, whether or not the layers before the last are injective.

Deciding it. With ``N`` a basis of ``ker E`` (taken generously: directions with small
singular values count as kernel) and ``z = N t``, the conditions are a union, over the
signs ``sigma_i`` of the free units, of polyhedral cones
``{t : sigma_i delta_i(t) >= 0, sigma_i (e_i(t) - delta_i(t)) >= 0}``. A cone
``{t : B t >= 0}`` is ``{0}`` iff ``B`` has full column rank and some ``mu > 0`` has
``B^T mu = 0`` (Stiemke's lemma; then ``B t >= 0`` and ``mu^T B t = 0`` give ``B t = 0``).
A kernel of dimension one needs no sign enumeration: ``t`` is a scalar, and a direction
survives iff each ``delta_i`` lies between 0 and ``e_i`` along it. For larger kernels
every sign pattern gets a small LP for ``mu``, which is accepted only if the exact
correction of its float residual keeps ``mu`` positive.

For a box paired with itself this proves ``f`` injective on the box, also where only
a few output units are on and the lifted rank test (:mod:`.near_diagonal`) cannot
decide: it is exact around a generic meeting point of hinges (there ``f`` is locally
``f(z) + F(u)`` with ``F`` homogeneous, and the cones above describe ``F`` exactly when
the switching units' rows are independent).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.optimize import linprog

from ..networks import Layer

#: Singular values of ``E`` below this (relative) count as kernel (the generous side).
KERNEL_TOL = 1e-7
#: A sign condition must fail by this much (relative) to rule a direction out.
SIGN_TOL = 1e-7
#: Kernels of dimension three or more: give up with more free-sign units than this.
MAX_FREE_SIGNS = 4
#: Cone tests (small LPs) allowed per pair when the kernel has dimension three or more.
MAX_CONE_LPS = 32
#: Random directions tried before the cone tests (kernel of dimension three or more).
PROBE_DIRECTIONS = 256
#: The Stiemke weights must stay this far above 0 after the exact correction.
WEIGHT_MARGIN = 1e-9


def difference_form(
    layers: Sequence[Layer],
    bounds_x: Sequence[tuple[np.ndarray, np.ndarray]],
    bounds_y: Sequence[tuple[np.ndarray, np.ndarray]],
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The linear description of a collision between two boxes (module docstring).

    Returns ``(equal, delta, pre, sign)``: a collision ``(x, y)`` gives ``z = (d, delta)``
    with ``equal @ z = 0``; for free unit ``i``, ``delta[i] @ z`` lies between 0 and
    ``pre[i] @ z``, and ``sign[i]`` is +1 or -1 when that difference's sign is known
    (0 when it is not). ``z`` has ``n`` + (number of free units) entries.
    """
    n = layers[0].weight.shape[1]
    hidden = list(zip(bounds_x[:-1], bounds_y[:-1], strict=True))
    on = [(lx > 0) & (ly > 0) for (lx, _), (ly, _) in hidden]
    off = [(ux <= 0) & (uy <= 0) for (_, ux), (_, uy) in hidden]
    free = [np.flatnonzero(~a & ~b) for a, b in zip(on, off, strict=True)]
    size = n + sum(f.size for f in free)
    diff = np.eye(n, size)  # the hidden differences g as linear forms in z
    deltas, pres, signs, column = [], [], [], n
    for layer, k in zip(layers[:-1], range(len(hidden)), strict=True):
        (lx, ux), (ly, uy) = hidden[k]
        pre = layer.weight @ diff
        idx = free[k]
        fresh = np.zeros((idx.size, size))
        fresh[np.arange(idx.size), column + np.arange(idx.size)] = 1.0
        column += idx.size
        deltas.append(fresh)
        pres.append(pre[idx])
        known = np.where((lx > 0) & (uy <= 0), 1, np.where((ux <= 0) & (ly > 0), -1, 0))
        signs.append(known[idx])
        diff = np.where(on[k][:, None], pre, 0.0)
        diff[idx] = fresh
    sure = (bounds_x[-1][0] > 0) | (bounds_y[-1][0] > 0)
    empty = np.zeros((0, size))
    return (
        (layers[-1].weight @ diff)[sure],
        np.vstack(deltas) if deltas else empty,
        np.vstack(pres) if pres else empty,
        np.concatenate(signs).astype(int) if signs else np.zeros(0, int),
    )


def generous_kernel(a: np.ndarray) -> np.ndarray:
    """An orthonormal basis (columns) of ``ker a``, counting small singular values as 0."""
    cols = a.shape[1]
    if a.shape[0] == 0:
        return np.eye(cols)
    _, sing, right = np.linalg.svd(a, full_matrices=True)
    scale = max(float(sing[0]), 1e-300) if sing.size else 1.0
    rank = int(np.sum(sing > KERNEL_TOL * scale))
    return right[rank:].T


def _surviving(delta: np.ndarray, pre: np.ndarray, sign: np.ndarray) -> np.ndarray:
    """For directions given as columns of ``delta`` and ``pre`` (one row per free unit):
    can every ``delta_i`` lie between 0 and ``pre_i`` there (with the known signs)?
    Borderline cases survive (the conservative side)."""
    tol = SIGN_TOL * np.maximum(1.0, np.max(np.abs(pre), axis=0, initial=0.0))
    rest = pre - delta
    between = (np.minimum(delta, rest) >= -tol) | (np.maximum(delta, rest) <= tol)
    agree = (sign[:, None] * delta >= -tol) & (sign[:, None] * rest >= -tol)
    return np.all(between & agree, axis=0)


def _plane_has_direction(delta: np.ndarray, pre: np.ndarray, sign: np.ndarray) -> bool:
    """Kernel of dimension two: does some direction of the plane survive?

    Each condition holds on a union of closed arcs of the circle whose ends are zeros
    of the forms ``delta_i`` and ``pre_i - delta_i``, and every condition is constant
    between consecutive zeros. So the surviving set is empty iff no zero and no
    midpoint between consecutive zeros survives.
    """
    forms = np.vstack([delta, pre - delta])
    angles = np.arctan2(-forms[:, 0], forms[:, 1])  # form . (cos a, sin a) = 0
    zeros = np.sort(np.concatenate([angles, angles + np.pi]) % (2 * np.pi))
    if zeros.size == 0:
        zeros = np.array([0.0])
    mids = (zeros + np.diff(np.append(zeros, zeros[0] + 2 * np.pi)) / 2) % (2 * np.pi)
    theta = np.concatenate([zeros, mids])
    directions = np.vstack([np.cos(theta), np.sin(theta)])
    return bool(np.any(_surviving(delta @ directions, pre @ directions, sign)))


def cone_is_trivial(b: np.ndarray) -> bool:
    """Is ``{t : b t >= 0} = {0}``? (Stiemke: full column rank and ``mu > 0`` with
    ``b^T mu = 0``, checked after correcting the LP's ``mu`` exactly onto ``ker b^T``.)"""
    rows, cols = b.shape
    if rows < cols + 1:
        return False
    sing = np.linalg.svd(b, compute_uv=False)
    if not sing[-1] > KERNEL_TOL * sing[0]:
        return False
    # max s  s.t.  b^T mu = 0, sum mu = 1, mu >= s  (variables mu, s)
    cost = np.zeros(rows + 1)
    cost[-1] = -1.0
    a_eq = np.vstack([np.hstack([b.T, np.zeros((cols, 1))]), np.append(np.ones(rows), 0.0)])
    b_eq = np.append(np.zeros(cols), 1.0)
    a_ub = np.hstack([-np.eye(rows), np.ones((rows, 1))])
    res = linprog(
        cost,
        A_ub=a_ub,
        b_ub=np.zeros(rows),
        A_eq=a_eq,
        b_eq=b_eq,
        bounds=[(0, None)] * rows + [(None, 1.0)],
        method="highs",
    )
    if res.status != 0:
        return False
    mu = np.asarray(res.x[:rows], float)
    # The nearest exact solution of b^T mu = 0 moves mu by at most |b^T mu| / sigma_min.
    shift = float(np.linalg.norm(b.T @ mu)) / float(sing[-1])
    return bool(mu.min() - shift > WEIGHT_MARGIN)


def difference_cone_certificate(
    layers: Sequence[Layer],
    bounds_x: Sequence[tuple[np.ndarray, np.ndarray]],
    bounds_y: Sequence[tuple[np.ndarray, np.ndarray]],
) -> bool:
    """True when no ``x`` in ``B_x`` and ``y`` in ``B_y`` with ``x != y`` have
    ``f(x) = f(y)`` (module docstring). ``bounds_x``, ``bounds_y``: sound pre-activation
    bounds of every layer on each box (the same box twice: ``f`` is injective on it)."""
    equal, delta, pre, sign = difference_form(layers, bounds_x, bounds_y)
    if not (np.all(np.isfinite(equal)) and np.all(np.isfinite(pre))):
        return False
    basis = generous_kernel(equal)
    dim = basis.shape[1]
    if dim == 0:
        return True
    delta_t, pre_t = delta @ basis, pre @ basis
    if dim == 1:
        return not np.any(_surviving(delta_t * [1.0, -1.0], pre_t * [1.0, -1.0], sign))
    if dim == 2:
        return not _plane_has_direction(delta_t, pre_t, sign)
    if np.sum(sign == 0) > MAX_FREE_SIGNS:
        return False
    # A surviving direction is a genuine failure of the certificate; random ones find
    # most such failures before any LP is spent.
    probes = np.random.default_rng(dim).standard_normal((dim, PROBE_DIRECTIONS))
    if np.any(_surviving(delta_t @ probes, pre_t @ probes, sign)):
        return False
    return _cones_trivial(delta_t, pre_t, sign)


def _cones_trivial(delta: np.ndarray, pre: np.ndarray, sign: np.ndarray) -> bool:
    """Kernel of dimension three or more: is every sign pattern's cone ``{0}``?

    Branch and bound on the unknown signs: a cone built from the units fixed so far
    contains the cone of every completion, so a trivial one settles its whole subtree.
    At most ``MAX_CONE_LPS`` cone tests.
    """
    unknown = np.flatnonzero(sign == 0)
    budget = [MAX_CONE_LPS]

    def rows(sigma: np.ndarray) -> np.ndarray:
        fixed = sigma != 0
        s = sigma[fixed][:, None]
        return np.vstack([s * delta[fixed], s * (pre[fixed] - delta[fixed])])

    def settle(sigma: np.ndarray, depth: int) -> bool:
        cone = rows(sigma)
        if cone.shape[0] > cone.shape[1]:
            budget[0] -= 1
            if budget[0] < 0:
                return False
            if cone_is_trivial(cone):
                return True
        if depth == unknown.size:
            return False
        for choice in (1, -1):
            child = sigma.copy()
            child[unknown[depth]] = choice
            if not settle(child, depth + 1):
                return False
        return True

    return settle(sign.copy(), 0)
