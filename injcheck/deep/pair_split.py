"""Exact global proofs by splitting pairs of input boxes (no MILP, no margin).

A collision is a pair ``x != y`` with ``f(x) = f(y)``. The search
(:func:`.search.branch_and_bound`) starts from box pairs that hold a copy of every
collision (:func:`.domains.collision_roots`) and bisects the wider box of a pair until
it is **cleared** by one of two sound tests on CROWN bounds of both boxes:

1. **disjoint outputs**: some output unit's ``ReLU`` ranges on the two boxes miss;
2. the **difference cone** (:mod:`.difference_cone`): the differences ``x - y`` and
   those of the units not settled the same way on both boxes satisfy a homogeneous
   system whose only solution is 0, so ``x = y``.

If every pair is cleared, the network is injective on the domain. Pairs narrower than
``MIN_WIDTH`` are set aside (*stuck*: the proof is incomplete and the caller falls back
to the MILP). A probe looks for a witness at small uncleared pairs, so a collision ends
the search early. :func:`prove_layer_by_layer` runs the search on the prefixes
``layers[:1]``, ``layers[:2]``, ...: a collision of a prefix is one of the network, the
prefixes' searches are smaller, and a proven prefix tells the pair MILP where a
collision can first meet. The search is over ``2n - 1`` (bias-free) or ``2n``
dimensions, so it is fast for small ``n`` and grows quickly with ``n``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from ..budget import Budget
from ..layers import Layer
from .branching import widest
from .certificates import Certificate, DifferenceCone, DisjointOutputs
from .domains import Domain, collision_roots
from .search import Bounding, Limits, Probe, SearchOutcome, SearchResult, branch_and_bound

#: Pairs whose boxes are both narrower than this are not split further.
MIN_WIDTH = 2.0**-14
#: Pairs whose bounds are computed together.
BATCH = 128
#: Give up after examining this many pairs.
MAX_PAIRS = 2_000_000
#: Uncleared pairs with both boxes narrower than this are probed for a witness...
PROBE_WIDTH = 2.0**-6
#: ...at most this many times per search (stuck pairs are always probed).
MAX_PROBES = 300
#: The search gives up after setting aside this many pairs it cannot clear.
MAX_STUCK = 20


def default_certificates() -> list[Certificate]:
    """The pair tests, in order: disjoint outputs (batched, cheap), then the cone."""
    return [DisjointOutputs(), DifferenceCone()]


class SmallPairProbe(Probe):
    """Calls ``find((x_centre, y_centre))`` on pairs narrower than ``PROBE_WIDTH``."""

    def __init__(self, find):
        super().__init__(MAX_PROBES, always_at_leaves=True)
        self._find = find

    def select(self, layers, domains, index, widths) -> np.ndarray:
        return widths[index] <= PROBE_WIDTH

    def find(self, domain: Domain):
        return self._find(domain.centres())


@dataclass
class PairSplitResult:
    """A pair search (or one per prefix), summed up.

    ``search`` is the last prefix's :class:`~.search.SearchResult`; ``proven_layers``
    the longest prefix proven injective.
    """

    search: SearchResult
    proven_layers: int = 0
    pairs: int = 0
    cleared: dict[str, int] = field(default_factory=dict)
    probes: int = 0
    seconds: float = 0.0

    @property
    def outcome(self) -> SearchOutcome:
        return self.search.outcome

    @property
    def witness(self):
        return self.search.witness

    @property
    def stuck(self) -> int:
        return len(self.search.leaves)

    @property
    def stuck_at(self) -> tuple[np.ndarray, ...] | None:
        """Centres of the first pair set aside."""
        return self.search.leaves[0].centres() if self.search.leaves else None

    @property
    def open_share(self) -> float:
        return self.search.open_share

    def add(self, step: SearchResult) -> None:
        self.search = step
        self.pairs += step.domains
        self.probes += step.probes
        self.seconds += step.seconds
        for name, count in step.cleared.items():
            self.cleared[name] = self.cleared.get(name, 0) + count

    def summary(self) -> dict:
        return {
            "outcome": self.outcome.value,
            "proven_layers": self.proven_layers,
            "pairs": self.pairs,
            "cleared_by": dict(self.cleared),
            "probes": self.probes,
            "stuck": self.stuck,
            "open_share": round(self.open_share, 6),
            "seconds": round(self.seconds, 4),
        }


def prove_by_pair_splitting(
    layers: Sequence[Layer],
    lo: np.ndarray,
    hi: np.ndarray,
    homogeneous: bool,
    *,
    budget: Budget | None = None,
    max_pairs: int = MAX_PAIRS,
    min_width: float = MIN_WIDTH,
    probe=None,
    certificates: Sequence[Certificate] | None = None,
) -> PairSplitResult:
    """Try to prove global injectivity on the domain by clearing box pairs.

    Parameters
    ----------
    layers : list of Layer
    lo, hi : ndarray
        The domain: the unit cube for bias-free nets (``homogeneous=True``), else the box.
    homogeneous : bool
        Bias-free with no box: start from (facet, cube) pairs.
    budget : Budget, optional
    max_pairs, min_width
        Work limits (module docstring).
    probe : callable, optional
        ``probe((x_centre, y_centre))`` returns a verified witness or None; it is called
        on small uncleared pairs (module docstring).
    certificates : list of Certificate, optional
        The pair tests, tried in order (default :func:`default_certificates`);
        ``cleared`` counts by their names.

    Returns
    -------
    PairSplitResult
        ``outcome == PROVEN`` is a proof of injectivity on the domain.
    """
    search = branch_and_bound(
        layers,
        collision_roots(np.asarray(lo, float), np.asarray(hi, float), homogeneous),
        certificates=default_certificates() if certificates is None else certificates,
        branching=widest,
        bounding=Bounding("crown"),
        limits=Limits(
            batch=BATCH, max_domains=max_pairs, min_width=min_width, max_leaves=MAX_STUCK
        ),
        budget=budget or Budget.unlimited(),
        probe=None if probe is None else SmallPairProbe(probe),
    )
    result = PairSplitResult(search)
    result.add(search)
    return result


def prove_layer_by_layer(
    layers: Sequence[Layer],
    lo: np.ndarray,
    hi: np.ndarray,
    homogeneous: bool,
    *,
    first: int = 1,
    budget: Budget | None = None,
    probe=None,
    certificates: Sequence[Certificate] | None = None,
) -> PairSplitResult:
    """Pair splitting on ``layers[:first]``, ``layers[:first + 1]``, ..., ``layers``.

    The caller has proven ``layers[:first - 1]`` injective (e.g. layer 1 by the exact
    one-layer check). The search stops at the first prefix that is not proven; a
    collision of a prefix is a collision of the network, so ``probe`` is the caller's
    probe for the whole network.

    Returns
    -------
    PairSplitResult
        Work summed over the steps; the last step's outcome; ``proven_layers`` the
        longest prefix proven injective (``first - 1`` if none).
    """
    total = PairSplitResult(SearchResult(), proven_layers=first - 1)
    for k in range(first, len(layers) + 1):
        step = prove_by_pair_splitting(
            layers[:k], lo, hi, homogeneous, budget=budget, probe=probe, certificates=certificates
        )
        total.add(step.search)
        if not step.search.proven:
            break
        total.proven_layers = k
    return total
