"""The three MILPs of the deep checks: build (never solve) and decode.

* :class:`LocalProblem`, one copy: a region where a layer has fewer than ``n`` units
  active by a margin (local check);
* :class:`GlobalProblem`, two copies on the same domain: a separated pair with equal
  outputs (global check);
* :class:`PointwiseProblem`, one copy: another preimage of ``f(x0)`` (pointwise check).

Each copy of the network is the exact big-M encoding of :mod:`.encoding` on proven
bounds (:mod:`.bounds`). The pipelines (``local_check``, ``global_check``,
``pointwise_check``) solve them with :func:`injcheck.solvers.solve_highs` and turn
solutions into candidate witnesses with the ``*_candidates`` functions here, which the
independent verifier then checks.
"""

from __future__ import annotations

from collections.abc import Sequence

import cvxpy as cp
import numpy as np

from ..layers import Layer, forward
from .bounds import ON, Bounds
from .encoding import NetworkCopy, encode_copy
from .witness import first_meeting_layer, interior_point, null_step, pattern_at, polish_pair

#: Relative margin of active units in the local MILP.
MARGIN = 1e-4
#: Relative separation that the pair MILPs demand (global, pointwise).
SEPARATION = 1e-4
#: Bias-free pointwise search radius in units of ``|x0|_inf`` (the brute force uses the same).
RADIUS = 100.0
#: A solver value may leave a proven bound by this much (relative) before it is an error.
VALUE_TOL = 1e-5


class LocalProblem:
    """The built one-copy MILP and what is needed to decode it."""

    def __init__(
        self,
        layers: Sequence[Layer],
        bounds: Bounds,
        homogeneous: bool,
        margin: float,
        *,
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
        cons += [self.pick[k] == 0 for k in range(depth) if not self.can_fail[k]]
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
        self.separation = separation
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
