"""Input splitting for the local check of bias-free nets: clear boxes by active counts.

On a box ``B`` of a facet of the cube, sound bounds ``l <= pre_k(x) <= u`` hold for every
``x`` in ``B``. If at least ``n`` units of the failing layer ``k`` have ``l > 0``, every
point of ``B`` has ``>= n`` strictly active units there, so no open region with
``a_k < n`` meets ``B``: the box is proven with no margin at all
(:class:`~.certificates.ActiveCount`). Boxes that cannot be cleared are bisected
(:class:`~.branching.Smeared`); box centres strictly inside a failing region are probed
for a witness; the small remainder (the *leaves*) is handed to the local MILP on its own
(much tighter) bounds.

Exactness of the cover: the boxes partition a facet; an open region meets the facet in
a relatively open set, which meets the interior of one of finitely many closed boxes
covering it. So an open region with ``a_k < n`` meets some leaf.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from ..budget import Budget
from ..layers import Layer, near_zero_units, pre_activations
from .branching import Smeared
from .certificates import ActiveCount
from .domains import Domain
from .search import Bounding, Limits, Probe, SearchResult, branch_and_bound

#: Boxes whose bounds are computed together.
BATCH = 64
#: Relative size under which a pre-activation counts as zero (a centre on a boundary).
BOUNDARY_RTOL = 1e-9


def strictly_failing(layers: Sequence[Layer], x: np.ndarray, k: int) -> np.ndarray:
    """Points ``x`` (shape ``(B, n)``) strictly inside their region of layers ``1..k``
    with fewer than ``n`` active units in layer ``k``."""
    inside = ~np.any(np.hstack(near_zero_units(layers[:k], x, BOUNDARY_RTOL)), axis=1)
    active = np.sum(pre_activations(layers[:k], x)[-1] > 0, axis=1)
    return inside & (active < x.shape[1])


class FailingCentreProbe(Probe):
    """Calls ``find(centre)`` on boxes whose centre lies strictly inside a region with
    fewer than ``n`` active units in layer ``k``."""

    def __init__(self, layers: Sequence[Layer], k: int, find: Callable, max_calls: int):
        super().__init__(max_calls)
        self.layers, self.k, self._find = layers, k, find

    def select(self, layers, domains, index, widths) -> np.ndarray:
        if index.size == 0 or self.calls >= self.max_calls:
            return np.zeros(index.size, dtype=bool)
        centres = np.array([domains[i].centres()[0] for i in index])
        return strictly_failing(self.layers, centres, self.k)

    def find(self, domain: Domain):
        return self._find(domain.centres()[0])


def split_facet(
    layers: Sequence[Layer],
    k: int,
    lo: np.ndarray,
    hi: np.ndarray,
    *,
    max_depth: int,
    max_boxes: int | None = None,
    budget: Budget | None = None,
    probe: Callable | None = None,
    max_probes: int = 20,
) -> SearchResult:
    """Bisect the box ``[lo, hi]`` until layer ``k`` has ``n`` surely active units.

    ``probe(x)``, if given, returns a verified witness or None (at most ``max_probes``
    calls). The result's ``open_domains()`` are the leaves for the MILP: boxes bisected
    ``max_depth`` times, or every box still open when ``max_boxes`` or the budget ran out.
    """
    n = lo.size
    return branch_and_bound(
        layers,
        [Domain.box(lo, hi)],
        certificates=[ActiveCount(n)],
        branching=Smeared(layers),
        # Layer 2: forward symbolic intervals are as tight as back-substitution and cheaper.
        bounding=Bounding("symbolic" if k <= 2 else "crown", upto=k),
        limits=Limits(batch=BATCH, max_domains=max_boxes, max_depth=max_depth),
        budget=budget or Budget.unlimited(),
        probe=None if probe is None else FailingCentreProbe(layers, k, probe, max_probes),
    )
