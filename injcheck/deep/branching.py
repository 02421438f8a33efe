"""Branching rules: which side and which coordinate of a domain to bisect.

A rule is called as ``rule(domain, bounds, i)`` with the batch's bounds (one batched
:class:`~injcheck.deep.bounds.Bounds` per side; the domain is item ``i``) and returns
the two children.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..layers import Layer
from .bounds import Bounds
from .domains import Domain, bisect

#: Added to every coordinate's sensitivity, so that a box with no undecided unit in
#: layer 1 still splits along its widest side.
SMEAR_FLOOR = 1e-3


def widest(domain: Domain, bounds: Sequence[Bounds], i: int) -> tuple[Domain, Domain]:
    """Bisect the widest side (the first on ties) at its widest coordinate."""
    gaps = [hi - lo for lo, hi in domain.sides]
    coords = [int(np.argmax(gap)) for gap in gaps]
    side = int(np.argmax([gap[j] for gap, j in zip(gaps, coords, strict=True)]))
    first, second = bisect(*domain.sides[side], coords[side])
    return domain.replace_side(side, first), domain.replace_side(side, second)


class Smeared:
    """Bisect a box at the coordinate where its width times the weight of the
    undecided layer-1 units is largest (the "smear" of input-splitting verifiers):
    the cut that settles the most first-layer units."""

    def __init__(self, layers: Sequence[Layer]):
        self.abs_weight = np.abs(layers[0].weight)

    def __call__(self, domain: Domain, bounds: Sequence[Bounds], i: int) -> tuple[Domain, Domain]:
        (lo, hi), low, up = domain.sides[0], bounds[0].lower[0][i], bounds[0].upper[0][i]
        undecided = (low < 0) & (up > 0)
        smear = undecided.astype(float) @ self.abs_weight + SMEAR_FLOOR
        first, second = bisect(lo, hi, int(np.argmax((hi - lo) * smear)))
        return domain.replace_side(0, first), domain.replace_side(0, second)
