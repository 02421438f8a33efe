"""Local injectivity: is there an open region where some layer has fewer than n active units?

Inside an open linear region the network is linear with Jacobian
``J = D_l W_l ... D_1 W_1``; if layer k has ``a_k < n`` strictly active units then
``rank J <= a_k < n`` and nearby points collide. For generic weights
``rank J = min(n, a_1, ..., a_l)``, so this count is the local notion (see the README;
for non-generic weights a rank drop with every ``a_k >= n`` is not searched for).

MILP (one copy of the network; binaries ``s_k`` choose the failing layer):

    x in D,  sum_k s_k = 1,  sum_i z_{k,i} <= n - 1 + m_k (1 - s_k),
    pre_{j,i} >= mu_{j,i} g_j   for active units of layers j <= k (g_j = sum_{k >= j} s_k),

and inactive units have ``pre <= 0`` (the ReLU encoding already says so). A unit that
vanishes identically on a region is therefore correctly counted as inactive.
Bias-free networks use ``D = [-1, 1]^n`` with ``|x|_inf = 1`` (2n binaries pick the
coordinate and sign) to exclude ``x = 0``; ``mu = MARGIN * max(|l|, |u|)``.

How the layers are searched (failing layer k = 1, 2, ... in turn, cleared layers give
the cut ``sum_i z_{j,i} >= n``):

* bias-free without a box, layer 1: the exact one-layer Gordan count search
  (:mod:`.first_layer`, no margin); the MILP only if that search is undecided;
* bias-free without a box, layer k >= 2: one MILP per facet ``x_j = +-1`` of the cube
  (:func:`facet_boxes`), each with its own LP-tightened bounds and no normalisation
  binaries (measured: one facet of n = 5, widths 30, 30 in ~4 s, where the whole-sphere
  MILP ran past 60 s);
* with a box: one MILP on the box.

Exactness: an open region with ``a_k < n`` contains, after scaling to ``|x|_inf = 1``,
points where every strictly active unit of layers ``<= k`` has ``pre >= mu`` unless the
region is thinner than ``MARGIN`` (relative): the residual gap, stated in the verdict.
A solution may sit on a boundary; an LP moves it to the largest-margin interior point
of its pattern, then ``y = x + t d`` with ``J_k d = 0`` gives the verified witness.
"""

from __future__ import annotations

from collections.abc import Sequence

import cvxpy as cp
import numpy as np

from ..networks import Layer, architecture
from ..solvers import solve_highs
from ..verdict import Verdict
from ._common import BOUND_SAMPLE_TOL, Budget, input_domain, try_witnesses, verdict_from_check
from .bounds import ON, Bounds, compute_bounds, sampled_violation
from .encoding import NetworkCopy, encode_copy
from .split import facet_boxes
from .witness import interior_point, null_step

#: Relative margin of active units (see the module docstring).
MARGIN = 1e-4


class LocalProblem:
    """The built one-copy MILP and what is needed to decode it."""

    def __init__(
        self,
        layers: Sequence[Layer],
        bounds: Bounds,
        homogeneous: bool,
        margin: float,
        *,
        below: int | None = None,
        strict: bool = False,
        only_last: bool = False,
        count_cuts: Sequence[int] = (),
    ):
        n = bounds.lo.size
        self.layers, self.bounds = layers, bounds
        self.x = cp.Variable(n, name="x")
        self.copy: NetworkCopy = encode_copy(layers, bounds, self.x, "c")
        cons = [self.x >= bounds.lo, self.x <= bounds.hi] + self.copy.constraints
        depth = len(layers)
        # Layers with n or more always-on units cannot fail.
        self.can_fail = [int(np.sum(bounds.state(k) == ON)) < n for k in range(depth)]
        self.pick = cp.Variable(depth, boolean=True, name="layer")
        cons += [cp.sum(self.pick) == 1]
        # ``below``: only layers 1..below-1 may fail (to find the earliest failing layer).
        limit = depth + 1 if below is None else below
        cons += [self.pick[k] == 0 for k in range(depth) if not self.can_fail[k] or k + 1 >= limit]
        if only_last:
            cons += [self.pick[k] == 0 for k in range(depth - 1)]
        # Layers proven locally injective: a point on a boundary may take the binaries of
        # an adjacent region, which has >= n active units there.
        cons += [cp.sum(self.copy.active[j - 1]) >= n for j in count_cuts]
        for k, layer in enumerate(layers):
            width = layer.weight.shape[0]
            cons.append(cp.sum(self.copy.active[k]) <= n - 1 + width * (1 - self.pick[k]))
            reach = cp.sum(self.pick[k:])  # 1 iff the failing layer is k or deeper
            lower, upper = bounds.lower[k], bounds.upper[k]
            mu = margin * np.maximum(np.abs(lower), np.abs(upper))
            # active: pre >= mu * reach; inactive: pre >= lower (already true)
            act = self.copy.active[k]
            cons.append(self.copy.pre[k] >= mu * reach - cp.multiply(mu - lower, 1 - act))
            idx = self.copy.undecided[k]
            if strict and idx.size:
                # Also inactive undecided units at distance: an open region of the full
                # arrangement. This misses regions where a unit vanishes identically,
                # which cannot happen in layer 1 (a nonzero row never vanishes on an open
                # set; zero rows are always off), so only there is it used for proofs.
                cons.append(
                    self.copy.pre[k][idx]
                    <= -mu[idx] * reach + cp.multiply(upper[idx] + mu[idx], act[idx])
                )
        self.norm_choice = None
        if homogeneous:
            # |x|_inf = 1: x_j = +1 or x_j = -1 for one chosen (j, sign).
            self.norm_choice = cp.Variable((2, n), boolean=True, name="norm")
            cons += [
                cp.sum(self.norm_choice) == 1,
                self.x >= 1 - 2 * (1 - self.norm_choice[0]),
                self.x <= -1 + 2 * (1 - self.norm_choice[1]),
            ]
        self.problem = cp.Problem(cp.Minimize(0), cons)

    @property
    def n_binaries(self) -> int:
        return self.copy.n_binaries

    def failing_layer(self, values: dict) -> int:
        return int(np.argmax(np.asarray(values["layer"]).reshape(-1))) + 1


def build_local(
    layers: Sequence[Layer], bounds: Bounds, homogeneous: bool, margin: float = MARGIN, **options
) -> LocalProblem:
    """Build (never solve) the local MILP on the box of ``bounds``."""
    return LocalProblem(layers, bounds, homogeneous, margin, **options)


def local_candidates(layers, prob: LocalProblem, values: dict, lo, hi, homogeneous: bool):
    """Colliding pairs inside the region the solver found, and the layer that fails."""
    n = lo.size
    x = np.asarray(values["x"], float).reshape(-1)
    pattern = prob.copy.pattern(values)
    counts = [int(np.sum(p)) for p in pattern]
    layer = next((k + 1 for k, a in enumerate(counts) if a < n), prob.failing_layer(values))
    out = []
    # Bias-free: the region is a cone, so a larger box is the same region.
    box_lo, box_hi = (2 * lo, 2 * hi) if homogeneous else (lo, hi)
    inner = interior_point(layers, pattern, layer, lo, hi)
    for start in ([inner[0]] if inner is not None else []) + [x]:
        y = null_step(layers, pattern, layer, start, box_lo, box_hi)
        if y is not None:
            out.append((start, y))
    return out, layer


def check_local(
    layers: Sequence[Layer],
    *,
    time_limit: float | None = None,
    box=None,
    threads: int = 1,
    margin: float = MARGIN,
    exact_first_layer: bool = True,
    facets: bool = True,
    split: bool = True,
) -> Verdict:
    """Local injectivity by the one-copy MILP (see the module docstring).

    ``exact_first_layer``, ``facets`` and ``split`` switch off the Gordan search of
    layer 1, the facet-by-facet search and the input splitting of deeper layers
    (bias-free nets without a box); for tests and ablations.

    Returns
    -------
    Verdict
        ``layer`` is the first layer with fewer than n active units in the region found.
    """
    budget = Budget.begin(time_limit)
    lo, hi, homogeneous = input_domain(layers, box)
    # Bias-free nets with the facet search use these bounds only for layer 1 (exact by
    # intervals); each facet and leaf box gets its own LP-tightened bounds.
    use_lp = not (homogeneous and facets)
    bounds = compute_bounds(layers, lo, hi, use_lp=use_lp, deadline=budget.bound_deadline())
    # The whole-domain MILP is not built here (cvxpy is slow to import and to compile,
    # and the facet search may need no MILP at all); its size is reported anyway.
    n_binaries = int(sum(bounds.undecided_per_layer()))
    can_fail = [int(np.sum(bounds.state(k) == ON)) < lo.size for k in range(len(layers))]
    arch = architecture(layers)
    outcome, check = "undecided", None
    stats = {
        "binaries": n_binaries,
        "undecided_per_layer": bounds.undecided_per_layer(),
        "bound_seconds": bounds.seconds,
        "lp_solves": bounds.lp_solves,
        "lp_failures": bounds.lp_failures,
    }
    certificate = {
        "domain": "unit sphere of |.|_inf (homogeneous)" if homogeneous else "input box",
        "margin": margin,
        "binaries": n_binaries,
        "notion": "fewer than n strictly active units in some layer on an open region",
    }
    violation = sampled_violation(layers, bounds)
    if violation > BOUND_SAMPLE_TOL:
        return Verdict(
            "unknown",
            "local",
            "milp",
            arch,
            stats=stats,
            certificate=certificate,
            message=f"bound tightening produced an invalid bound (violated by {violation:.2g})",
        )
    if not any(can_fail):
        certificate["milp"] = "not needed: every layer has n always-on units"
        return Verdict(
            "injective",
            "local",
            "milp",
            arch,
            stats=stats,
            certificate=certificate,
            message="every layer has at least n units active on the whole domain",
        )
    info: dict = {}
    stats["search"] = info
    found = None  # (WitnessCheck, layer) of the earliest verified failure so far
    below, last, solves, proven_first = None, None, 0, False
    while True:
        res = _solve_with_fallback(
            layers,
            bounds,
            homogeneous,
            margin,
            below,
            lo,
            hi,
            box,
            budget,
            threads,
            info,
            exact_first_layer=exact_first_layer,
            facets=facets,
            split=split,
        )
        outcome, check, layer, raw, seconds = res
        solves += 1
        stats["solve_seconds"] = stats.get("solve_seconds", 0.0) + seconds
        last = raw
        if outcome == "infeasible":
            proven_first = True
            break
        if outcome != "verified":
            break
        found = (check, layer)
        proven_first = True  # layers 1..layer-1 were proven before this one was searched
        break
    stats["milp_solves"] = info.get("milp_solves", 0)
    if "proof_by_layer" in info:
        certificate["proof_by_layer"] = info["proof_by_layer"]
    base = {"stats": stats, "certificate": certificate, "solver_status": last or ""}
    if found is not None:
        check, layer = found
        certificate["earliest_layer_proven"] = proven_first
        verdict = verdict_from_check(
            check, mode="local", layers=layers, layer=layer, base=base, fail_message=""
        )
        if last in ("gordan", "split"):
            verdict.method = last  # the one-layer search or a split box's centre
        return verdict
    if outcome == "infeasible":
        proofs = info.get("proof_by_layer", {})
        margin_used = any(how.startswith("up to margin") for how in proofs.values())
        certificate["milp"] = "infeasible" if margin_used else "not needed"
        certificate["exact"] = not margin_used
        if not margin_used:
            certificate["margin"] = None
        gap = f"margin {margin:g}" if margin_used else "exact, no margin"
        parts = [
            name
            for name, key in (("gordan", "Gordan"), ("split", "splitting"), ("milp", "MILP"))
            if any(key in how for how in proofs.values())
        ]
        return Verdict(
            "injective",
            "local",
            "+".join(parts) or "bounds",
            arch,
            message=f"every layer keeps >= n active units on every open region ({gap})",
            **base,
        )
    message = {
        "undecided": f"MILP ended without a decision ({last})",
        "unverified": "the region found did not give a verified collision",
        "undecodable": "solver result could not be decoded",
    }[outcome]
    return Verdict(
        "unknown",
        "local",
        "milp",
        arch,
        message=message,
        verification=None if check is None else check.to_dict(),
        **base,
    )


def _solve_domain(layers, k, sub, normalise, margin, domain, box, budget, threads, info):
    """Relaxed, then (if its point does not verify) strict local MILP for failing layer k
    on one domain (the box of ``sub``; ``normalise``: add ``|x|_inf = 1``).
    ``domain = (lo, hi, homogeneous)`` is the caller's domain, for the witness search;
    witnesses are verified on the whole network.

    Returns ``(outcome, check, layer, raw status, seconds)``, outcome in
    ``proven | verified | unverified | undecided | undecodable``.
    """
    seconds, check, layer, raw = 0.0, None, None, ""
    for strict in (False, True):
        prob = build_local(
            layers[:k],
            sub,
            normalise,
            margin,
            strict=strict,
            only_last=True,
            count_cuts=range(1, k),
        )
        res = solve_highs(prob.problem, time_limit=budget.remaining(), threads=threads)
        seconds += res.wall_time
        info["milp_solves"] = info.get("milp_solves", 0) + 1
        raw = res.raw_status
        if res.outcome == "infeasible":
            if strict and k > 1:
                # The relaxed point was a boundary artefact and the strict model has
                # nothing: we can neither prove nor refute this layer.
                return "unverified", check, layer, raw, seconds
            return "proven", check, layer, raw, seconds  # strict is exact at layer 1
        if res.outcome not in ("optimal", "feasible"):
            return "undecided", check, layer, raw, seconds
        try:
            candidates, layer = local_candidates(layers[:k], prob, res.values, *domain)
        except (KeyError, ValueError, IndexError):
            return "undecodable", check, layer, raw, seconds
        check = try_witnesses(layers, candidates, box=box)
        if check is not None and check.ok:
            return "verified", check, layer, raw, seconds
    return "unverified", check, layer, raw, seconds


def _solve_with_fallback(
    layers,
    bounds,
    homogeneous,
    margin,
    below,
    lo,
    hi,
    box,
    budget,
    threads,
    info=None,
    *,
    exact_first_layer=True,
    facets=True,
    split=True,
):
    """Search failing layers 1, 2, ... in turn (the MILP for layer k needs only layers
    1..k, and the layers already cleared give count cuts).

    * Bias-free without a box, layer 1: the exact Gordan count search
      (:mod:`.first_layer`); the MILP only if it is undecided.
    * Bias-free without a box, deeper layers: facet by facet of the cube
      (:func:`facet_boxes`), input splitting with sound bounds, then MILPs on the
      leaves (or the whole facet) with their own tighter bounds (:func:`_facets_layer`).
    * Otherwise one MILP on the domain.

    Each MILP is one relaxed solve (a proof when infeasible); if its point does not give
    a verified witness (a boundary point of non-generic weights), one strict solve.

    Returns ``(outcome, check, layer, raw status, seconds)`` with outcome in
    ``infeasible | verified | unverified | undecided | undecodable``.
    """
    from .first_layer import local_first_layer

    info = {} if info is None else info
    seconds, check, layer, raw = 0.0, None, None, ""
    depth = len(layers) if below is None else below - 1
    n = lo.size
    domain = (lo, hi, homogeneous)
    for k in range(1, depth + 1):
        sub = Bounds(bounds.lower[:k], bounds.upper[:k], bounds.lo, bounds.hi)
        if int(np.sum(sub.state(k - 1) == ON)) >= n:
            continue  # n always-on units: layer k cannot fail
        if homogeneous and exact_first_layer and k == 1:
            outcome, first_check, first_stats = local_first_layer(layers, budget.deadline)
            info["layer1"] = first_stats
            if outcome == "proven":
                info.setdefault("proof_by_layer", {})["1"] = "exact: one-layer Gordan count search"
                continue
            if outcome == "verified":
                return "verified", first_check, 1, "gordan", seconds
            # undecided: fall back to the MILP below
        if homogeneous and facets and k > 1:
            outcome, f_check, f_layer, raw, sec, how = _facets_layer(
                layers, k, margin, domain, box, budget, threads, info, split=split
            )
            seconds += sec
            if f_check is not None:
                check, layer = f_check, f_layer
            if outcome != "proven":
                return outcome, check, layer, raw, seconds
            info.setdefault("proof_by_layer", {})[str(k)] = how
            continue
        res = _solve_domain(layers, k, sub, homogeneous, margin, domain, box, budget, threads, info)
        outcome, check, layer, raw, sec = res
        seconds += sec
        if outcome != "proven":
            return outcome, check, layer, raw, seconds
        info.setdefault("proof_by_layer", {})[str(k)] = "up to margin: MILP"
    return "infeasible", check, layer, raw, seconds


#: Share of the remaining time that input splitting may use on one facet.
SPLIT_SHARE = 0.6
#: Bisections per free input coordinate, and boxes per facet, before a box is a leaf.
SPLIT_DEPTH_PER_DIM = 12
SPLIT_MAX_BOXES = 100_000
#: A facet with more leaves than this gets one MILP on the whole facet instead.
LEAF_MILPS = 16


def _facets_layer(layers, k, margin, domain, box, budget, threads, info, *, split=True):
    """Failing layer ``k >= 2`` of a bias-free net, facet by facet of the cube.

    On each facet: input splitting (:mod:`.split`) proves most of it exactly and probes
    box centres for witnesses; the leaves (or, if there are many, the whole facet) go to
    the local MILP on their own bounds.

    Returns ``(outcome, check, layer, raw, seconds, how)``; ``how`` says whether the
    proof used the MILP (and hence its margin).
    """
    import time

    from ..verify import verify_witness
    from .split import split_facet
    from .witness import pattern_at

    cube_lo, cube_hi, _ = domain
    n = cube_lo.size
    seconds, check, layer, raw = 0.0, None, None, ""
    used_milp, facets = False, list(facet_boxes(n))
    split_stats = info.setdefault("split", {"boxes": 0, "pruned": 0, "leaves": 0, "probes": 0})

    def probe(x):
        pattern = pattern_at(layers[:k], x)
        y = null_step(layers[:k], pattern, k, x, 2 * cube_lo, 2 * cube_hi)
        if y is None:
            return None
        found = verify_witness(layers, x, y)
        return found if found.ok else None

    for _j, _s, f_lo, f_hi in facets:
        if budget.expired():
            return "undecided", check, layer, "time limit", seconds, ""
        domains = [(f_lo, f_hi)]
        if split:
            rem = budget.remaining()
            # Splitting is the efficient tool: a facet may use a share of all that is left
            # (most facets need a fraction of a second, a hard one gets the time).
            deadline = None if rem is None else time.perf_counter() + SPLIT_SHARE * rem
            leaves, stats = split_facet(
                layers,
                k,
                f_lo,
                f_hi,
                max_depth=SPLIT_DEPTH_PER_DIM * (n - 1),
                max_boxes=SPLIT_MAX_BOXES,
                deadline=deadline,
                probe=probe,
            )
            for key in ("boxes", "pruned", "leaves", "probes"):
                split_stats[key] += stats[key]
            if "witness" in stats:
                found = stats["witness"]
                counts = [int(np.sum(p)) for p in pattern_at(layers[:k], found.x)]
                first = next((j + 1 for j, a in enumerate(counts) if a < n), k)
                return "verified", found, first, "split", seconds, ""
            if not leaves:
                continue  # the whole facet is proven exactly
            if len(leaves) <= LEAF_MILPS:
                domains = leaves
        for d_lo, d_hi in domains:
            if budget.expired():
                return "undecided", check, layer, "time limit", seconds, ""
            d_bounds = compute_bounds(layers[:k], d_lo, d_hi, deadline=budget.deadline)
            info["facet_bound_seconds"] = info.get("facet_bound_seconds", 0.0) + d_bounds.seconds
            if sampled_violation(layers[:k], d_bounds) > BOUND_SAMPLE_TOL:
                return "undecided", check, layer, "invalid bounds", seconds, ""
            if int(np.sum(d_bounds.state(k - 1) == ON)) >= n:
                # n units always on in this box (LP bounds, loosened by LP_SAFETY)
                info["boxes_by_lp_bounds"] = info.get("boxes_by_lp_bounds", 0) + 1
                continue
            used_milp = True
            info["domain_milps"] = info.get("domain_milps", 0) + 1
            res = _solve_domain(
                layers, k, d_bounds, False, margin, domain, box, budget, threads, info
            )
            outcome, d_check, d_layer, raw, sec = res
            seconds += sec
            if d_check is not None:
                check, layer = d_check, d_layer
            if outcome != "proven":
                return outcome, check, layer, raw, seconds, ""
    if used_milp:
        how = (
            "up to margin: "
            + ("input splitting and " if split else "")
            + f"MILPs on {2 * n} facets"
        )
    else:
        how = "exact: input splitting with sound bounds (no margin)"
    return "proven", check, layer, raw, seconds, how
