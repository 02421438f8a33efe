"""Box covers: prove a property on a family of boxes by bisecting until a certificate holds.

The pair MILPs (global, pointwise) demand a separation ``|x_j - y_j| >= eps_j`` for some
``j``; on its own their infeasibility says nothing about collisions closer than ``eps``.
:func:`cover_near_diagonal` proves, with no margin, that there are none, so that MILP
infeasibility plus a complete cover is an exact proof of injectivity: a pair with
``|x_j - y_j| < eps_j`` for every ``j`` and ``x`` in a base box ``B`` lies in
``H_B = (B + [-eps, eps]) ∩ D``, and ``H_B`` is certified when the difference cone of
``H_B`` with itself holds (``f`` is injective on it). The global check uses the ``2n``
facets of the unit cube as bases (by homogeneity and swapping, ``|x|_inf = 1 >=
|y|_inf``), or the whole input box for networks with biases. The pointwise check also
covers the facets with :class:`~.certificates.OutputFloor`.

Both are the branch and bound of :mod:`.search` over single boxes, with no probe, which
stops at the first box narrower than ``MIN_WIDTH`` that it cannot certify.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..budget import Budget
from ..layers import Layer
from .branching import widest
from .certificates import Certificate, DifferenceCone
from .domains import Box, Domain
from .search import Bounding, Limits, SearchOutcome, branch_and_bound

#: Base boxes narrower than this are not split further (the cover then gives up).
MIN_WIDTH = 2.0**-12
#: The cover gives up after certifying or splitting this many boxes.
MAX_BOXES = 200_000
#: Boxes whose bounds are computed together.
BATCH = 64


@dataclass
class CoverResult:
    """Outcome of a box cover."""

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


def certify_cover(
    layers: Sequence[Layer],
    bases: Sequence[Box],
    certificate: Certificate,
    *,
    reach: np.ndarray | None = None,
    domain: Box | None = None,
    budget: Budget | None = None,
    min_width: float = MIN_WIDTH,
    max_boxes: int = MAX_BOXES,
) -> CoverResult:
    """Bisect the base boxes until ``certificate`` holds on every
    ``(B + [-reach, reach]) ∩ domain``.

    Parameters
    ----------
    layers : list of Layer
    bases : list of (lo, hi)
        Base boxes (may be degenerate in some coordinates, e.g. facets).
    certificate : Certificate
        A box certificate (:mod:`.certificates`).
    reach : ndarray of shape (n,), optional
        How far a partner point may be from the base box, per coordinate (default 0).
    domain : (lo, hi), optional
        The box both points live in (default: no clipping).
    budget : Budget, optional
    min_width, max_boxes
        Work limits.

    Returns
    -------
    CoverResult
        ``proven`` when every base box was covered by certified boxes.
    """
    search = branch_and_bound(
        layers,
        [Domain.box(lo, hi) for lo, hi in bases],
        certificates=[certificate],
        branching=widest,
        bounding=Bounding("crown", reach=reach, clip=domain),
        limits=Limits(batch=BATCH, max_domains=max_boxes, min_width=min_width, max_leaves=0),
        budget=budget or Budget.unlimited(),
    )
    reason, stuck_at = "", None
    if search.outcome is SearchOutcome.TIME_LIMIT:
        reason = "time limit"
    elif search.outcome is SearchOutcome.MAX_DOMAINS:
        reason = f"more than {max_boxes} boxes"
    elif search.leaves:
        leaf = search.leaves[0]
        reason = f"a box of width {leaf.width():.2g} could not be certified"
        stuck_at = leaf.centres()[0]
    return CoverResult(
        search.proven, search.cleared[certificate.name], search.seconds, reason, stuck_at
    )


def cover_near_diagonal(
    layers: Sequence[Layer],
    bases: Sequence[Box],
    reach: np.ndarray,
    domain: Box,
    *,
    budget: Budget | None = None,
) -> CoverResult:
    """Prove ``f`` injective on ``(B + [-reach, reach]) ∩ domain`` for a cover of the
    bases (the difference cone of each box with itself)."""
    return certify_cover(layers, bases, DifferenceCone(), reach=reach, domain=domain, budget=budget)
