"""Global injectivity: is there a pair ``x != y`` with ``f(x) = f(y)``?

Order of work (bias-free nets without a box; with a box the first two steps are skipped):

1. layer 1 exactly, by the one-layer Gordan search (:mod:`.first_layer`): a layer-1
   collision is a collision of the net; a one-layer net is then decided;
2. the (fast, exact) local check: a local collision is a global one;
3. **pair splitting** (:mod:`.pair_split`), prefix by prefix (layers 1..2, 1..3, ...):
   clear pairs of input boxes by disjoint output bounds or by the difference-cone
   certificate (:mod:`.difference_cone`); when every pair clears, the net is injective
   with no margin at all; a pair that will not clear is mined for a witness;
4. the **pair MILP** below, with what is left of the budget.

The MILP holds two copies of the network (one binary per undecided unit per copy) on
the same domain and asks for equal outputs and a separated pair:

    x, y in D,   h_l(x) = h_l(y),   sum_j u_j = 1,   x_j - y_j >= eps_j u_j - w_j (1 - u_j)

with binaries ``u`` choosing the coordinate that separates them (``w_j`` the width of
D in coordinate j, so an unchosen coordinate is free). Swapping x and y flips the
sign of ``x - y``, so one sign suffices.

Domain and exactness
--------------------
* Bias-free, no box: ``D = [-1, 1]^n``. Positive homogeneity maps any collision
  ``(x, y)`` to ``(x, y) / max(|x|_inf, |y|_inf)`` in D, and ``eps_j = SEPARATION * w_j``.
* With a box (biases): ``D`` is the box, same ``eps``.

Infeasibility proves that no collision has ``|x_j - y_j| >= eps_j`` for some ``j``. The
closer pairs are then excluded by a box cover with the difference-cone certificate
(:mod:`.near_diagonal`); when the cover completes, ``certificate["exact"]`` is True and
the proof has no margin. When it does not (time, or a spot it cannot certify), the
verdict is still ``injective`` up to the separation, and the certificate says so.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from ..budget import Budget
from ..layers import Layer, architecture
from ..solvers import SolveResult, solve_highs
from ..verdict import Verdict
from ..verify import WitnessCheck, verify_witness
from ._common import (
    BOUND_TIME_SHARE,
    DeepRun,
    bound_stats,
    input_domain,
    invalid_bounds,
    try_witnesses,
    verdict_from_check,
)
from .bounds import Bounds, compute_bounds
from .domains import facets
from .milp import SEPARATION, VALUE_TOL, GlobalProblem, build_global, candidate_pairs
from .near_diagonal import CoverResult, cover_near_diagonal
from .pair_split import PairSplitResult, prove_layer_by_layer
from .search import SearchOutcome
from .witness import first_meeting_layer, pattern_at, polish_pair

#: Share of the remaining budget that the local check may use before the pair MILP.
LOCAL_SHARE = 0.25
#: Share of the remaining budget for the exact pair splitting before the MILP.
PAIR_SHARE = 0.5


@dataclass
class _GlobalRun(DeepRun):
    """One global check: the network, its domain, the budget and the report so far."""

    separation: float
    stats: dict = field(default_factory=dict)
    certificate: dict = field(default_factory=dict)
    first_meet: int = 1  # a collision cannot meet before this layer (proven)
    split: PairSplitResult | None = None

    @property
    def arch(self) -> list[int]:
        return architecture(self.layers)

    def verdict(self, status: str, method: str, **fields) -> Verdict:
        return Verdict(
            status,
            "global",
            method,
            self.arch,
            stats=self.stats,
            certificate=self.certificate,
            **fields,
        )

    def witness(self, check: WitnessCheck, method: str, solver_status: str, layer=None):
        """``non-injective`` from a verified pair found before the MILP; ``layer``
        defaults to where the two points first meet."""
        if layer is None:
            layer = first_meeting_layer(self.layers, check.x, check.y)
        self.certificate["meeting_layer"] = layer
        base = {
            "stats": self.stats,
            "certificate": self.certificate,
            "solver_status": solver_status,
        }
        verdict = verdict_from_check(
            check, mode="global", layers=self.layers, layer=layer, base=base, fail_message=""
        )
        verdict.method = method
        return verdict


def check_global(
    layers: Sequence[Layer],
    *,
    time_limit: float | None = None,
    budget: Budget | None = None,
    box=None,
    threads: int = 1,
    separation: float = SEPARATION,
    exact_first_layer: bool = True,
    local_first: bool = True,
    pair_split: bool = True,
) -> Verdict:
    """Global injectivity, stage by stage (see the module docstring).

    ``exact_first_layer``, ``local_first`` and ``pair_split`` switch off the Gordan
    check of layer 1, the local check and the pair splitting; for tests and ablations.
    ``budget`` (or ``time_limit`` seconds) covers the whole call.

    Returns
    -------
    Verdict
        ``injective`` from a proof (``certificate["exact"]`` says whether a margin is
        left); ``non-injective`` with a verified witness; ``unknown`` otherwise.
    """
    budget = budget or Budget.seconds(time_limit)
    lo, hi, homogeneous = input_domain(layers, box)
    run = _GlobalRun(layers, lo, hi, homogeneous, box, budget, threads, separation)
    bounds = compute_bounds(layers, lo, hi, method="lp", budget=budget.share(BOUND_TIME_SHARE))
    _report_bounds(run, bounds)
    refused = invalid_bounds(
        layers, bounds, "global", {"stats": run.stats, "certificate": run.certificate}
    )
    if refused is not None:
        return refused
    stages = []
    if homogeneous and exact_first_layer:
        stages.append(_first_layer_stage)
    if homogeneous and local_first and len(layers) > 1:
        stages.append(_local_stage)
    if pair_split:
        stages.append(_pair_split_stage)
    for stage in stages:
        verdict = stage(run)
        if verdict is not None:
            return verdict
    return _milp_stage(run, bounds)


def _report_bounds(run: _GlobalRun, bounds: Bounds) -> None:
    """Stats and certificate entries that every verdict carries."""
    # Two copies, one binary per undecided unit each (the separation choice apart).
    binaries = 2 * int(sum(bounds.undecided_per_layer()))
    run.stats.update(binaries=binaries, separation_binaries=run.lo.size, **bound_stats(bounds))
    run.certificate.update(
        domain="unit box (homogeneous)" if run.homogeneous else "input box",
        separation=run.separation,
        separation_kind="relative" if run.homogeneous else "absolute, times box width",
        binaries=binaries,
    )


def _first_layer_stage(run: _GlobalRun) -> Verdict | None:
    """Layer 1 of a bias-free net on R^n is the one-layer problem, decided exactly by the
    Gordan search; a collision there is one of the whole net."""
    from .first_layer import LayerOne, global_first_layer

    outcome, check, stats = global_first_layer(run.layers, run.budget)
    run.stats["layer1"] = stats
    if outcome is LayerOne.VERIFIED:
        run.certificate["layer1"] = "one-layer Gordan search (exact)"
        return run.witness(check, "gordan", "gordan", layer=1)
    if outcome is not LayerOne.PROVEN:
        return None
    run.first_meet = 2
    run.certificate["layer1"] = "injective: one-layer Gordan search (exact, no margin)"
    if len(run.layers) > 1:
        return None
    run.certificate.update(separation=None, exact=True)
    message = "layer 1 is injective (exact one-layer check)"
    return run.verdict("injective", "gordan", solver_status="exhausted", message=message)


def _local_stage(run: _GlobalRun) -> Verdict | None:
    """A local failure is a collision (x and y = x + t d in one region, J d = 0), and the
    local check of bias-free nets is fast: try it before the pairs."""
    from .local_check import check_local

    started = run.budget.elapsed()
    local = check_local(run.layers, budget=run.budget.share(LOCAL_SHARE), threads=run.threads)
    run.stats["local_first"] = {
        "status": local.status,
        "method": local.method,
        "layer": local.layer,
        "seconds": run.budget.elapsed() - started,
    }
    if local.status != "non-injective":
        return None
    check = verify_witness(run.layers, *local.witness_arrays())
    if not check.ok:
        return None
    run.certificate["found_by"] = f"local check (fails at layer {local.layer})"
    return run.witness(check, f"local:{local.method}", "local")


def _pair_split_stage(run: _GlobalRun) -> Verdict | None:
    """Exact proof by clearing box pairs (fast for small n); the MILP gets what is left."""

    def probe(centres):
        found = stuck_pair_witness(run.layers, centres, run.lo, run.hi, run.box)
        return found if found is not None and found.ok else None

    split = prove_layer_by_layer(
        run.layers,
        run.lo,
        run.hi,
        run.homogeneous,
        first=run.first_meet,
        budget=run.budget.share(PAIR_SHARE),
        probe=probe,
    )
    run.split = split
    run.stats["pair_split"] = split.summary()
    if split.outcome is SearchOutcome.PROVEN:
        run.certificate.update(exact=True, separation=None, pair_split="every box pair cleared")
        message = "no collision: every pair of input boxes cleared (exact, no margin)"
        return run.verdict("injective", "pair-split", solver_status="exhausted", message=message)
    if split.witness is not None:
        run.certificate["found_by"] = "pair splitting (a pair of boxes that would not clear)"
        return run.witness(split.witness, "pair-split", split.outcome.value)
    if split.proven_layers > run.first_meet - 1:
        # Layers 1..k proven injective (exactly): a collision first meets after k.
        run.first_meet = split.proven_layers + 1
        run.certificate["layers_proven_by_pair_split"] = split.proven_layers
    return None


def stuck_pair_witness(layers, centres, lo, hi, box) -> WitnessCheck | None:
    """A verified collision in the regions of a box pair that pair splitting could not
    clear (it shrank around a collision, or around a spot its tests cannot settle)."""
    x, y = centres
    diff = x - y
    coord = int(np.argmax(np.abs(diff)))
    sign = 1.0 if diff[coord] >= 0 else -1.0
    pat_x, pat_y = pattern_at(layers, x), pattern_at(layers, y)
    candidates = []
    for meet in sorted({first_meeting_layer(layers, x, y, rtol=1e-5), len(layers)}):
        pair = polish_pair(layers, pat_x, pat_y, meet, lo, hi, coord, sign)
        if pair is not None:
            candidates.append(pair)
    return try_witnesses(layers, candidates, box=box) if candidates else None


def _milp_stage(run: _GlobalRun, bounds: Bounds) -> Verdict:
    """The pair MILP by meeting layer, then the cover of closer pairs or the witness."""
    res, prob = _solve_meeting_layers(run, bounds)
    base = {"stats": run.stats, "certificate": run.certificate, "solver_status": res.raw_status}
    if res.outcome == "infeasible":
        return _milp_injective(run, prob, base)
    if res.outcome not in ("optimal", "feasible"):
        message = f"MILP ended without a decision ({res.raw_status})" + _what_else(run)
        return Verdict("unknown", "global", "milp", run.arch, message=message, **base)
    return _milp_witness(run, prob, res, base)


def _solve_meeting_layers(run: _GlobalRun, bounds: Bounds) -> tuple[SolveResult, GlobalProblem]:
    """Meeting layers in order: ``h_k(x) = h_k(y)`` first happens at some k, and the MILP
    on layers 1..k is smaller; once layers 1..k are injective, their local counts are
    cuts. Stops at the first MILP that is not infeasible."""
    solve_seconds, depth = 0.0, len(run.layers)
    for meet in range(run.first_meet, depth + 1):
        prob = build_global(
            run.layers[:meet], bounds.prefix(meet), run.separation, count_cuts=range(1, meet)
        )
        res = solve_highs(
            prob.problem,
            time_limit=run.budget.solver_seconds(),
            threads=run.threads,
            # Stop at the first pair within a factor 2 of the best possible separation.
            options={"mip_rel_gap": 0.5, "mip_abs_gap": 0.0},
        )
        solve_seconds += res.wall_time
        if res.outcome != "infeasible":
            break
    run.stats["solve_seconds"] = solve_seconds
    run.stats["meeting_layers_searched"] = meet
    return res, prob


def _milp_injective(run: _GlobalRun, prob: GlobalProblem, base: dict) -> Verdict:
    """The MILP rules out separated pairs; the cover rules out the others, exactly."""
    run.certificate["milp"] = "infeasible"
    cover = near_pairs_cover(run.layers, run.lo, run.hi, run.homogeneous, prob.eps, run.budget)
    run.certificate["near_diagonal"] = cover.summary()
    run.certificate["exact"] = cover.proven
    kind = run.certificate["separation_kind"]
    if cover.proven:
        message = (
            f"no collision: none with separation >= {run.separation:g} ({kind}, MILP), "
            "none closer (difference-cone cover)"
        )
    else:
        message = (
            f"no collision with separation >= {run.separation:g} ({kind}); closer pairs "
            f"not excluded ({cover.reason})"
        )
    return Verdict("injective", "global", "milp", run.arch, message=message, **base)


def near_pairs_cover(
    layers, lo, hi, homogeneous: bool, eps: np.ndarray, budget: Budget
) -> CoverResult:
    """Exclude collisions closer than the MILP's separation (:mod:`.near_diagonal`).

    Bias-free without a box: by homogeneity and swapping, ``|x|_inf = 1 >= |y|_inf``, so
    ``x`` lies on a facet of the cube.
    """
    bases = facets(lo.size) if homogeneous else [(lo, hi)]
    return cover_near_diagonal(layers, bases, eps, (lo, hi), budget=budget)


def _what_else(run: _GlobalRun) -> str:
    """What the earlier stages found, for an ``unknown`` message."""
    text = ""
    if "local_first" in run.stats:
        text += f"; the local check found the net locally {run.stats['local_first']['status']}"
    split = run.split
    if split is not None and split.outcome in (SearchOutcome.TIME_LIMIT, SearchOutcome.MAX_DOMAINS):
        text += (
            f"; pair splitting left {100 * split.open_share:.3g}% of the pair space "
            f"open at layer {split.proven_layers + 1}"
        )
    return text


def _milp_witness(run: _GlobalRun, prob: GlobalProblem, res: SolveResult, base: dict) -> Verdict:
    """The MILP's pair, polished and verified (``unknown`` if it does not verify)."""
    try:
        excess = prob.out_of_bounds(res.values)
        candidates = candidate_pairs(prob.layers, prob, res.values, run.homogeneous)
    except (KeyError, ValueError, IndexError) as exc:
        message = f"solver result could not be decoded: {exc}"
        return Verdict("unknown", "global", "milp", run.arch, message=message, **base)
    if excess > VALUE_TOL:
        base["message"] = f"solver values leave proven bounds by {excess:.2g} (relative)"
    check = try_witnesses(run.layers, candidates, box=run.box)
    layer = None
    if check is not None and check.ok:
        layer = first_meeting_layer(run.layers, check.x, check.y)
        run.certificate["meeting_layer"] = layer
    return verdict_from_check(
        check,
        mode="global",
        layers=run.layers,
        layer=layer,
        base=base,
        fail_message="the MILP's pair did not verify",
    )
