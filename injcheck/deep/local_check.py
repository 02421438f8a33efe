"""Local injectivity: is there an open region where some layer has fewer than n active units?

Inside an open linear region the network is linear with Jacobian
``J = D_l W_l ... D_1 W_1``; if layer k has ``a_k < n`` strictly active units then
``rank J <= a_k < n`` and nearby points collide. For generic weights
``rank J = min(n, a_1, ..., a_l)``, so this count is the local notion (for non-generic
weights a rank drop with every ``a_k >= n`` is not searched for).

The pipeline searches failing layers ``k = 1, 2, ...`` in turn (cleared layers give the
MILP the cut ``sum_i z_{j,i} >= n``), each by the first stage that applies:

1. bias-free without a box, layer 1: the exact one-layer Gordan count search
   (:mod:`.first_layer`, no margin); the MILP only if that search is undecided;
2. bias-free without a box, layer k >= 2: facet by facet of the cube
   (:func:`.domains.facet_boxes`), input splitting (:mod:`.split`) proves most of each
   facet exactly and probes box centres for witnesses; its leaves (or, if there are
   many, the whole facet) go to the local MILP on their own LP-tightened bounds;
3. otherwise (a box): one local MILP (:class:`.milp.LocalProblem`) on the domain.

Exactness: an open region with ``a_k < n`` contains, after scaling to ``|x|_inf = 1``,
points where every strictly active unit of layers ``<= k`` has ``pre >= mu`` unless the
region is thinner than the MILP's margin (relative): the residual gap of a MILP stage,
stated in the verdict. Stages 1 and 2 without leaves have no margin. A MILP solution may
sit on a boundary; an LP moves it to the largest-margin interior point of its pattern,
then ``y = x + t d`` with ``J_k d = 0`` gives the verified witness.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import Enum

import numpy as np

from ..budget import Budget
from ..layers import Layer, architecture
from ..solvers import solve_highs
from ..verdict import Verdict
from ..verify import WitnessCheck, verify_witness
from ._common import (
    BOUND_SAMPLE_TOL,
    BOUND_TIME_SHARE,
    DeepRun,
    bound_stats,
    input_domain,
    invalid_bounds,
    try_witnesses,
    verdict_from_check,
)
from .bounds import Bounds, compute_bounds, sampled_violation
from .domains import facet_boxes
from .milp import MARGIN, build_local, local_candidates
from .split import split_facet
from .witness import null_step, pattern_at

#: Share of the remaining time that input splitting may use on one facet.
SPLIT_SHARE = 0.6
#: Bisections per free input coordinate before a box is a leaf.
SPLIT_DEPTH_PER_DIM = 12
#: Boxes per facet before the facet goes to the MILP. None: no cap, only the time
#: budget. The search is depth-first, so memory stays at depth x batch boxes; a cap of
#: 100,000 sent n = 7, widths 56,42 facets to a MILP that never finished (unknown at
#: 300 s), while the uncapped split proves them exactly with 0.5-1.1 million boxes in
#: 15-30 CPU s (docs/deep.md, "How far the exact local check reaches").
SPLIT_MAX_BOXES: int | None = None
#: A facet with more leaves than this gets one MILP on the whole facet instead.
LEAF_MILPS = 16


class Step(Enum):
    """How the search of one failing layer (or of one domain of it) ended."""

    PROVEN = "proven"  # no failing region
    WITNESS = "witness"  # a verified local collision
    UNDECIDED = "undecided"  # time-out or solver trouble
    UNVERIFIED = "unverified"  # a region was found but gave no verified collision
    UNDECODABLE = "undecodable"  # the solver's answer could not be read


class LayerProof(Enum):
    """How a layer was proven to keep ``n`` active units on every open region."""

    GORDAN = "exact: one-layer Gordan count search"
    SPLIT = "exact: input splitting with sound bounds (no margin)"
    SPLIT_MILP = "up to margin: input splitting and MILPs on the facets"
    FACET_MILP = "up to margin: MILPs on the facets"
    MILP = "up to margin: MILP"

    @property
    def exact(self) -> bool:
        return self in (LayerProof.GORDAN, LayerProof.SPLIT)

    @property
    def parts(self) -> set[str]:
        """The methods it used, as named in ``Verdict.method``."""
        return {
            LayerProof.GORDAN: {"gordan"},
            LayerProof.SPLIT: {"split"},
            LayerProof.SPLIT_MILP: {"split", "milp"},
            LayerProof.FACET_MILP: {"milp"},
            LayerProof.MILP: {"milp"},
        }[self]


@dataclass
class StepResult:
    """A step's outcome, its witness check (if any) and the solver status."""

    step: Step
    check: WitnessCheck | None = None
    layer: int | None = None
    raw: str = ""
    found_by: str = "milp"


@dataclass
class _LocalSearch(DeepRun):
    """One local check: the network, its domain, the budget and what was found."""

    margin: float
    options: dict
    info: dict = field(default_factory=dict)
    proofs: dict[int, LayerProof] = field(default_factory=dict)

    @property
    def n(self) -> int:
        return self.lo.size

    def count(self, key: str, amount: float = 1) -> None:
        self.info[key] = self.info.get(key, 0) + amount

    def run(self, bounds: Bounds) -> StepResult:
        """Search failing layers 1, 2, ... in turn; the first that fails ends it."""
        for k in range(1, len(self.layers) + 1):
            if bounds.always_on(k - 1) >= self.n:
                continue  # n always-on units: layer k cannot fail
            result, proof = self.search_layer(k, bounds)
            if result.step is not Step.PROVEN:
                return result
            self.proofs[k] = proof
        return StepResult(Step.PROVEN)

    def search_layer(self, k: int, bounds: Bounds) -> tuple[StepResult, LayerProof | None]:
        if self.homogeneous and self.options["exact_first_layer"] and k == 1:
            result = self.first_layer()
            if result.step is not Step.UNDECIDED:
                return result, LayerProof.GORDAN
        if self.homogeneous and self.options["facets"] and k > 1:
            return self.facets_layer(k)
        result = self.solve_domain(k, bounds.prefix(k), self.homogeneous)
        return result, LayerProof.MILP

    def first_layer(self) -> StepResult:
        from .first_layer import LayerOne, local_first_layer

        outcome, check, stats = local_first_layer(self.layers, self.budget)
        self.info["layer1"] = stats
        if outcome is LayerOne.PROVEN:
            return StepResult(Step.PROVEN)
        if outcome is LayerOne.VERIFIED:
            return StepResult(Step.WITNESS, check, 1, "gordan", "gordan")
        return StepResult(Step.UNDECIDED)

    def facets_layer(self, k: int) -> tuple[StepResult, LayerProof | None]:
        """Failing layer ``k >= 2`` facet by facet (module docstring, stage 2)."""
        used_milp = False
        for _, _, f_lo, f_hi in facet_boxes(self.n):
            if self.budget.expired():
                return StepResult(Step.UNDECIDED, raw="time limit"), None
            domains = [(f_lo, f_hi)]
            if self.options["split"]:
                found, leaves = self.split(k, f_lo, f_hi)
                if found is not None:
                    return found, None
                if not leaves:
                    continue  # the whole facet is proven exactly
                if len(leaves) <= LEAF_MILPS:
                    domains = leaves
            result, milps = self.domain_milps(k, domains)
            used_milp |= milps
            if result.step is not Step.PROVEN:
                return result, None
        if not used_milp:
            return StepResult(Step.PROVEN), LayerProof.SPLIT
        split = self.options["split"]
        return StepResult(Step.PROVEN), LayerProof.SPLIT_MILP if split else LayerProof.FACET_MILP

    def split(self, k: int, f_lo, f_hi) -> tuple[StepResult | None, list]:
        """Input splitting of one facet: a witness, or the leaves it left."""
        search = split_facet(
            self.layers,
            k,
            f_lo,
            f_hi,
            max_depth=SPLIT_DEPTH_PER_DIM * (self.n - 1),
            max_boxes=SPLIT_MAX_BOXES,
            # A facet may use a share of all that is left: most need a fraction of a
            # second, a hard one gets the time.
            budget=self.budget.share(SPLIT_SHARE),
            probe=lambda x: self.probe(k, x),
        )
        leaves = search.open_domains()
        stats = self.info.setdefault(
            "split", dict.fromkeys(("boxes", "pruned", "leaves", "probes"), 0)
        )
        stats["boxes"] += search.domains
        stats["pruned"] += sum(search.cleared.values())
        stats["leaves"] += len(leaves)
        stats["probes"] += search.probes
        if search.witness is not None:
            found = search.witness
            counts = [int(np.sum(p)) for p in pattern_at(self.layers[:k], found.x)]
            first = next((j + 1 for j, a in enumerate(counts) if a < self.n), k)
            return StepResult(Step.WITNESS, found, first, "split", "split"), []
        return None, [leaf.sides[0] for leaf in leaves]

    def probe(self, k: int, x: np.ndarray) -> WitnessCheck | None:
        """A verified collision ``(x, x + t d)`` with ``J_k d = 0`` at a box centre."""
        pattern = pattern_at(self.layers[:k], x)
        y = null_step(self.layers[:k], pattern, k, x, 2 * self.lo, 2 * self.hi)
        if y is None:
            return None
        found = verify_witness(self.layers, x, y)
        return found if found.ok else None

    def domain_milps(self, k: int, domains) -> tuple[StepResult, bool]:
        """The local MILP on each box (its own LP bounds); whether any MILP ran."""
        used = False
        for d_lo, d_hi in domains:
            if self.budget.expired():
                return StepResult(Step.UNDECIDED, raw="time limit"), used
            d_bounds = compute_bounds(self.layers[:k], d_lo, d_hi, method="lp", budget=self.budget)
            self.count("facet_bound_seconds", d_bounds.seconds)
            if sampled_violation(self.layers[:k], d_bounds) > BOUND_SAMPLE_TOL:
                return StepResult(Step.UNDECIDED, raw="invalid bounds"), used
            if d_bounds.always_on(k - 1) >= self.n:
                self.count("boxes_by_lp_bounds")  # n units on everywhere in this box
                continue
            used = True
            self.count("domain_milps")
            result = self.solve_domain(k, d_bounds, False)
            if result.step is not Step.PROVEN:
                return result, used
        return StepResult(Step.PROVEN), used

    def solve_domain(self, k: int, sub: Bounds, normalise: bool) -> StepResult:
        """Relaxed, then (if its point does not verify) strict local MILP for failing
        layer ``k`` on the box of ``sub`` (``normalise``: add ``|x|_inf = 1``)."""
        check, layer, raw = None, None, ""
        for strict in (False, True):
            prob = build_local(
                self.layers[:k],
                sub,
                normalise,
                self.margin,
                strict=strict,
                only_last=True,
                count_cuts=range(1, k),
            )
            res = solve_highs(
                prob.problem, time_limit=self.budget.solver_seconds(), threads=self.threads
            )
            self.count("solve_seconds", res.wall_time)
            self.count("milp_solves")
            raw = res.raw_status
            if res.outcome == "infeasible":
                # The strict model is exact at layer 1 (a nonzero row never vanishes on an
                # open set); deeper, an infeasible strict model after a relaxed point that
                # did not verify means we can neither prove nor refute this layer.
                step = Step.UNVERIFIED if strict and k > 1 else Step.PROVEN
                return StepResult(step, check, layer, raw)
            if res.outcome not in ("optimal", "feasible"):
                return StepResult(Step.UNDECIDED, check, layer, raw)
            try:
                candidates, layer = local_candidates(
                    self.layers[:k], prob, res.values, self.lo, self.hi, self.homogeneous
                )
            except (KeyError, ValueError, IndexError):
                return StepResult(Step.UNDECODABLE, check, layer, raw)
            check = try_witnesses(self.layers, candidates, box=self.box)
            if check is not None and check.ok:
                return StepResult(Step.WITNESS, check, layer, raw)
        return StepResult(Step.UNVERIFIED, check, layer, raw)


def check_local(
    layers: Sequence[Layer],
    *,
    time_limit: float | None = None,
    budget: Budget | None = None,
    box=None,
    threads: int = 1,
    margin: float = MARGIN,
    exact_first_layer: bool = True,
    facets: bool = True,
    split: bool = True,
) -> Verdict:
    """Local injectivity (see the module docstring).

    ``exact_first_layer``, ``facets`` and ``split`` switch off the Gordan search of
    layer 1, the facet-by-facet search and the input splitting of deeper layers
    (bias-free nets without a box); for tests and ablations. ``budget`` (or
    ``time_limit`` seconds) covers the whole call.

    Returns
    -------
    Verdict
        ``layer`` is the first layer with fewer than n active units in the region found.
    """
    budget = budget or Budget.seconds(time_limit)
    lo, hi, homogeneous = input_domain(layers, box)
    # Bias-free nets with the facet search use these bounds only for layer 1 (exact by
    # intervals); each facet and leaf box gets its own LP-tightened bounds.
    method = "interval" if homogeneous and facets else "lp"
    bounds = compute_bounds(layers, lo, hi, method=method, budget=budget.share(BOUND_TIME_SHARE))
    base = _base(layers, bounds, homogeneous, margin)
    refused = invalid_bounds(layers, bounds, "local", base)
    if refused is not None:
        return refused
    if all(bounds.always_on(k) >= lo.size for k in range(len(layers))):
        base["certificate"]["milp"] = "not needed: every layer has n always-on units"
        message = "every layer has at least n units active on the whole domain"
        return Verdict("injective", "local", "milp", architecture(layers), message=message, **base)
    options = {"exact_first_layer": exact_first_layer, "facets": facets, "split": split}
    search = _LocalSearch(layers, lo, hi, homogeneous, box, budget, threads, margin, options)
    result = search.run(bounds)
    return _verdict(layers, search, result, base, margin)


def _base(layers, bounds: Bounds, homogeneous: bool, margin: float) -> dict:
    """The verdict's ``stats`` and ``certificate`` before the search."""
    n_binaries = int(sum(bounds.undecided_per_layer()))
    stats = {"binaries": n_binaries, **bound_stats(bounds)}
    certificate = {
        "domain": "unit sphere of |.|_inf (homogeneous)" if homogeneous else "input box",
        "margin": margin,
        "binaries": n_binaries,
        "notion": "fewer than n strictly active units in some layer on an open region",
    }
    return {"stats": stats, "certificate": certificate}


def _verdict(layers, search: _LocalSearch, result: StepResult, base: dict, margin: float):
    stats, certificate = base["stats"], base["certificate"]
    stats["search"] = search.info
    stats["solve_seconds"] = search.info.get("solve_seconds", 0.0)
    stats["milp_solves"] = search.info.get("milp_solves", 0)
    if search.proofs:
        certificate["proof_by_layer"] = {str(k): p.value for k, p in search.proofs.items()}
    base = {**base, "solver_status": result.raw}
    if result.step is Step.WITNESS:
        # Layers are searched in order, so every earlier layer was proven first.
        certificate["earliest_layer_proven"] = True
        verdict = verdict_from_check(
            result.check,
            mode="local",
            layers=layers,
            layer=result.layer,
            base=base,
            fail_message="",
        )
        verdict.method = result.found_by
        return verdict
    if result.step is Step.PROVEN:
        return _injective(layers, search.proofs, base, margin)
    message = {
        Step.UNDECIDED: f"MILP ended without a decision ({result.raw})",
        Step.UNVERIFIED: "the region found did not give a verified collision",
        Step.UNDECODABLE: "solver result could not be decoded",
    }[result.step]
    verification = None if result.check is None else result.check.to_dict()
    arch = architecture(layers)
    return Verdict(
        "unknown", "local", "milp", arch, message=message, verification=verification, **base
    )


def _injective(layers, proofs: dict[int, LayerProof], base: dict, margin: float) -> Verdict:
    certificate = base["certificate"]
    margin_used = not all(p.exact for p in proofs.values())
    certificate["milp"] = "infeasible" if margin_used else "not needed"
    certificate["exact"] = not margin_used
    if not margin_used:
        certificate["margin"] = None
    gap = f"margin {margin:g}" if margin_used else "exact, no margin"
    used = set().union(*(p.parts for p in proofs.values())) if proofs else set()
    method = "+".join(name for name in ("gordan", "split", "milp") if name in used) or "bounds"
    message = f"every layer keeps >= n active units on every open region ({gap})"
    return Verdict("injective", "local", method, architecture(layers), message=message, **base)
