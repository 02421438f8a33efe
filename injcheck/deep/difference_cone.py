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

Deciding it exactly. With ``N`` a basis of ``ker E`` (taken generously: directions with
small singular values count as kernel) and ``z = N t``, the conditions read
``delta_i(t) (e_i(t) - delta_i(t)) >= 0`` (plus the known signs): each is fixed by the
signs of the linear forms ``delta_i`` and ``e_i - delta_i``. So the set ``F`` of
surviving ``t`` is a closed union of cells of the central arrangement of those forms'
hyperplanes in ``R^k``. If the forms do not span ``R^k``, a direction on which all of
them vanish survives. Otherwise every nonzero closed cell contains a ray of the
arrangement (an intersection of ``k - 1`` independent hyperplanes), so ``F = {0}`` iff
no such ray, in either sign, survives: finitely many directions to test, no LP.

For a box paired with itself this proves ``f`` injective on the box (the certificate of
the near-diagonal covers, :mod:`.near_diagonal`), also where only a few output units are
on and a rank test alone cannot decide. Around a generic meeting point of hinges it is exact (there ``f`` is locally
``f(z) + F(u)`` with ``F`` homogeneous, and the cones above describe ``F`` exactly when
the switching units' rows are independent), so pair splitting no longer gets stuck
there.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import numpy as np

from ..layers import Layer

#: Singular values below this (relative) count as zero (the generous side: a larger
#: kernel of ``E``, fewer independent hyperplanes at a ray).
KERNEL_TOL = 1e-7
#: A sign condition must fail by this much (relative) to rule a direction out.
SIGN_TOL = 1e-7
#: Give up on a pair whose arrangement would need more candidate rays than this.
MAX_RAYS = 100


def unit_states(bounds_x, bounds_y) -> tuple[list[np.ndarray], list[np.ndarray], np.ndarray]:
    """How each unit stands on a pair of boxes, from sound bounds of every layer on each.

    Returns ``(on, free, sure)``: per hidden layer, the mask of units on on both boxes
    and the indices of the *free* units (not off on both and not on on both); and the
    mask of last-layer units with a positive lower bound on either box.
    """
    on, free = [], []
    for (lx, ux), (ly, uy) in zip(bounds_x[:-1], bounds_y[:-1], strict=True):
        both_on = (lx > 0) & (ly > 0)
        on.append(both_on)
        free.append(np.flatnonzero(~both_on & ~((ux <= 0) & (uy <= 0))))
    return on, free, (bounds_x[-1][0] > 0) | (bounds_y[-1][0] > 0)


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
    on, free, sure = unit_states(bounds_x, bounds_y)
    size = n + sum(f.size for f in free)
    diff = np.eye(n, size)  # the hidden differences g as linear forms in z
    deltas, pres, signs, column = [], [], [], n
    for k, layer in enumerate(layers[:-1]):
        (lx, ux), (ly, uy) = bounds_x[k], bounds_y[k]
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


def arrangement_rays(forms: np.ndarray) -> np.ndarray | None:
    """Unit directions (columns, one sign each) of the rays of the central arrangement
    ``{t : form . t = 0}`` in ``R^k``; None when the forms do not span ``R^k`` or
    there would be more than ``MAX_RAYS`` candidates."""
    k = forms.shape[1]
    # Only exactly zero forms are dropped: a tiny one still cuts cells, and dropping it
    # could hide a ray.
    forms = forms[np.linalg.norm(forms, axis=1) > 0]
    if forms.shape[0] < k - 1 or np.linalg.matrix_rank(forms) < k:
        return None
    if k == 1:
        return np.ones((1, 1))
    if math.comb(forms.shape[0], k - 1) > MAX_RAYS:
        return None
    unit = forms / np.linalg.norm(forms, axis=1, keepdims=True)
    subsets = np.array(list(itertools.combinations(range(unit.shape[0]), k - 1)))
    stacks = unit[subsets]  # (candidates, k - 1, k)
    _, sing, right = np.linalg.svd(stacks, full_matrices=True)
    # A ray needs k - 1 independent hyperplanes; other subsets meet in a larger face,
    # whose rays come from other subsets.
    ok = sing[:, -1] > KERNEL_TOL
    return right[ok, -1, :].T


def _too_many_rays(n: int, bounds_x, bounds_y) -> bool:
    """From counts alone (before any linear algebra): the kernel has dimension at least
    ``n + free - sure``, and its rays come from ``(dimension - 1)``-subsets of the
    ``2 free`` forms; more than ``MAX_RAYS`` such subsets and the pair is not tried."""
    _, free, sure = unit_states(bounds_x, bounds_y)
    count = sum(f.size for f in free)
    dim = n + count - int(np.sum(sure))
    return dim > 1 and math.comb(2 * count, dim - 1) > MAX_RAYS


def decide_by_rays(
    layers: Sequence[Layer],
    bounds_x: Sequence[tuple[np.ndarray, np.ndarray]],
    bounds_y: Sequence[tuple[np.ndarray, np.ndarray]],
) -> bool | None:
    """Is ``z = 0`` the only solution of the pair's difference system (module docstring)?
    True or False when the rays decide it; None when they are not enumerated (more than
    ``MAX_RAYS`` candidates, forms that do not span, or bounds that are not finite)."""
    if _too_many_rays(layers[0].weight.shape[1], bounds_x, bounds_y):
        return None
    equal, delta, pre, sign = difference_form(layers, bounds_x, bounds_y)
    if not (np.all(np.isfinite(equal)) and np.all(np.isfinite(pre))):
        return None
    basis = generous_kernel(equal)
    if basis.shape[1] == 0:
        return True
    survives = _ray_survives(delta @ basis, pre @ basis, sign)
    return None if survives is None else not survives


def difference_cone_certificate(
    layers: Sequence[Layer],
    bounds_x: Sequence[tuple[np.ndarray, np.ndarray]],
    bounds_y: Sequence[tuple[np.ndarray, np.ndarray]],
) -> bool:
    """True when no ``x`` in ``B_x`` and ``y`` in ``B_y`` with ``x != y`` have
    ``f(x) = f(y)`` (module docstring). ``bounds_x``, ``bounds_y``: sound pre-activation
    bounds of every layer on each box (the same box twice: ``f`` is injective on it)."""
    return decide_by_rays(layers, bounds_x, bounds_y) is True


def _ray_survives(delta: np.ndarray, pre: np.ndarray, sign: np.ndarray) -> bool | None:
    """:func:`some_direction_survives`, with None when the rays are not enumerated."""
    rays = arrangement_rays(np.vstack([delta, pre - delta]))
    if rays is None:
        return None
    both = np.hstack([rays, -rays])
    return bool(np.any(_surviving(delta @ both, pre @ both, sign)))


def some_direction_survives(delta: np.ndarray, pre: np.ndarray, sign: np.ndarray) -> bool:
    """Is there ``t != 0`` with every ``delta_i . t`` between 0 and ``pre_i . t`` (and
    the known signs)? Exact by the rays of the arrangement (module docstring); True
    also when the rays cannot be enumerated (the conservative answer)."""
    return _ray_survives(delta, pre, sign) is not False
