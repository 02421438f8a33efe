"""Exact global proofs by splitting pairs of input boxes (no MILP, no margin).

A collision is a pair ``(x, y)``, ``x != y``, with ``f(x) = f(y)``. Bias-free networks
without a box are positively homogeneous, so (scaling, and swapping ``x`` and ``y``)
every collision has a copy with ``|x|_inf = 1 >= |y|_inf``: ``x`` on one of the ``2n``
facets of the cube, ``y`` in the cube. With a box ``D`` both points range over ``D``.
The search starts from these box pairs ``(B_x, B_y)`` and bisects them; a pair is
**cleared** (no collision in ``B_x x B_y``) by either of two sound tests, on bounds from
:func:`.split.backward_bounds_batch`:

1. **Disjoint outputs.** Some output unit's interval of ``ReLU(pre)`` over ``B_x`` misses
   its interval over ``B_y``.
2. **Difference cone** (:mod:`.difference_cone`): the differences ``x - y`` and those of
   the units that are not settled the same way on both boxes satisfy a homogeneous
   system whose only solution is 0, so ``x = y``. It clears pairs near the diagonal with
   no separation margin (exactly, around generic meetings of hinges) and pairs far
   apart whose outputs overlap.

:func:`prove_layer_by_layer` runs the search on the prefixes ``layers[:1]``,
``layers[:2]``, ... in turn: a collision of a prefix is one of the network, and the
prefixes' searches are smaller, so collisions at early layers are found sooner; the
proven prefix also tells the pair MILP where a collision can first meet.

If every pair is cleared, the network is injective; the proof is as exact as the bounds
(sound, widened for rounding) and the linear algebra of the cone test (read with wide
margins). Pairs that shrink below ``MIN_WIDTH`` without being cleared are set aside
(``stuck``, the proof is then incomplete and the caller falls back to the MILP). An
optional ``probe`` looks for a witness at the centres of small uncleared pairs, so
collisions end the search early. This is a branch and bound over ``2n - 1``
(bias-free) or ``2n`` dimensions, so it is fast for small ``n`` and grows quickly with
``n``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from ..networks import Layer
from .difference_cone import difference_cone_certificate
from .split import backward_bounds_batch, facets

#: Pairs whose boxes are both narrower than this are not split further.
MIN_WIDTH = 2.0**-14
#: Pairs whose bounds are computed together.
BATCH = 128
#: Give up after examining this many pairs.
MAX_PAIRS = 2_000_000
#: Uncleared pairs with both boxes narrower than this are probed for a witness...
PROBE_WIDTH = 2.0**-6
#: ...at most this many times per search.
MAX_PROBES = 300
#: The search gives up after setting aside this many pairs it cannot clear.
MAX_STUCK = 20


@dataclass
class PairSplitResult:
    """Outcome of :func:`prove_by_pair_splitting`."""

    outcome: str  # "proven" | "witness" | "stuck" | "time limit" | "max pairs"
    pairs: int = 0
    cleared: dict = field(default_factory=dict)  # pairs cleared, by test
    seconds: float = 0.0
    stuck_at: tuple[np.ndarray, np.ndarray] | None = None  # centres of a stuck pair
    witness: object = None  # what ``probe`` returned, when it found one
    probes: int = 0
    stuck: int = 0  # pairs set aside at MIN_WIDTH
    proven_layers: int = 0  # prove_layer_by_layer: the longest prefix proven injective
    open_share: float = 0.0  # share of the pair space still open when the search stopped

    def summary(self) -> dict:
        return {
            "outcome": self.outcome,
            "proven_layers": self.proven_layers,
            "pairs": self.pairs,
            "cleared_by": dict(self.cleared),
            "probes": self.probes,
            "stuck": self.stuck,
            "open_share": round(self.open_share, 6),
            "seconds": round(self.seconds, 4),
        }


#: ``certificate(layers, (box_x, box_y), bounds_x, bounds_y) -> bool``: True proves that
#: the pair of boxes holds no collision.
PairCertificate = Callable[[Sequence[Layer], tuple, list, list], bool]


def cone_certificate(layers, pair, bounds_x, bounds_y) -> bool:
    """The difference cone (:mod:`.difference_cone`) as a pair certificate."""
    return difference_cone_certificate(layers, bounds_x, bounds_y)


DEFAULT_CERTIFICATES: dict[str, PairCertificate] = {"cone": cone_certificate}


def _volume(widths: np.ndarray) -> np.ndarray:
    """Volumes of boxes from their widths (last axis), a facet's fixed coordinate
    skipped: the measure in which a pair's share of the search space is counted."""
    return np.prod(np.where(widths > 0, widths, 1.0), axis=-1)


def root_pairs(lo: np.ndarray, hi: np.ndarray, homogeneous: bool):
    """The starting box pairs (module docstring)."""
    if not homogeneous:
        return [((lo, hi), (lo, hi))]
    return [(facet, (lo, hi)) for facet in facets(lo.size)]


def _bisect(lo: np.ndarray, hi: np.ndarray):
    j = int(np.argmax(hi - lo))
    mid = 0.5 * (lo[j] + hi[j])
    left_hi, right_lo = hi.copy(), lo.copy()
    left_hi[j], right_lo[j] = mid, mid
    return (lo, left_hi), (right_lo, hi)


def prove_by_pair_splitting(
    layers: Sequence[Layer],
    lo: np.ndarray,
    hi: np.ndarray,
    homogeneous: bool,
    *,
    deadline: float | None = None,
    max_pairs: int = MAX_PAIRS,
    min_width: float = MIN_WIDTH,
    probe=None,
    certificates: Mapping[str, PairCertificate] | None = None,
) -> PairSplitResult:
    """Try to prove global injectivity on the domain by clearing box pairs.

    Parameters
    ----------
    layers : list of Layer
    lo, hi : ndarray
        The domain: the unit cube for bias-free nets (``homogeneous=True``), else the box.
    homogeneous : bool
        Bias-free with no box: start from (facet, cube) pairs.
    deadline : float, optional
        ``time.perf_counter()`` value at which to give up.
    max_pairs, min_width
        Work limits (module docstring).
    probe : callable, optional
        ``probe((x_centre, y_centre))`` is called on small uncleared pairs (at most
        ``MAX_PROBES`` times); a result that is not None is a witness and ends the
        search with ``outcome == "witness"``.
    certificates : dict, optional
        The per-pair tests tried in order on pairs whose outputs overlap, by name
        (default: ``{"cone": ...}``, the difference cone); each is called as
        ``certificate(layers, (box_x, box_y), bounds_x, bounds_y)`` with ``box_* =
        (lo, hi)`` and must return True only when the pair holds no collision. For
        experiments with other tests; ``cleared`` counts by these names.

    Returns
    -------
    PairSplitResult
        ``outcome == "proven"`` is a proof of injectivity on the domain.
    """
    start = time.perf_counter()
    certificates = DEFAULT_CERTIFICATES if certificates is None else certificates
    result = PairSplitResult("proven", cleared={"outputs": 0} | dict.fromkeys(certificates, 0))
    depth = len(layers)
    stack = list(root_pairs(np.asarray(lo, float), np.asarray(hi, float), homogeneous))
    whole = sum(float(_volume(bx[1] - bx[0]) * _volume(by[1] - by[0])) for bx, by in stack)
    cleared_share = 0.0
    while stack:
        if deadline is not None and time.perf_counter() > deadline:
            result.outcome = "time limit"
            break
        if result.pairs >= max_pairs:
            result.outcome = "max pairs"
            break
        batch, stack = stack[-BATCH:], stack[:-BATCH]
        result.pairs += len(batch)
        x_lo = np.array([bx[0] for bx, _ in batch])
        x_hi = np.array([bx[1] for bx, _ in batch])
        y_lo = np.array([by[0] for _, by in batch])
        y_hi = np.array([by[1] for _, by in batch])
        bounds_x = backward_bounds_batch(layers, x_lo, x_hi, depth)
        bounds_y = backward_bounds_batch(layers, y_lo, y_hi, depth)
        out_x = np.maximum(bounds_x[-1][0], 0.0), np.maximum(bounds_x[-1][1], 0.0)
        out_y = np.maximum(bounds_y[-1][0], 0.0), np.maximum(bounds_y[-1][1], 0.0)
        disjoint = np.any((out_x[0] > out_y[1]) | (out_y[0] > out_x[1]), axis=1)
        open_idx = np.flatnonzero(~disjoint)
        result.cleared["outputs"] += len(batch) - open_idx.size
        shares = _volume(x_hi - x_lo) * _volume(y_hi - y_lo) / whole
        cleared_share += float(np.sum(shares[disjoint]))
        for i in open_idx:
            box_x = [(low[i], up[i]) for low, up in bounds_x]
            box_y = [(low[i], up[i]) for low, up in bounds_y]
            name = next(
                (k for k, cert in certificates.items() if cert(layers, batch[i], box_x, box_y)),
                None,
            )
            if name is not None:
                result.cleared[name] += 1
                cleared_share += shares[i]
                continue
            (bx_lo, bx_hi), (by_lo, by_hi) = batch[i]
            width_x, width_y = float(np.max(bx_hi - bx_lo)), float(np.max(by_hi - by_lo))
            stuck = max(width_x, width_y) < min_width
            if probe is not None and (
                stuck or (result.probes < MAX_PROBES and max(width_x, width_y) <= PROBE_WIDTH)
            ):
                result.probes += 1
                found = probe(((bx_lo + bx_hi) / 2, (by_lo + by_hi) / 2))
                if found is not None:
                    result.outcome, result.witness = "witness", found
                    break
            if stuck:
                # Set aside (the proof is then incomplete) and go on: a collision elsewhere
                # may still be found, and most stuck spots are few.
                result.stuck += 1
                if result.stuck_at is None:
                    result.stuck_at = ((bx_lo + bx_hi) / 2, (by_lo + by_hi) / 2)
                if result.stuck > MAX_STUCK:
                    result.outcome = "stuck"
                    break
                continue
            if width_x >= width_y:
                stack += [(half, batch[i][1]) for half in _bisect(bx_lo, bx_hi)]
            else:
                stack += [(batch[i][0], half) for half in _bisect(by_lo, by_hi)]
        if result.outcome in ("witness", "stuck"):
            break
    if result.outcome == "proven" and result.stuck:
        result.outcome = "stuck"
    result.open_share = 0.0 if result.outcome == "proven" else max(0.0, 1.0 - cleared_share)
    result.seconds = time.perf_counter() - start
    return result


def prove_layer_by_layer(
    layers: Sequence[Layer],
    lo: np.ndarray,
    hi: np.ndarray,
    homogeneous: bool,
    *,
    first: int = 1,
    deadline: float | None = None,
    probe=None,
    certificates: Mapping[str, PairCertificate] | None = None,
) -> PairSplitResult:
    """Pair splitting on ``layers[:first]``, ``layers[:first + 1]``, ..., ``layers``.

    The caller has proven ``layers[:first - 1]`` injective (e.g. layer 1 by the exact
    one-layer check). The search stops at the first prefix that is not proven; a
    collision of a prefix is a collision of the network, so ``probe`` is the caller's
    probe for the whole network.

    Returns
    -------
    PairSplitResult
        Work summed over the steps; ``outcome`` of the last step; ``proven_layers`` the
        longest prefix proven injective (``first - 1`` if none).
    """
    start = time.perf_counter()
    total = PairSplitResult("proven", proven_layers=first - 1)
    for k in range(first, len(layers) + 1):
        step = prove_by_pair_splitting(
            layers[:k],
            lo,
            hi,
            homogeneous,
            deadline=deadline,
            probe=probe,
            certificates=certificates,
        )
        total.pairs += step.pairs
        total.probes += step.probes
        total.stuck += step.stuck
        for key, count in step.cleared.items():
            total.cleared[key] = total.cleared.get(key, 0) + count
        total.outcome, total.witness, total.stuck_at = step.outcome, step.witness, step.stuck_at
        total.open_share = step.open_share
        if step.outcome != "proven":
            break
        total.proven_layers = k
    total.seconds = time.perf_counter() - start
    return total
