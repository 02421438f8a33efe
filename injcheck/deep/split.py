"""Input splitting for the local check of bias-free nets: prune boxes with sound bounds.

On a box ``B`` of inputs, symbolic interval propagation (affine lower and upper
functions of ``x`` per unit, concretised over ``B``) gives sound bounds
``l <= pre_k(x) <= u`` for every ``x`` in ``B``. If at least ``n`` units of the failing
layer ``k`` have ``l > 0`` on ``B``, then every point of ``B`` has ``>= n`` strictly active
units there, so no open region with ``a_k < n`` meets ``B``: the box is proven with no
margin at all. Boxes that cannot be pruned are bisected; the small remainder (the
*leaves*) is handed to the local MILP on its own (much tighter) bounds.

Exactness of the cover: the boxes partition a facet of the cube; an open region meets
the facet in a relatively open set, which meets the interior of one of finitely many
closed boxes covering it. So an open region with ``a_k < n`` meets some leaf.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..networks import Layer

#: Choose the split coordinate by width times layer-1 sensitivity.
SMEAR = True
#: Boxes whose bounds are computed together (numpy batch).
BATCH = 64
#: A lower bound counts as positive only above this (relative to the bound's scale),
#: so float rounding in the propagation cannot prune a box wrongly.
POSITIVE_TOL = 1e-9


def facet_boxes(n: int):
    """The ``2n`` facets ``x_j = s`` (``s = +-1``) of ``[-1, 1]^n`` as degenerate boxes.

    Their union is the sphere ``|x|_inf = 1``, which meets every ray of R^n \\ {0}: by
    homogeneity, an open region of a bias-free net meets (relatively openly) at least
    one facet, so searching the facets one by one is the same question as the whole
    sphere. Each facet excludes the origin, so its pre-activation bounds are tighter
    than those of the whole cube and the normalisation needs no binaries.
    """
    for j in range(n):
        for s in (1.0, -1.0):
            lo, hi = -np.ones(n), np.ones(n)
            lo[j] = hi[j] = s
            yield j, s, lo, hi


def facets(n: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """The boxes ``(lo, hi)`` of :func:`facet_boxes`."""
    return [(lo, hi) for _, _, lo, hi in facet_boxes(n)]


def symbolic_bounds(
    layers: Sequence[Layer], lo: np.ndarray, hi: np.ndarray, upto: int
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Sound pre-activation bounds of layers ``1..upto`` on the box ``[lo, hi]``.

    Forward symbolic intervals: ``h_{k-1}`` is enclosed by affine functions
    ``L(x) <= h_{k-1}(x) <= U(x)``; ``pre_k = W h_{k-1} + b`` by
    ``W+ L + W- U + b <= pre_k <= W+ U + W- L + b``, concretised exactly over the box.
    ReLU of an undecided unit (``l < 0 < u``): ``relu(p) >= lam p`` with ``lam`` in
    {0, 1} and ``relu(p) <= u (p - l) / (u - l)`` for ``p`` in ``[l, u]``.
    """
    n = lo.size
    centre, radius = (lo + hi) / 2.0, (hi - lo) / 2.0
    l_a, l_b = np.eye(n), np.zeros(n)
    u_a, u_b = np.eye(n), np.zeros(n)
    out = []
    for k in range(upto):
        w = layers[k].weight
        bias = layers[k].bias
        wp, wn = np.maximum(w, 0.0), np.minimum(w, 0.0)
        pl_a, pl_b = wp @ l_a + wn @ u_a, wp @ l_b + wn @ u_b + bias
        pu_a, pu_b = wp @ u_a + wn @ l_a, wp @ u_b + wn @ l_b + bias
        low = pl_a @ centre + pl_b - np.abs(pl_a) @ radius
        up = pu_a @ centre + pu_b + np.abs(pu_a) @ radius
        # Float safety: widen by a few ulps of the magnitudes involved.
        slack = 1e-12 * (np.abs(pl_a) @ np.abs(centre) + np.abs(pl_a) @ radius + np.abs(pl_b) + 1.0)
        low = low - slack
        up = up + 1e-12 * (
            np.abs(pu_a) @ np.abs(centre) + np.abs(pu_a) @ radius + np.abs(pu_b) + 1.0
        )
        out.append((low, up))
        on, off = low >= 0, up <= 0
        und = ~on & ~off
        # lower function of relu
        lam = np.where(on, 1.0, np.where(und & (up > -low), 1.0, 0.0))
        n_l_a, n_l_b = lam[:, None] * pl_a, lam * pl_b
        # upper function of relu
        slope = np.where(on, 1.0, np.where(und, up / np.where(und, up - low, 1.0), 0.0))
        shift = np.where(und, -low, 0.0)
        n_u_a, n_u_b = slope[:, None] * pu_a, slope * (pu_b + shift)
        l_a, l_b, u_a, u_b = n_l_a, n_l_b, n_u_a, n_u_b
    return out


def split_facet(
    layers: Sequence[Layer],
    k: int,
    lo: np.ndarray,
    hi: np.ndarray,
    *,
    max_depth: int,
    max_boxes: int | None = None,
    deadline: float | None = None,
    probe=None,
    max_probes: int = 20,
) -> tuple[list[tuple[np.ndarray, np.ndarray]], dict]:
    """Bisect the box ``[lo, hi]`` until layer ``k`` has ``n`` surely active units.

    Returns the leaves (boxes not proven: after ``max_depth`` bisections, or all boxes
    still open when ``max_boxes`` or the deadline is reached) and counters. Pruned boxes
    are proven exactly (module docstring); leaves need the MILP.

    ``probe(x)``, if given, is called (at most ``max_probes`` times) on the centre of an
    open box when the centre lies strictly inside a region with ``a_k < n``; it returns
    a verified witness or None. The first witness stops the search
    (``stats["witness"]``).
    """
    import time

    n = lo.size
    # Layer 2: forward symbolic intervals are as tight as back-substitution and cheaper.
    bound = symbolic_bounds_batch if k <= 2 else backward_bounds_batch
    stack = [(lo, hi, 0)]
    leaves, boxes, pruned, probes = [], 0, 0, 0
    stats: dict = {}
    while stack:
        out_of_time = deadline is not None and time.perf_counter() > deadline
        if out_of_time or (max_boxes is not None and boxes >= max_boxes):
            leaves.extend((b_lo, b_hi) for b_lo, b_hi, _ in stack)
            stats["stopped"] = "deadline" if out_of_time else "max_boxes"
            break
        # Boxes from the top of the stack in one batch (depth-first, vectorised bounds).
        batch = [stack.pop() for _ in range(min(BATCH, len(stack)))]
        boxes += len(batch)
        los, his = np.array([b[0] for b in batch]), np.array([b[1] for b in batch])
        all_bounds = bound(layers, los, his, k)
        low_all, up_all = all_bounds[k - 1]
        # Split heuristic ("smear"): the coordinate where width times the weight of the
        # undecided units of layer 1 is largest (plain widest side if SMEAR is off).
        l1_low, l1_up = all_bounds[0]
        undecided_1 = (l1_low < 0) & (l1_up > 0)
        smear = undecided_1.astype(float) @ np.abs(layers[0].weight) + 1e-3
        failing = (
            _strictly_failing_batch(layers, (los + his) / 2.0, k)
            if probe is not None and probes < max_probes
            else np.zeros(len(batch), dtype=bool)
        )
        scale = np.maximum(np.abs(low_all), np.abs(up_all))
        proven = np.sum(low_all > POSITIVE_TOL * (1.0 + scale), axis=1) >= n
        pruned += int(np.sum(proven))
        for (b_lo, b_hi, depth), sm, fails in zip(
            (b for b, p in zip(batch, proven, strict=True) if not p),
            smear[~proven],
            failing[~proven],
            strict=True,
        ):
            if "witness" in stats:
                break
            if fails and probes < max_probes:
                centre = 0.5 * (b_lo + b_hi)
                if _strictly_failing(layers, centre, k):
                    probes += 1
                    found = probe(centre)
                    if found is not None:
                        stats["witness"] = found
                        break
            if depth >= max_depth:
                leaves.append((b_lo, b_hi))
                continue
            width = b_hi - b_lo
            j = int(np.argmax(width * sm if SMEAR else width))
            mid = 0.5 * (b_lo[j] + b_hi[j])
            left_hi, right_lo = b_hi.copy(), b_lo.copy()
            left_hi[j] = mid
            right_lo[j] = mid
            stack.append((b_lo, left_hi, depth + 1))
            stack.append((right_lo, b_hi, depth + 1))
        if "witness" in stats:
            break
    stats.update({"boxes": boxes, "pruned": pruned, "leaves": len(leaves), "probes": probes})
    return leaves, stats


def _strictly_failing_batch(
    layers: Sequence[Layer], x: np.ndarray, k: int, rtol: float = 1e-9
) -> np.ndarray:
    """:func:`_strictly_failing` for a batch of points ``x`` of shape ``(B, n)``."""
    n = x.shape[1]
    h = x
    ok = np.ones(x.shape[0], dtype=bool)
    for j in range(k):
        w = layers[j].weight
        pre = h @ w.T + layers[j].bias
        size = np.abs(h) @ np.abs(w).T
        ok &= ~np.any((np.abs(pre) <= rtol * size) & (size > 0), axis=1)
        h = np.maximum(pre, 0.0)
    return ok & (np.sum(pre > 0, axis=1) < n)


def _strictly_failing(layers: Sequence[Layer], x: np.ndarray, k: int, rtol: float = 1e-9) -> bool:
    """``x`` is strictly inside its region of layers ``1..k`` and ``a_k(x) < n``."""
    n = x.size
    h = x
    for j in range(k):
        w = layers[j].weight
        pre = w @ h + layers[j].bias
        size = np.abs(w) @ np.abs(h)
        if np.any((np.abs(pre) <= rtol * size) & (size > 0)):
            return False
        h = np.maximum(pre, 0.0)
    return int(np.sum(pre > 0)) < n


def _relu_relaxation(low: np.ndarray, up: np.ndarray):
    """Per unit, ``lam p <= relu(p) <= slope p + shift`` for ``p`` in ``[low, up]``."""
    on, off = low >= 0, up <= 0
    und = ~on & ~off
    lam = np.where(on, 1.0, np.where(und & (up > -low), 1.0, 0.0))
    denom = np.where(und, up - low, 1.0)
    slope = np.where(on, 1.0, np.where(und, up / denom, 0.0))
    shift = np.where(und, -slope * low, 0.0)
    return lam, slope, shift


def backward_bounds(
    layers: Sequence[Layer], lo: np.ndarray, hi: np.ndarray, upto: int
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Sound pre-activation bounds of layers ``1..upto`` on ``[lo, hi]`` by back-substitution.

    Layer 1 is exact on the box. For layer ``k``, the rows of ``W_k`` are substituted back
    through the ReLU relaxations of layers ``k-1, ..., 1`` (lower relaxation where the
    coefficient is positive, upper where it is negative, for the lower bound; the
    reverse for the upper bound) down to an affine function of ``x``, which is then
    minimised or maximised exactly over the box (the CROWN/DeepPoly scheme). The result
    is intersected with the forward symbolic bounds; both are sound, so is the meet.
    """
    centre, radius = (lo + hi) / 2.0, (hi - lo) / 2.0
    forward = symbolic_bounds(layers, lo, hi, upto)
    out: list[tuple[np.ndarray, np.ndarray]] = []
    relax = []
    for k in range(upto):
        w = layers[k].weight
        bias = layers[k].bias.copy()
        f_low, f_up = forward[k]
        if k == 0:
            low, up = f_low, f_up
        else:
            bounds_pair = []
            for sign in (1.0, -1.0):  # 1: lower bound, -1: upper bound (of -pre)
                coef, const = sign * w, sign * bias
                for i in range(k - 1, -1, -1):
                    lam, slope, shift = relax[i]
                    pos, neg = np.maximum(coef, 0.0), np.minimum(coef, 0.0)
                    # lower bound of coef . relu(p): pos * lam p + neg * (slope p + shift)
                    const = const + neg @ shift
                    a = pos * lam + neg * slope
                    w_i = layers[i].weight
                    b_i = layers[i].bias
                    const = const + a @ (np.zeros(w_i.shape[0]) + b_i)
                    coef = a @ w_i
                value = coef @ centre + const - np.abs(coef) @ radius
                slack = 1e-12 * (np.abs(coef) @ (np.abs(centre) + radius) + np.abs(const) + 1.0)
                bounds_pair.append(sign * (value - slack))
            low = np.maximum(bounds_pair[0], f_low)
            up = np.minimum(bounds_pair[1], f_up)
        out.append((low, up))
        relax.append(_relu_relaxation(low, up))
    return out


# ----------------------------------------------------------------- batched versions
def _concretise(coef: np.ndarray, const: np.ndarray, centre: np.ndarray, radius: np.ndarray):
    """Min over each box of ``coef x + const`` (batched), widened for float rounding."""
    value = np.einsum("bjn,bn->bj", coef, centre) + const
    spread = np.einsum("bjn,bn->bj", np.abs(coef), radius)
    slack = 1e-12 * (np.einsum("bjn,bn->bj", np.abs(coef), np.abs(centre) + radius))
    slack = slack + 1e-12 * (np.abs(const) + 1.0)
    return value - spread - slack


def symbolic_bounds_batch(
    layers: Sequence[Layer], lo: np.ndarray, hi: np.ndarray, upto: int
) -> list[tuple[np.ndarray, np.ndarray]]:
    """:func:`symbolic_bounds` for a batch of boxes ``lo, hi`` of shape ``(B, n)``."""
    batch, n = lo.shape
    centre, radius = (lo + hi) / 2.0, (hi - lo) / 2.0
    l_a = np.broadcast_to(np.eye(n), (batch, n, n))
    l_b = np.zeros((batch, n))
    u_a, u_b = l_a, l_b
    out = []
    for k in range(upto):
        w = layers[k].weight
        bias = layers[k].bias
        wp, wn = np.maximum(w, 0.0), np.minimum(w, 0.0)
        pl_a, pl_b = wp @ l_a + wn @ u_a, l_b @ wp.T + u_b @ wn.T + bias
        pu_a, pu_b = wp @ u_a + wn @ l_a, u_b @ wp.T + l_b @ wn.T + bias
        low = _concretise(pl_a, pl_b, centre, radius)
        up = -_concretise(-pu_a, -pu_b, centre, radius)
        out.append((low, up))
        lam, slope, shift = _relu_relaxation(low, up)
        l_a, l_b = lam[..., None] * pl_a, lam * pl_b
        u_a, u_b = slope[..., None] * pu_a, slope * pu_b + shift
    return out


def backward_bounds_batch(
    layers: Sequence[Layer], lo: np.ndarray, hi: np.ndarray, upto: int
) -> list[tuple[np.ndarray, np.ndarray]]:
    """:func:`backward_bounds` for a batch of boxes ``lo, hi`` of shape ``(B, n)``."""
    batch, _ = lo.shape
    centre, radius = (lo + hi) / 2.0, (hi - lo) / 2.0
    forward = symbolic_bounds_batch(layers, lo, hi, upto)
    out: list[tuple[np.ndarray, np.ndarray]] = []
    relax = []
    for k in range(upto):
        w = layers[k].weight
        bias = layers[k].bias.copy()
        f_low, f_up = forward[k]
        if k == 0:
            low, up = f_low, f_up
        else:
            found = []
            for sign in (1.0, -1.0):
                coef = np.broadcast_to(sign * w, (batch, *w.shape))
                const = np.broadcast_to(sign * bias, (batch, w.shape[0]))
                for i in range(k - 1, -1, -1):
                    lam, slope, shift = relax[i]
                    pos, neg = np.maximum(coef, 0.0), np.minimum(coef, 0.0)
                    const = const + np.einsum("bjm,bm->bj", neg, shift)
                    a = pos * lam[:, None, :] + neg * slope[:, None, :]
                    if layers[i].has_bias:
                        const = const + a @ layers[i].bias
                    coef = a @ layers[i].weight
                found.append(sign * _concretise(coef, const, centre, radius))
            low = np.maximum(found[0], f_low)
            up = np.minimum(found[1], f_up)
        out.append((low, up))
        relax.append(_relu_relaxation(low, up))
    return out
