"""Exact exclusion of near-diagonal collisions: a certified box cover.

The pair MILPs (global, pointwise) demand a separation ``|x_j - y_j| >= eps_j`` for some
``j``; on its own their infeasibility says nothing about collisions closer than ``eps``.
This module proves, with no margin, that there are none, so that MILP infeasibility plus
a complete cover is an exact proof of injectivity. A box ``H`` is certified when the
difference-cone certificate (:mod:`.difference_cone`) holds for ``H`` paired with
itself: then ``f`` is injective on ``H``.

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
from .difference_cone import difference_cone_certificate
from .split import backward_bounds_batch

#: Base boxes narrower than this are not split further (the cover then gives up).
MIN_WIDTH = 2.0**-12
#: The cover gives up after certifying or splitting this many boxes.
MAX_BOXES = 200_000
#: Boxes whose bounds are computed together.
BATCH = 64


def injective_on_box(layers: Sequence[Layer], bounds) -> bool:
    """True when ``f`` is injective on a box, from sound bounds of every layer on it
    (the difference-cone certificate of the box paired with itself)."""
    return difference_cone_certificate(layers, bounds, bounds)


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
    bases: :func:`certify_cover` with :func:`injective_on_box` (``limits``:
    ``deadline``, ``min_width``, ``max_boxes``)."""
    return certify_cover(layers, bases, injective_on_box, reach=reach, domain=domain, **limits)


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
