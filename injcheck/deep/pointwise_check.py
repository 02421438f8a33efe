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

import cvxpy as cp
import numpy as np

from ..networks import Layer, architecture, forward
from ..solvers import solve_highs
from ..verdict import Verdict
from ._common import BOUND_SAMPLE_TOL, Budget, has_bias, try_witnesses, verdict_from_check
from .bounds import Bounds, compute_bounds, sampled_violation
from .encoding import NetworkCopy, encode_copy
from .near_diagonal import (
    CoverResult,
    certify_cover,
    cover_near_diagonal,
    output_floor_certificate,
)
from .split import facets
from .witness import first_meeting_layer, pattern_at, polish_pair

SEPARATION = 1e-4
#: Bias-free search radius in units of ``|x0|_inf`` (the brute force uses the same).
RADIUS = 100.0


class PointwiseProblem:
    """The built MILP for the other preimage ``y``."""

    def __init__(
        self,
        layers: Sequence[Layer],
        bounds: Bounds,
        x0: np.ndarray,
        homogeneous: bool,
        separation: float,
    ):
        n = x0.size
        self.layers, self.bounds, self.homogeneous = layers, bounds, homogeneous
        self.scale = float(np.abs(x0).max()) if homogeneous and np.any(x0) else 1.0
        x_ref = x0 / self.scale
        target = forward(layers, x_ref)
        self.y = cp.Variable(n, name="y")
        self.copy: NetworkCopy = encode_copy(layers, bounds, self.y, "c")
        lo, hi = bounds.lo, bounds.hi
        width = hi - lo
        cons = [self.y >= lo, self.y <= hi] + self.copy.constraints
        if homogeneous:
            self.lam = cp.Variable(name="lam")
            cons += [self.lam >= 1.0 / RADIUS, self.lam <= 1.0]
            cons += [self.copy.post[-1] == self.lam * target]
            diff = self.y - self.lam * x_ref
            room = width + 2 * np.abs(x_ref)
        else:
            self.lam = None
            cons += [self.copy.post[-1] == target]
            diff = self.y - x_ref
            room = 2 * width
        self.eps = eps = separation * width
        self.choose = cp.Variable((2, n), boolean=True, name="sep")
        self.gap = cp.Variable(name="gap")
        cons += [
            cp.sum(self.choose) == 1,
            diff >= cp.multiply(eps, self.choose[0]) - cp.multiply(room, 1 - self.choose[0]),
            -diff >= cp.multiply(eps, self.choose[1]) - cp.multiply(room, 1 - self.choose[1]),
            self.gap <= cp.multiply(1 / width, diff) + 4 * (1 - self.choose[0]),
            self.gap <= cp.multiply(-1 / width, diff) + 4 * (1 - self.choose[1]),
        ]
        self.problem = cp.Problem(cp.Maximize(self.gap), cons)

    @property
    def n_binaries(self) -> int:
        return self.copy.n_binaries

    def preimage(self, values: dict) -> np.ndarray:
        """The other preimage in the caller's coordinates."""
        y = np.asarray(values["y"], float).reshape(-1)
        if self.lam is None:
            return y
        return self.scale * y / float(np.asarray(values["lam"]).reshape(-1)[0])


COVER_ROLES = {
    "near_diagonal": "difference-cone cover for closer ones",
    "far_preimages": "output floor for ones beyond the search ball",
}


def exactness_covers(
    layers: Sequence[Layer], prob: PointwiseProblem, x0, lo, hi, deadline
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
        near = cover_near_diagonal(layers, [(x0, x0)], eps, (lo, hi), deadline=deadline)
        return {"near_diagonal": near}
    if not np.any(x0):
        return {}
    reach = eps * prob.scale / (1.0 - eps)
    near = cover_near_diagonal(
        layers, [(x0, x0)], reach, (x0 - reach, x0 + reach), deadline=deadline
    )
    floor = float(np.abs(forward(layers, x0)).max()) / (RADIUS * prob.scale)
    far = certify_cover(layers, facets(x0.size), output_floor_certificate(floor), deadline=deadline)
    return {"near_diagonal": near, "far_preimages": far}


def boundary_units(
    layers: Sequence[Layer], x0: np.ndarray, rtol: float = 1e-12
) -> list[tuple[int, int]]:
    """``(layer, unit)`` (1-based) of units whose pre-activation at x0 is 0 but not identically."""
    h = np.asarray(x0, float)
    out = []
    for k, layer in enumerate(layers):
        pre = layer.weight @ h + layer.bias
        size = np.abs(layer.weight) @ np.abs(h) + (
            np.abs(layer.bias)
        )
        for i in np.flatnonzero((np.abs(pre) <= rtol * size) & (size > 0)):
            out.append((k + 1, int(i) + 1))
        h = np.maximum(pre, 0.0)
    return out


def check_pointwise(
    layers: Sequence[Layer],
    x0: np.ndarray,
    *,
    time_limit: float | None = None,
    box=None,
    threads: int = 1,
    separation: float = SEPARATION,
) -> Verdict:
    """Pointwise recoverability of ``x0`` by MILP (see the module docstring)."""
    budget = Budget.begin(time_limit)
    x0 = np.asarray(x0, float).reshape(-1)
    n = x0.size
    arch = architecture(layers)
    if box is None and has_bias(layers):
        from ._common import input_domain

        input_domain(layers, box)  # raises the standard message
    homogeneous = box is None
    lo, hi = (-np.ones(n), np.ones(n)) if homogeneous else (np.asarray(box[0]), np.asarray(box[1]))
    bounds = compute_bounds(layers, lo, hi, deadline=budget.bound_deadline())
    prob = PointwiseProblem(layers, bounds, x0, homogeneous, separation)
    on_boundary = boundary_units(layers, x0)
    stats = {
        "binaries": prob.n_binaries,
        "undecided_per_layer": bounds.undecided_per_layer(),
        "bound_seconds": bounds.seconds,
        "lp_solves": bounds.lp_solves,
    }
    certificate = {
        "domain": f"ball |y|_inf <= {RADIUS:g} |x0|_inf" if homogeneous else "input box",
        "separation": separation,
        "binaries": prob.n_binaries,
        "x0_on_boundary": bool(on_boundary),
    }
    note = ""
    if on_boundary:
        layer, unit = on_boundary[0]
        note = f"x0 lies on a region boundary (layer {layer}, unit {unit} has pre-activation 0)"
        certificate["boundary_units"] = on_boundary[:20]
    if not homogeneous and not (np.all(x0 >= lo) and np.all(x0 <= hi)):
        note = (note + "; " if note else "") + "x0 lies outside the input box"
    violation = sampled_violation(layers, bounds)
    if violation > BOUND_SAMPLE_TOL:
        return Verdict(
            "unknown",
            "pointwise",
            "milp",
            arch,
            stats=stats,
            certificate=certificate,
            message=f"bound tightening produced an invalid bound (violated by {violation:.2g})",
        )
    res = solve_highs(
        prob.problem,
        time_limit=budget.remaining(),
        threads=threads,
        options={"mip_rel_gap": 0.5, "mip_abs_gap": 0.0},
    )
    stats["solve_seconds"] = res.wall_time
    base = {
        "stats": stats,
        "certificate": certificate,
        "solver_status": res.raw_status,
        "message": note,
    }
    if res.outcome == "infeasible":
        certificate["milp"] = "infeasible"
        covers = exactness_covers(layers, prob, x0, lo, hi, budget.deadline)
        certificate.update({name: cover.summary() for name, cover in covers.items()})
        certificate["exact"] = all(cover.proven for cover in covers.values())
        if certificate["exact"]:
            msg = "x0 is the only preimage: MILP for separated preimages" + "".join(
                f", {COVER_ROLES[name]}" for name in covers
            )
        else:
            where = certificate["domain"]
            msg = f"no other preimage with separation >= {separation:g} in the {where}"
        base["message"] = f"{msg}; {note}" if note else msg
        return Verdict("injective", "pointwise", "milp", arch, **base)
    if res.outcome not in ("optimal", "feasible"):
        base["message"] = f"MILP ended without a decision ({res.raw_status})"
        return Verdict("unknown", "pointwise", "milp", arch, **base)
    try:
        y = prob.preimage(res.values)
        pat_y = prob.copy.pattern(res.values)
    except (KeyError, ValueError, IndexError) as exc:
        base["message"] = f"solver result could not be decoded: {exc}"
        return Verdict("unknown", "pointwise", "milp", arch, **base)
    pat_x = pattern_at(layers, x0)
    big = RADIUS * max(prob.scale, 1.0)
    p_lo, p_hi = (-big * np.ones(n), big * np.ones(n)) if homogeneous else (lo, hi)
    diff = x0 - y  # polish_pair separates sign * (x - y)
    coord = int(np.argmax(np.abs(diff)))
    sign = 1.0 if diff[coord] >= 0 else -1.0
    candidates = []
    for pattern in (pat_y, pattern_at(layers, y)):
        for meet in sorted({first_meeting_layer(layers, x0, y, rtol=1e-5), len(layers)}):
            pair = polish_pair(layers, pat_x, pattern, meet, p_lo, p_hi, coord, sign, x_fixed=x0)
            if pair is not None:
                candidates.append(pair)
    candidates.append((x0, y))
    check = try_witnesses(layers, candidates, fix_x=True, box=box)
    layer = (
        first_meeting_layer(layers, check.x, check.y) if check is not None and check.ok else None
    )
    return verdict_from_check(
        check,
        mode="pointwise",
        layers=layers,
        layer=layer,
        base=base,
        fail_message="the MILP's preimage did not verify",
    )
