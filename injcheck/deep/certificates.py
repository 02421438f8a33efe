"""Certificates: sound tests that clear a domain of the branch and bound.

A certificate looks at a domain (a box or a pair of boxes) and its bounds and answers
True only when the domain cannot hold what the search looks for. Each one is a small
class with a ``name`` (the search counts cleared domains by it) and either a batched
:meth:`Certificate.clears` or a per-domain :meth:`Certificate.clears_one`.

* :class:`ActiveCount` (local): layer ``k`` has ``n`` units surely active on the box,
  so no open region with fewer than ``n`` active units meets it;
* :class:`DisjointOutputs` (pairs): some output unit's ranges on the two boxes miss
  each other, so no point of one box has the output of a point of the other;
* :class:`DifferenceCone` (pairs, or a box with itself): the difference system has only
  the zero solution (:mod:`.difference_cone`), so the pair holds no collision (a box:
  ``f`` is injective on it);
* :class:`OutputFloor` (boxes): some output exceeds a floor everywhere on the box.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..layers import Layer
from .bounds import Bounds
from .difference_cone import difference_cone_certificate
from .domains import Domain

#: A lower bound counts as positive only above this (relative to the bound's scale), so
#: float rounding in the propagation cannot clear a box wrongly.
POSITIVE_TOL = 1e-9


class Certificate:
    """Base class: a batched test built from a per-domain one."""

    name = "certificate"

    def clears(
        self,
        layers: Sequence[Layer],
        domains: Sequence[Domain],
        bounds: Sequence[Bounds],
        index: np.ndarray,
    ) -> np.ndarray:
        """Mask over ``index`` (positions in the batch) of the domains cleared.

        ``bounds`` holds one batched :class:`Bounds` per side.
        """
        return np.array(
            [self.clears_one(layers, domains[i], [_item(b, i) for b in bounds]) for i in index],
            dtype=bool,
        )

    def clears_one(self, layers: Sequence[Layer], domain: Domain, bounds: Sequence) -> bool:
        """``bounds``: per side, the domain's ``[(lower, upper), ...]`` per layer."""
        raise NotImplementedError


def _item(bounds: Bounds, i: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """The per-layer ``(lower, upper)`` of box ``i`` of a batch (a light view)."""
    return [(low[i], up[i]) for low, up in zip(bounds.lower, bounds.upper, strict=True)]


class ActiveCount(Certificate):
    """At least ``count`` units of the last bounded layer have a positive lower bound."""

    name = "active count"

    def __init__(self, count: int):
        self.count = count

    def clears(self, layers, domains, bounds, index) -> np.ndarray:
        low, up = bounds[0][-1]
        low, up = low[index], up[index]
        scale = np.maximum(np.abs(low), np.abs(up))
        return np.sum(low > POSITIVE_TOL * (1.0 + scale), axis=1) >= self.count


class DisjointOutputs(Certificate):
    """Some output unit's ``ReLU`` ranges on the two sides are disjoint."""

    name = "outputs"

    def clears(self, layers, domains, bounds, index) -> np.ndarray:
        (low_x, up_x), (low_y, up_y) = bounds[0][-1], bounds[-1][-1]
        out_x = np.maximum(low_x[index], 0.0), np.maximum(up_x[index], 0.0)
        out_y = np.maximum(low_y[index], 0.0), np.maximum(up_y[index], 0.0)
        return np.any((out_x[0] > out_y[1]) | (out_y[0] > out_x[1]), axis=1)


class DifferenceCone(Certificate):
    """The difference-cone certificate of the two sides (a box with itself when the
    domain has one side)."""

    name = "cone"

    def clears_one(self, layers, domain, bounds) -> bool:
        return difference_cone_certificate(layers, bounds[0], bounds[-1])


class OutputFloor(Certificate):
    """``|f(x)|_inf > floor`` on the box: some last-layer lower bound exceeds it."""

    name = "output floor"

    def __init__(self, floor: float):
        self.floor = floor

    def clears(self, layers, domains, bounds, index) -> np.ndarray:
        return np.max(bounds[0].lower[-1][index], axis=1) > self.floor
