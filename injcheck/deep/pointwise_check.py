"""Pointwise recoverability: is ``x0`` the only preimage of ``f(x0)``?

One copy of the network for the other preimage ``y``; ``x0`` is a constant.

* **Bias-free, no box.** Homogeneity lets us search ``(y, lam)`` with
  ``y in [-1, 1]^n``, ``lam in [1 / RADIUS, 1]`` and ``f(y) = lam f(x0 / s)``
  (``s = |x0|_inf``): ``Y = s y / lam`` is then a preimage of ``f(x0)``. Every preimage
  with ``|Y|_inf <= RADIUS |x0|_inf`` appears (with ``lam = min(1, s / |Y|_inf)``), so
  infeasibility proves there is no other preimage in that ball; preimages can exist only
  farther out (regions where ``f`` is small compared with ``|Y|``), and the verdict says so.
* **With a box.** ``y`` in the box and ``f(y) = f(x0)``.

Separation: binaries choose a coordinate and a sign with
``|y_j - lam x0_j / s| >= SEPARATION`` (box: ``SEPARATION`` times the box width).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..budget import Budget
from ..layers import Layer, architecture, forward, is_homogeneous, near_zero_units
from ..solvers import SolveResult, solve_highs
from ..verdict import Verdict
from ._common import (
    BOUND_TIME_SHARE,
    bound_stats,
    input_domain,
    invalid_bounds,
    try_witnesses,
    verdict_from_check,
)
from .bounds import compute_bounds
from .certificates import OutputFloor
from .domains import facets
from .milp import RADIUS, SEPARATION, PointwiseProblem
from .near_diagonal import CoverResult, certify_cover, cover_near_diagonal
from .witness import first_meeting_layer, pattern_at, polish_pair

COVER_ROLES = {
    "near_diagonal": "difference-cone cover for closer ones",
    "far_preimages": "output floor for ones beyond the search ball",
}
#: Relative size under which a pre-activation at ``x0`` counts as zero (x0 on a boundary).
BOUNDARY_RTOL = 1e-12


def check_pointwise(
    layers: Sequence[Layer],
    x0: np.ndarray,
    *,
    time_limit: float | None = None,
    budget: Budget | None = None,
    box=None,
    threads: int = 1,
    separation: float = SEPARATION,
) -> Verdict:
    """Pointwise recoverability of ``x0`` by MILP and box covers (module docstring)."""
    budget = budget or Budget.seconds(time_limit)
    x0 = np.asarray(x0, float).reshape(-1)
    if box is None and not is_homogeneous(layers):
        input_domain(layers, box)  # raises the standard message
    homogeneous = box is None
    n = x0.size
    lo, hi = (-np.ones(n), np.ones(n)) if homogeneous else (np.asarray(box[0]), np.asarray(box[1]))
    bounds = compute_bounds(layers, lo, hi, method="lp", budget=budget.share(BOUND_TIME_SHARE))
    prob = PointwiseProblem(layers, bounds, x0, homogeneous, separation)
    base = _base(layers, bounds, prob, x0, lo, hi)
    refused = invalid_bounds(layers, bounds, "pointwise", base)
    if refused is not None:
        return refused
    res = solve_highs(
        prob.problem,
        time_limit=budget.solver_seconds(),
        threads=threads,
        options={"mip_rel_gap": 0.5, "mip_abs_gap": 0.0},
    )
    base["stats"]["solve_seconds"] = res.wall_time
    base["solver_status"] = res.raw_status
    if res.outcome == "infeasible":
        return _injective(layers, prob, x0, lo, hi, budget, base)
    if res.outcome not in ("optimal", "feasible"):
        base["message"] = f"MILP ended without a decision ({res.raw_status})"
        return Verdict("unknown", "pointwise", "milp", architecture(layers), **base)
    return _witness(layers, prob, x0, lo, hi, box, res, base)


def _base(layers, bounds, prob: PointwiseProblem, x0, lo, hi) -> dict:
    """Stats, certificate and the note on where x0 lies, before the MILP."""
    on_boundary = boundary_units(layers, x0)
    stats = {"binaries": prob.n_binaries, **bound_stats(bounds)}
    certificate = {
        "domain": f"ball |y|_inf <= {RADIUS:g} |x0|_inf" if prob.homogeneous else "input box",
        "separation": prob.separation,
        "binaries": prob.n_binaries,
        "x0_on_boundary": bool(on_boundary),
    }
    notes = []
    if on_boundary:
        layer, unit = on_boundary[0]
        notes.append(
            f"x0 lies on a region boundary (layer {layer}, unit {unit} has pre-activation 0)"
        )
        certificate["boundary_units"] = on_boundary[:20]
    if not prob.homogeneous and not (np.all(x0 >= lo) and np.all(x0 <= hi)):
        notes.append("x0 lies outside the input box")
    return {"stats": stats, "certificate": certificate, "message": "; ".join(notes)}


def boundary_units(layers: Sequence[Layer], x0: np.ndarray) -> list[tuple[int, int]]:
    """``(layer, unit)`` (1-based) of units whose pre-activation at x0 is 0 but not identically."""
    masks = near_zero_units(layers, np.asarray(x0, float), BOUNDARY_RTOL)
    return [(k + 1, int(i) + 1) for k, mask in enumerate(masks) for i in np.flatnonzero(mask)]


def exactness_covers(
    layers: Sequence[Layer], prob: PointwiseProblem, x0, lo, hi, budget: Budget
) -> dict[str, CoverResult]:
    """What the MILP leaves out, proven absent by box covers (:mod:`.near_diagonal`).

    * **Near** preimages ``Y`` (every ``|y_j - lam x_ref_j| < eps_j``): with a box,
      ``|Y - x0| < eps``; bias-free, ``|Y - x0| < eps |Y|_inf`` or ``< eps s`` (module
      docstring), hence ``|Y - x0|_inf < eps s / (1 - eps)``. Injectivity on that box
      around ``x0`` (difference-cone certificate) rules them out.
    * **Far** preimages (bias-free: ``|Y|_inf > RADIUS s``) give ``u = Y / |Y|_inf`` on the
      unit sphere with ``|f(u)|_inf < |f(x0)|_inf / (RADIUS s)``; a facet cover proving
      ``|f(u)|_inf`` above that floor rules them out.
    * ``x0 = 0`` (bias-free): every preimage of 0 scales into the MILP's cube; none left.
    """
    eps = prob.eps
    if not prob.homogeneous:
        near = cover_near_diagonal(layers, [(x0, x0)], eps, (lo, hi), budget=budget)
        return {"near_diagonal": near}
    if not np.any(x0):
        return {}
    reach = eps * prob.scale / (1.0 - eps)
    near = cover_near_diagonal(layers, [(x0, x0)], reach, (x0 - reach, x0 + reach), budget=budget)
    floor = float(np.abs(forward(layers, x0)).max()) / (RADIUS * prob.scale)
    far = certify_cover(layers, facets(x0.size), OutputFloor(floor), budget=budget)
    return {"near_diagonal": near, "far_preimages": far}


def _injective(layers, prob: PointwiseProblem, x0, lo, hi, budget: Budget, base: dict) -> Verdict:
    """The MILP found no separated preimage; the covers exclude the rest when they complete."""
    certificate, note = base["certificate"], base["message"]
    certificate["milp"] = "infeasible"
    covers = exactness_covers(layers, prob, x0, lo, hi, budget)
    certificate.update({name: cover.summary() for name, cover in covers.items()})
    certificate["exact"] = all(cover.proven for cover in covers.values())
    if certificate["exact"]:
        roles = "".join(f", {COVER_ROLES[name]}" for name in covers)
        message = f"x0 is the only preimage: MILP for separated preimages{roles}"
    else:
        where = certificate["domain"]
        message = f"no other preimage with separation >= {prob.separation:g} in the {where}"
    base["message"] = f"{message}; {note}" if note else message
    return Verdict("injective", "pointwise", "milp", architecture(layers), **base)


def _witness(layers, prob: PointwiseProblem, x0, lo, hi, box, res: SolveResult, base: dict):
    """The MILP's preimage, polished and verified with ``x`` fixed at ``x0``."""
    try:
        y = prob.preimage(res.values)
        pat_y = prob.copy.pattern(res.values)
    except (KeyError, ValueError, IndexError) as exc:
        base["message"] = f"solver result could not be decoded: {exc}"
        return Verdict("unknown", "pointwise", "milp", architecture(layers), **base)
    big = RADIUS * max(prob.scale, 1.0)
    p_lo, p_hi = (-big * np.ones(x0.size), big * np.ones(x0.size)) if prob.homogeneous else (lo, hi)
    diff = x0 - y  # polish_pair separates sign * (x - y)
    coord = int(np.argmax(np.abs(diff)))
    sign = 1.0 if diff[coord] >= 0 else -1.0
    pat_x, candidates = pattern_at(layers, x0), []
    for pattern in (pat_y, pattern_at(layers, y)):
        for meet in sorted({first_meeting_layer(layers, x0, y, rtol=1e-5), len(layers)}):
            pair = polish_pair(layers, pat_x, pattern, meet, p_lo, p_hi, coord, sign, x_fixed=x0)
            if pair is not None:
                candidates.append(pair)
    candidates.append((x0, y))
    check = try_witnesses(layers, candidates, fix_x=True, box=box)
    ok = check is not None and check.ok
    layer = first_meeting_layer(layers, check.x, check.y) if ok else None
    return verdict_from_check(
        check,
        mode="pointwise",
        layers=layers,
        layer=layer,
        base=base,
        fail_message="the MILP's preimage did not verify",
    )
