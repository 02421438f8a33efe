"""The branch and bound over input boxes and box pairs: the one search loop of injcheck.deep.

``branch_and_bound`` takes root domains (:mod:`.domains`) and repeats, a batch at a
time from the top of a stack (depth first):

1. **bound** the batch (:class:`Bounding`, a method of :mod:`.bounds` by name);
2. **clear** what a certificate proves empty (:mod:`.certificates`, tried in order);
3. **probe** the rest for a witness (a :class:`Probe`; a verified one ends the search);
4. set aside **leaves** (too narrow or too deep to split) and **branch** the others
   (:mod:`.branching`).

The local check (boxes of a facet, certificate: active count), the global check (box
pairs, certificates: disjoint outputs and the difference cone) and the box covers of
the MILPs' margins (boxes, certificates: difference cone or output floor) are this loop
with other roots, certificates, probes and limits. Every stop is explicit: the search
reports what it left open (:class:`SearchResult`), never a guess.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import Enum

import numpy as np

from ..budget import Budget
from ..layers import Layer
from .bounds import Bounds, compute_bounds
from .certificates import Certificate
from .domains import Box, Domain, box_volumes

Branching = Callable[[Domain, Sequence[Bounds], int], tuple[Domain, Domain]]


class SearchOutcome(str, Enum):
    """How a search ended."""

    PROVEN = "proven"  # every domain cleared
    LEAVES = "stuck"  # the rest cleared, but leaves are left (or too many of them)
    WITNESS = "witness"  # a probe found a verified witness
    TIME_LIMIT = "time limit"
    MAX_DOMAINS = "max domains"


@dataclass(frozen=True)
class Limits:
    """Work limits of a search.

    Attributes
    ----------
    batch : int
        Domains bounded together (one vectorised bounds call per side).
    max_domains : int, optional
        Stop after examining this many domains.
    min_width : float
        A domain whose sides are all narrower than this is a leaf.
    max_depth : int, optional
        A domain bisected this often is a leaf.
    max_leaves : int, optional
        Stop when more leaves than this were set aside (0: at the first).
    """

    batch: int = 64
    max_domains: int | None = None
    min_width: float = 0.0
    max_depth: int | None = None
    max_leaves: int | None = None

    def leaves(self, widths: np.ndarray, depths: np.ndarray) -> np.ndarray:
        """Mask of the domains (by their largest width and depth) that are leaves."""
        too_deep = depths >= self.max_depth if self.max_depth is not None else False
        return too_deep | (widths < self.min_width)


@dataclass
class Bounding:
    """The bounding step: sound bounds of every side of a batch of domains.

    ``reach`` and ``clip`` bound ``(box + [-reach, reach]) ∩ clip`` instead of the box
    (the covers of near-diagonal pairs: a partner point may lie just outside the box).
    """

    method: str = "crown"
    upto: int | None = None
    reach: np.ndarray | None = None
    clip: Box | None = None

    def __call__(self, layers: Sequence[Layer], sides: Sequence[Box]) -> list[Bounds]:
        """``sides``: per side, the stacked ``(lo, hi)`` of the batch, shape ``(B, n)``."""
        out = []
        for lo, hi in sides:
            if self.reach is not None:
                lo, hi = lo - self.reach, hi + self.reach
            if self.clip is not None:
                lo, hi = np.maximum(lo, self.clip[0]), np.minimum(hi, self.clip[1])
            out.append(compute_bounds(layers, lo, hi, method=self.method, upto=self.upto))
        return out


class Probe:
    """Looks for a verified witness in domains the certificates did not clear.

    Subclasses implement :meth:`select` (a cheap batched filter) and :meth:`find`. At
    most ``max_calls`` calls are made, except at leaves when ``always_at_leaves``.
    """

    def __init__(self, max_calls: int, always_at_leaves: bool = False):
        self.max_calls, self.always_at_leaves, self.calls = max_calls, always_at_leaves, 0

    def select(
        self, layers, domains: Sequence[Domain], index: np.ndarray, widths: np.ndarray
    ) -> np.ndarray:
        """Mask over ``index`` of the domains worth probing (``widths``: the largest
        width of each domain of the batch)."""
        return np.ones(index.size, dtype=bool)

    def may_call(self, leaf: bool) -> bool:
        return self.calls < self.max_calls or (leaf and self.always_at_leaves)

    def __call__(self, domain: Domain):
        self.calls += 1
        return self.find(domain)

    def find(self, domain: Domain):
        """A verified witness in the domain, or None."""
        raise NotImplementedError


@dataclass
class SearchResult:
    """What a search did and what it left.

    ``leaves`` and ``unexplored`` (the stack when it stopped) together are the part of
    the search space not cleared; ``open_share`` is its share by volume.
    """

    outcome: SearchOutcome = SearchOutcome.PROVEN
    domains: int = 0
    cleared: dict[str, int] = field(default_factory=dict)
    leaves: list[Domain] = field(default_factory=list)
    unexplored: list[Domain] = field(default_factory=list)
    witness: object = None
    probes: int = 0
    open_share: float = 0.0
    seconds: float = 0.0

    @property
    def proven(self) -> bool:
        return self.outcome is SearchOutcome.PROVEN

    def open_domains(self) -> list[Domain]:
        return self.leaves + self.unexplored


@dataclass
class _State:
    """The loop's working state (the stack and the volume cleared so far)."""

    stack: list[Domain]
    whole: float
    cleared_volume: float = 0.0


def branch_and_bound(
    layers: Sequence[Layer],
    roots: Sequence[Domain],
    *,
    certificates: Sequence[Certificate],
    branching: Branching,
    bounding: Bounding,
    limits: Limits,
    budget: Budget,
    probe: Probe | None = None,
) -> SearchResult:
    """Clear the domains under ``roots`` (module docstring).

    Returns
    -------
    SearchResult
        ``outcome == PROVEN`` when every domain was cleared by a certificate.
    """
    start = time.perf_counter()
    result = SearchResult(cleared=dict.fromkeys((c.name for c in certificates), 0))
    state = _State(list(roots), sum(d.volume() for d in roots) or 1.0)
    while state.stack and result.outcome is SearchOutcome.PROVEN:
        if budget.expired():
            result.outcome = SearchOutcome.TIME_LIMIT
        elif limits.max_domains is not None and result.domains >= limits.max_domains:
            result.outcome = SearchOutcome.MAX_DOMAINS
        else:
            batch = state.stack[-limits.batch :]
            del state.stack[-limits.batch :]
            _step(layers, batch, certificates, branching, bounding, limits, probe, result, state)
    result.unexplored = state.stack
    if result.outcome is SearchOutcome.PROVEN and result.leaves:
        result.outcome = SearchOutcome.LEAVES
    if not result.proven:
        result.open_share = max(0.0, 1.0 - state.cleared_volume / state.whole)
    result.probes = 0 if probe is None else probe.calls
    result.seconds = time.perf_counter() - start
    return result


def _step(layers, batch, certificates, branching, bounding, limits, probe, result, state) -> None:
    """One batch: bound, clear, probe, set leaves aside, branch."""
    result.domains += len(batch)
    sides = [
        (np.array([d.sides[s][0] for d in batch]), np.array([d.sides[s][1] for d in batch]))
        for s in range(len(batch[0].sides))
    ]
    widths = np.max([np.max(hi - lo, axis=1) for lo, hi in sides], axis=0)
    volumes = np.prod([box_volumes(hi - lo) for lo, hi in sides], axis=0)
    leaves = limits.leaves(widths, np.array([d.depth for d in batch]))
    bounds = bounding(layers, sides)
    open_index = np.arange(len(batch))
    for certificate in certificates:
        if open_index.size == 0:
            break
        cleared = certificate.clears(layers, batch, bounds, open_index)
        result.cleared[certificate.name] += int(np.sum(cleared))
        state.cleared_volume += float(np.sum(volumes[open_index[cleared]]))
        open_index = open_index[~cleared]
    selected = (
        probe.select(layers, batch, open_index, widths) if probe is not None else np.zeros(0, bool)
    )
    for position, i in enumerate(open_index):
        domain, leaf = batch[i], bool(leaves[i])
        if probe is not None and selected[position] and probe.may_call(leaf):
            found = probe(domain)
            if found is not None:
                result.witness, result.outcome = found, SearchOutcome.WITNESS
                return
        if leaf:
            result.leaves.append(domain)
            if limits.max_leaves is not None and len(result.leaves) > limits.max_leaves:
                result.outcome = SearchOutcome.LEAVES
                return
            continue
        state.stack.extend(branching(domain, bounds, i))
