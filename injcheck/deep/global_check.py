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

import time
from collections.abc import Sequence

import cvxpy as cp
import numpy as np

from ..networks import Layer, architecture
from ..solvers import solve_highs
from ..verdict import Verdict
from ..verify import verify_witness
from ._common import BOUND_SAMPLE_TOL, Budget, input_domain, try_witnesses, verdict_from_check
from .bounds import Bounds, compute_bounds, sampled_violation
from .encoding import NetworkCopy, encode_copy
from .near_diagonal import CoverResult, cover_near_diagonal
from .pair_split import prove_layer_by_layer
from .split import facets
from .witness import first_meeting_layer, pattern_at, polish_pair

#: Relative separation that the MILP demands of a pair (see the module docstring).
SEPARATION = 1e-4
#: Share of the remaining budget that the local check may use before the pair MILP.
LOCAL_SHARE = 0.25
#: Share of the remaining budget for the exact pair splitting before the MILP.
PAIR_SHARE = 0.5
#: A solver value may leave a proven bound by this much (relative) before it is an error.
VALUE_TOL = 1e-5


class GlobalProblem:
    """The built pair MILP and what is needed to decode it."""

    def __init__(
        self,
        layers: Sequence[Layer],
        bounds: Bounds,
        lo,
        hi,
        separation: float,
        *,
        share_last: bool = True,
        order_cuts: bool = False,
        count_cuts: Sequence[int] = (),
    ):
        n = lo.size
        self.layers, self.bounds, self.lo, self.hi = layers, bounds, lo, hi
        self.x = cp.Variable(n, name="x")
        self.y = cp.Variable(n, name="y")
        self.copy_x: NetworkCopy = encode_copy(layers, bounds, self.x, "cx")
        self.copy_y: NetworkCopy = encode_copy(layers, bounds, self.y, "cy")
        self.choose = cp.Variable(n, boolean=True, name="sep")
        self.gap = cp.Variable(name="gap")
        width = hi - lo
        self.eps = separation * width
        cons = [self.x >= lo, self.x <= hi, self.y >= lo, self.y <= hi]
        cons += self.copy_x.constraints + self.copy_y.constraints
        cons += [self.copy_x.post[-1] == self.copy_y.post[-1]]
        diff = self.x - self.y
        cons += [
            cp.sum(self.choose) == 1,
            diff >= cp.multiply(self.eps, self.choose) - cp.multiply(width, 1 - self.choose),
            # gap <= (x - y)_j / width_j for the chosen j: the objective pushes the pair
            # away from the tolerance-sized solutions near the origin.
            self.gap <= cp.multiply(1.0 / width, diff) + 2 * (1 - self.choose),
        ]
        if share_last:
            # Equal outputs force equal last-layer patterns (a unit with h = 0 may take
            # z = 0 in both copies), so the two copies share those binaries.
            zx, zy = self.copy_x.binaries[-1], self.copy_y.binaries[-1]
            if zx is not None:
                cons.append(zx == zy)
        for j in count_cuts:
            # Layer j is proven locally injective: every point lies in the closure of a
            # region with >= n active units there, and z may follow that region.
            for copy in (self.copy_x, self.copy_y):
                cons.append(cp.sum(copy.active[j - 1]) >= n)
        if order_cuts:
            # The chosen coordinate carries the largest |x_i - y_i| (symmetry breaking).
            for j in range(n):
                big = 2 * width[j] + 2 * width
                cons += [diff[j] >= diff - cp.multiply(big, 1 - self.choose[j])]
                cons += [diff[j] >= -diff - cp.multiply(big, 1 - self.choose[j])]
        self.problem = cp.Problem(cp.Maximize(self.gap), cons)

    @property
    def n_binaries(self) -> int:
        """Binaries of the undecided units (both copies), without the separation choice.

        With ``share_last`` the last layer's binaries of the two copies are tied by
        equality constraints (presolve merges them) but are still counted per copy.
        """
        return self.copy_x.n_binaries + self.copy_y.n_binaries

    def out_of_bounds(self, values: dict) -> float:
        """Largest relative excess of the solver's pre-activations over proven bounds."""
        worst = 0.0
        for copy in (self.copy_x, self.copy_y):
            for k, pre in enumerate(copy.pre_values(self.layers, values)):
                lo, up = self.bounds.lower[k], self.bounds.upper[k]
                scale = 1.0 + np.maximum(np.abs(lo), np.abs(up))
                worst = max(
                    worst, float(np.max((lo - pre) / scale)), float(np.max((pre - up) / scale))
                )
        return worst


def build_global(
    layers: Sequence[Layer], bounds: Bounds, separation: float = SEPARATION, **options
) -> GlobalProblem:
    """Build (never solve) the pair MILP on the box of ``bounds``."""
    return GlobalProblem(layers, bounds, bounds.lo, bounds.hi, separation, **options)


def near_pairs_cover(layers, lo, hi, homogeneous: bool, eps: np.ndarray, deadline) -> CoverResult:
    """Exclude collisions closer than the MILP's separation (:mod:`.near_diagonal`).

    The MILP demands ``|x_j - y_j| >= eps_j`` for some ``j``; the rest have
    ``|x - y| < eps`` coordinate-wise. Bias-free without a box: by homogeneity and
    swapping, ``|x|_inf = 1 >= |y|_inf``, so ``x`` lies on a facet of the cube.
    """
    bases = facets(lo.size) if homogeneous else [(lo, hi)]
    return cover_near_diagonal(layers, bases, eps, (lo, hi), deadline=deadline)


def _early_witness(
    layers, check, stats: dict, certificate: dict, method: str, solver_status: str, layer=None
) -> Verdict:
    """``non-injective`` from a verified pair found before the MILP (layer 1, the local
    check, pair splitting); ``layer`` defaults to where the two points first meet."""
    if layer is None:
        layer = first_meeting_layer(layers, check.x, check.y)
    certificate["meeting_layer"] = layer
    verdict = verdict_from_check(
        check,
        mode="global",
        layers=layers,
        layer=layer,
        base={"stats": stats, "certificate": certificate, "solver_status": solver_status},
        fail_message="",
    )
    verdict.method = method
    return verdict


def _verified(check):
    return check if check is not None and check.ok else None


def stuck_pair_witness(layers, centres, lo, hi, box):
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


def candidate_pairs(
    layers, prob: GlobalProblem, values: dict, homogeneous: bool
) -> list[tuple[np.ndarray, np.ndarray]]:
    """The solver's pair, and interior (largest-margin) versions of it."""
    x = np.asarray(values["x"], float).reshape(-1)
    y = np.asarray(values["y"], float).reshape(-1)
    pairs = [(x, y, prob.copy_x.pattern(values), prob.copy_y.pattern(values))]
    # Units at pre = 0 may carry either binary; the float signs are a second opinion.
    pairs.append((x, y, pattern_at(layers, x), pattern_at(layers, y)))
    if homogeneous:
        # A point at (numerically) 0 collides with x only if f(x) = 0; then so does x/2,
        # which sits in x's own region.
        norm_x, norm_y = np.abs(x).max(), np.abs(y).max()
        if norm_y <= 1e-3 * norm_x:
            pairs.append((x, 0.5 * x, prob.copy_x.pattern(values), prob.copy_x.pattern(values)))
        if norm_x <= 1e-3 * norm_y:
            pairs.append((0.5 * y, y, prob.copy_y.pattern(values), prob.copy_y.pattern(values)))
    out = []
    for px, py, pat_x, pat_y in pairs:
        diff = px - py
        coord = int(np.argmax(np.abs(diff)))
        sign = 1.0 if diff[coord] >= 0 else -1.0
        meets = sorted({first_meeting_layer(layers, px, py, rtol=1e-5), len(layers)})
        for meet in meets:
            polished = polish_pair(layers, pat_x, pat_y, meet, prob.lo, prob.hi, coord, sign)
            if polished is not None:
                out.append(polished)
    out.append((x, y))
    return out


def check_global(
    layers: Sequence[Layer],
    *,
    time_limit: float | None = None,
    box=None,
    threads: int = 1,
    separation: float = SEPARATION,
    exact_first_layer: bool = True,
    local_first: bool = True,
    pair_split: bool = True,
) -> Verdict:
    """Global injectivity by the pair MILP (see the module docstring).

    ``local_first``: bias-free nets without a box run the (fast) local check first, with
    at most ``LOCAL_SHARE`` of the budget; a verified local collision is a global one.

    ``pair_split``: try the exact pair splitting (:mod:`.pair_split`) with at most
    ``PAIR_SHARE`` of the remaining budget before the MILP.

    ``exact_first_layer=False`` switches off the one-layer Gordan check of layer 1
    (bias-free nets without a box); for tests and ablations.

    Returns
    -------
    Verdict
        ``injective`` when the MILP is infeasible (and the bounds pass a sampled
        sanity check); ``non-injective`` with a verified witness; ``unknown`` otherwise.
    """
    budget = Budget.begin(time_limit)
    lo, hi, homogeneous = input_domain(layers, box)
    bounds = compute_bounds(layers, lo, hi, deadline=budget.bound_deadline())
    prob = build_global(layers, bounds, separation)
    stats = {
        "binaries": prob.n_binaries,
        "separation_binaries": lo.size,
        "undecided_per_layer": bounds.undecided_per_layer(),
        "bound_seconds": bounds.seconds,
        "lp_solves": bounds.lp_solves,
        "lp_failures": bounds.lp_failures,
    }
    certificate = {
        "domain": "unit box (homogeneous)" if homogeneous else "input box",
        "separation": separation,
        "separation_kind": "relative" if homogeneous else "absolute, times box width",
        "binaries": prob.n_binaries,
    }
    arch = architecture(layers)
    violation = sampled_violation(layers, bounds)
    if violation > BOUND_SAMPLE_TOL:
        return Verdict(
            "unknown",
            "global",
            "milp",
            arch,
            stats=stats,
            certificate=certificate,
            message=f"bound tightening produced an invalid bound (violated by {violation:.2g})",
        )
    # Layer 1 of a bias-free net on R^n is the one-layer problem: decided exactly by the
    # Gordan search (no separation margin); a collision there is one of the whole net.
    first_meet = 1
    if homogeneous and exact_first_layer:
        from .first_layer import global_first_layer

        outcome, first_check, first_stats = global_first_layer(layers, budget.deadline)
        stats["layer1"] = first_stats
        if outcome == "verified":
            certificate["layer1"] = "one-layer Gordan search (exact)"
            return _early_witness(
                layers, first_check, stats, certificate, "gordan", "gordan", layer=1
            )
        if outcome == "proven":
            first_meet = 2
            certificate["layer1"] = "injective: one-layer Gordan search (exact, no margin)"
            if len(layers) == 1:
                certificate["separation"] = None
                certificate["exact"] = True
                return Verdict(
                    "injective",
                    "global",
                    "gordan",
                    arch,
                    stats=stats,
                    certificate=certificate,
                    solver_status="exhausted",
                    message="layer 1 is injective (exact one-layer check)",
                )
    # A local failure is a collision (x and y = x + t d in one region, J d = 0), and the
    # local check of bias-free nets is fast (input splitting): try it before the pairs.
    if homogeneous and local_first and len(layers) > 1:
        from .local_check import check_local

        rem, started = budget.remaining(), budget.elapsed()
        local = check_local(
            layers, time_limit=None if rem is None else LOCAL_SHARE * rem, threads=threads
        )
        stats["local_first"] = {
            "status": local.status,
            "method": local.method,
            "layer": local.layer,
            "seconds": budget.elapsed() - started,
        }
        if local.status == "non-injective":
            x, y = local.witness_arrays()
            check = verify_witness(layers, x, y)
            if check.ok:
                certificate["found_by"] = f"local check (fails at layer {local.layer})"
                method = f"local:{local.method}"
                return _early_witness(layers, check, stats, certificate, method, "local")
    # Exact proof by clearing box pairs (fast for small n); the MILP gets what is left.
    split = None
    if pair_split:
        rem = budget.remaining()
        split = prove_layer_by_layer(
            layers,
            lo,
            hi,
            homogeneous,
            first=first_meet,
            deadline=None if rem is None else time.perf_counter() + PAIR_SHARE * rem,
            probe=lambda centres: _verified(stuck_pair_witness(layers, centres, lo, hi, box)),
        )
        stats["pair_split"] = split.summary()
        if split.outcome == "proven":
            certificate.update(exact=True, separation=None, pair_split="every box pair cleared")
            return Verdict(
                "injective",
                "global",
                "pair-split",
                arch,
                stats=stats,
                certificate=certificate,
                solver_status="exhausted",
                message="no collision: every pair of input boxes cleared (exact, no margin)",
            )
        check = split.witness  # verified by the probe
        if check is not None:
            certificate["found_by"] = "pair splitting (a pair of boxes that would not clear)"
            return _early_witness(layers, check, stats, certificate, "pair-split", split.outcome)
        if split.proven_layers > first_meet - 1:
            # Layers 1..k proven injective (exactly): a collision first meets after k.
            first_meet = split.proven_layers + 1
            certificate["layers_proven_by_pair_split"] = split.proven_layers
    # Meeting layers in order: h_k(x) = h_k(y) first happens at some k, and the MILP on
    # layers 1..k is smaller; once layers 1..k are injective, their local counts are cuts.
    solve_seconds, res, meet = 0.0, None, len(layers)
    for meet in range(first_meet, len(layers) + 1):
        sub = layers[:meet]
        sub_prob = prob if meet == len(layers) else None
        if sub_prob is None:
            sub_bounds = Bounds(bounds.lower[:meet], bounds.upper[:meet], lo, hi)
            sub_prob = build_global(sub, sub_bounds, separation, count_cuts=range(1, meet))
        else:
            sub_prob = build_global(layers, bounds, separation, count_cuts=range(1, meet))
        res = solve_highs(
            sub_prob.problem,
            time_limit=budget.remaining(),
            threads=threads,
            # Stop at the first pair within a factor 2 of the best possible separation.
            options={"mip_rel_gap": 0.5, "mip_abs_gap": 0.0},
        )
        solve_seconds += res.wall_time
        if res.outcome != "infeasible":
            prob = sub_prob
            break
    stats["solve_seconds"] = solve_seconds
    stats["meeting_layers_searched"] = meet
    base = {"stats": stats, "certificate": certificate, "solver_status": res.raw_status}
    if res.outcome == "infeasible":
        certificate["milp"] = "infeasible"
        # The MILP rules out separated pairs; the cover rules out the others, exactly.
        cover = near_pairs_cover(layers, lo, hi, homogeneous, prob.eps, budget.deadline)
        certificate["near_diagonal"] = cover.summary()
        certificate["exact"] = cover.proven
        kind = certificate["separation_kind"]
        if cover.proven:
            message = (
                f"no collision: none with separation >= {separation:g} ({kind}, MILP), "
                "none closer (difference-cone cover)"
            )
        else:
            message = (
                f"no collision with separation >= {separation:g} ({kind}); closer pairs "
                f"not excluded ({cover.reason})"
            )
        return Verdict("injective", "global", "milp", arch, message=message, **base)
    if res.outcome not in ("optimal", "feasible"):
        return Verdict(
            "unknown",
            "global",
            "milp",
            arch,
            message=f"MILP ended without a decision ({res.raw_status})"
            + (
                f"; the local check found the net locally {stats['local_first']['status']}"
                if "local_first" in stats
                else ""
            )
            + (
                f"; pair splitting left {100 * split.open_share:.3g}% of the pair space "
                f"open at layer {split.proven_layers + 1}"
                if split is not None and split.outcome in ("time limit", "max pairs")
                else ""
            ),
            **base,
        )
    try:
        excess = prob.out_of_bounds(res.values)
        candidates = candidate_pairs(prob.layers, prob, res.values, homogeneous)
    except (KeyError, ValueError, IndexError) as exc:
        return Verdict(
            "unknown",
            "global",
            "milp",
            arch,
            message=f"solver result could not be decoded: {exc}",
            **base,
        )
    if excess > VALUE_TOL:
        base["message"] = f"solver values leave proven bounds by {excess:.2g} (relative)"
    check = try_witnesses(layers, candidates, box=box)
    layer = None
    if check is not None and check.ok:
        layer = first_meeting_layer(layers, check.x, check.y)
        base["certificate"]["meeting_layer"] = layer
    return verdict_from_check(
        check,
        mode="global",
        layers=layers,
        layer=layer,
        base=base,
        fail_message="the MILP's pair did not verify",
    )
