"""Ground truth for tiny networks: enumerate the linear regions, then test pairs by LPs.

This module is deliberately independent of the MILP code (:mod:`.bounds`,
:mod:`.encoding`, the ``*_check`` modules); it only shares the float forward pass and
the witness verifier with them. It is meant for ``n <= 3`` and a few dozen units.

Method
------
1. **Regions.** A depth-first search over the units (layer by layer) builds every
   realised activation pattern. On a region the pre-activations of layer k are affine,
   ``pre_k = A_k x + c_k``; a child pattern is kept when the LP
   ``max delta`` s.t. every fixed unit has ``pre >= delta`` (active) or
   ``pre <= -delta`` (inactive), rows normalised, finds ``delta > 0``, i.e. the
   region has interior. A unit whose pre-activation is identically zero on the region
   (non-generic weights) gets no constraint and counts as inactive.
2. **Pairs.** For every unordered pair of regions (a, b), a region with itself included,
   the collision set ``{(x, y): x in cl R_a, y in cl R_b, f_a(x) = f_b(y)}`` is a
   polytope (inside the input box; bias-free networks are homogeneous so the unit box
   loses nothing). It holds a pair with ``x != y`` iff the projection ``d = x - y`` is
   not ``{0}``; we maximise and minimise ``w . d`` for a fixed random direction ``w``.
   Both optima vanish with ``d != 0`` only if the whole projection lies in the
   hyperplane ``w^perp`` (a null event for the random ``w``).
3. **Local.** A region fails locally when some layer has fewer than ``n`` strictly
   active units; the rank of the region's Jacobian is recorded too.

:func:`difference_system_is_trivial` is a second reference, for the difference-cone
certificate: it decides the same linear system by a MILP instead of by rays.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, linprog, milp

from ..exceptions import InvalidArgumentError
from ..layers import Layer, architecture, forward
from ..verdict import Verdict
from ..verify import verify_witness
from .difference_cone import difference_form

#: A region counts as realised when its Chebyshev-like margin exceeds this.
REGION_TOL = 1e-9
#: A collision LP counts ``|w . (x - y)|`` above this (relative to the box) as ``x != y``.
COLLISION_TOL = 1e-8
#: Bias-free pointwise search radius, in units of ``||x0||_inf`` (matches the MILP).
POINTWISE_RADIUS = 100.0
MAX_INPUT_DIM = 3


class EnumerationTimeout(Exception):
    """The deadline passed before the enumeration (or the pair search) finished."""


def _check_deadline(deadline: float | None) -> None:
    if deadline is not None and time.perf_counter() > deadline:
        raise EnumerationTimeout


@dataclass
class Region:
    """One realised linear region of the network."""

    active: list[np.ndarray]  # bool per layer: strictly active units
    zero: list[np.ndarray]  # bool per layer: pre-activation identically zero
    g: np.ndarray  # closure: g @ x <= h (rows normalised)
    h: np.ndarray
    jac: np.ndarray  # f(x) = jac @ x + off on the closure
    off: np.ndarray
    interior: np.ndarray  # a point with margin
    layer_jacs: list[np.ndarray] = field(default_factory=list)  # Jacobian of h_k

    def active_counts(self) -> list[int]:
        return [int(a.sum()) for a in self.active]


@dataclass
class BruteResult:
    """Everything the enumeration found."""

    regions: list[Region]
    global_collision: bool
    global_pair: tuple[np.ndarray, np.ndarray] | None
    local_fail_layer: int | None  # first layer with < n strictly active units somewhere
    rank_fail_layer: int | None  # first layer whose Jacobian loses rank somewhere
    local_region: int | None
    lps: int
    seconds: float


def _lp(c, a_ub, b_ub, a_eq, b_eq, bounds):
    return linprog(c, A_ub=a_ub, b_ub=b_ub, A_eq=a_eq, b_eq=b_eq, bounds=bounds, method="highs")


def _domain(layers: Sequence[Layer], box) -> tuple[np.ndarray, np.ndarray]:
    n = layers[0].weight.shape[1]
    if box is not None:
        return np.asarray(box[0], float), np.asarray(box[1], float)
    if any(layer.has_bias for layer in layers):
        raise InvalidArgumentError("a network with biases needs input_box (no homogeneity to use)")
    return -np.ones(n), np.ones(n)


class _Enumerator:
    def __init__(
        self, layers: Sequence[Layer], lo: np.ndarray, hi: np.ndarray, deadline: float | None
    ):
        self.layers = layers
        self.deadline = deadline
        self.lo, self.hi = lo, hi
        self.n = lo.size
        self.lps = 0
        self.scale = float(np.max(np.abs(np.concatenate([lo, hi]))))

    def margin_point(self, g: np.ndarray, h: np.ndarray) -> tuple[float, np.ndarray | None]:
        """max delta s.t. g x + delta <= h, x in box, delta <= 1."""
        self.lps += 1
        n = self.n
        c = np.zeros(n + 1)
        c[-1] = -1.0
        a_ub = np.hstack([g, np.ones((g.shape[0], 1))]) if g.size else None
        bounds = [(lo, hi) for lo, hi in zip(self.lo, self.hi, strict=True)] + [(None, 1.0)]
        res = _lp(c, a_ub, h if g.size else None, None, None, bounds)
        if res.status != 0:
            return -np.inf, None
        return float(res.x[-1]), res.x[:n]

    def run(self) -> list[Region]:
        n = self.n
        regions: list[Region] = []
        start_point = 0.5 * (self.lo + self.hi)
        # Stack entries: (layer k, unit i, active lists, zero lists, A_k, c_k, g, h, point)
        first = self.layers[0]
        a0 = first.weight.copy()
        c0 = first.bias.copy()
        stack = [(0, 0, [], [], a0, c0, np.zeros((0, n)), np.zeros(0), start_point, [])]
        while stack:
            _check_deadline(self.deadline)
            k, i, act, zer, a_k, c_k, g, h, point, jacs = stack.pop()
            m_k = a_k.shape[0]
            if i == m_k:
                # Layer k complete: move to the next layer or close the region.
                mask = act[k].astype(float)
                jac_k = mask[:, None] * a_k
                off_k = mask * c_k
                jacs = jacs + [jac_k]
                if k + 1 == len(self.layers):
                    regions.append(Region(act, zer, g, h, jac_k, off_k, point, jacs))
                    continue
                nxt = self.layers[k + 1]
                a_next = nxt.weight @ jac_k
                c_next = nxt.weight @ off_k + nxt.bias
                stack.append((k + 1, 0, act, zer, a_next, c_next, g, h, point, jacs))
                continue
            row, const = a_k[i], c_k[i]
            size = max(np.linalg.norm(row) * self.scale, abs(const), 1e-300)
            ref = max(np.abs(a_k).sum() * self.scale + np.abs(c_k).sum(), 1e-300)
            children = []
            if np.linalg.norm(row) * self.scale <= 1e-12 * ref:
                # Constant on the region: its sign is decided, no new constraint.
                on = const > 1e-12 * ref
                is_zero = not on and const >= -1e-12 * ref
                children.append((on, is_zero, g, h, point))
            else:
                nrm = np.linalg.norm(row)
                val = row @ point + const
                for on in (True, False):
                    sign = -1.0 if on else 1.0  # on: -(row x + c) <= 0
                    g_new = np.vstack([g, sign * row / nrm])
                    h_new = np.append(h, -sign * const / nrm)
                    if (
                        (val > 0) == on
                        and abs(val) > REGION_TOL * size
                        and self._keeps_margin(g, h, point)
                    ):
                        children.append((on, False, g_new, h_new, point))
                        continue
                    delta, pt = self.margin_point(g_new, h_new)
                    if delta > REGION_TOL:
                        children.append((on, False, g_new, h_new, pt))
            for on, is_zero, g_new, h_new, pt in children:
                act_new = [a.copy() for a in act]
                zer_new = [z.copy() for z in zer]
                if i == 0:
                    act_new.append(np.zeros(m_k, dtype=bool))
                    zer_new.append(np.zeros(m_k, dtype=bool))
                act_new[k][i] = on
                zer_new[k][i] = is_zero
                stack.append((k, i + 1, act_new, zer_new, a_k, c_k, g_new, h_new, pt, jacs))
        return regions

    def _keeps_margin(self, g: np.ndarray, h: np.ndarray, point: np.ndarray) -> bool:
        """The inherited point is still strictly inside the parent constraints."""
        if not g.size:
            return True
        return bool(np.all(g @ point - h < -REGION_TOL))


def enumerate_regions(
    layers: Sequence[Layer], box=None, deadline: float | None = None
) -> tuple[list[Region], int]:
    """All realised linear regions of ``layers`` on the box (bias-free: ``[-1, 1]^n``).

    Raises :class:`EnumerationTimeout` when ``deadline`` (``time.perf_counter()``) passes.

    Returns
    -------
    regions, number of LPs solved
    """
    lo, hi = _domain(layers, box)
    enum = _Enumerator(layers, lo, hi, deadline)
    return enum.run(), enum.lps


def _pair_lp(ra: Region, rb: Region, lo, hi, w: np.ndarray, sign: float):
    """max sign * w.(x - y) over the collision polytope of (ra, rb)."""
    n = lo.size
    c = -sign * np.concatenate([w, -w])
    a_ub = np.block([[ra.g, np.zeros((ra.g.shape[0], n))], [np.zeros((rb.g.shape[0], n)), rb.g]])
    b_ub = np.concatenate([ra.h, rb.h])
    a_eq = np.hstack([ra.jac, -rb.jac])
    b_eq = rb.off - ra.off
    bounds = [(a, b) for a, b in zip(lo, hi, strict=True)] * 2
    if not a_ub.size:
        a_ub, b_ub = None, None
    res = _lp(c, a_ub, b_ub, a_eq, b_eq, bounds)
    if res.status != 0:
        return None, None
    return -float(res.fun), res.x


def _interior_pair(ra: Region, rb: Region, lo, hi, w, target: float):
    """A colliding pair with both points inside their regions (margin), if one exists."""
    n = lo.size
    c = np.zeros(2 * n + 1)
    c[-1] = -1.0
    rows = [
        np.hstack([ra.g, np.zeros((ra.g.shape[0], n)), np.ones((ra.g.shape[0], 1))]),
        np.hstack([np.zeros((rb.g.shape[0], n)), rb.g, np.ones((rb.g.shape[0], 1))]),
        np.concatenate([-w, w, [0.0]])[None, :],
    ]
    a_ub = np.vstack(rows)
    b_ub = np.concatenate([ra.h, rb.h, [-target]])
    a_eq = np.hstack([ra.jac, -rb.jac, np.zeros((ra.jac.shape[0], 1))])
    b_eq = rb.off - ra.off
    bounds = [(a, b) for a, b in zip(lo, hi, strict=True)] * 2 + [(None, 1.0)]
    res = _lp(c, a_ub, b_ub, a_eq, b_eq, bounds)
    if res.status != 0 or res.x[-1] <= REGION_TOL:
        return None
    return res.x[:n], res.x[n : 2 * n]


def _direction(n: int) -> np.ndarray:
    # A fixed generic direction: irrational-looking, so no lattice/integer coincidence.
    w = np.sqrt(np.arange(2, n + 2, dtype=float)) + np.pi / 7
    return w / np.linalg.norm(w)


def analyse(
    layers: Sequence[Layer],
    box=None,
    *,
    stop_at_first: bool = False,
    deadline: float | None = None,
) -> BruteResult:
    """Enumerate regions and decide global and local injectivity exactly (tiny nets).

    Parameters
    ----------
    layers : list of Layer
    box : (lo, hi), optional
        Input box; required with biases. Bias-free networks use ``[-1, 1]^n``.
    stop_at_first : bool
        Stop the pair search at the first collision.
    deadline : float, optional
        A ``time.perf_counter()`` value; :class:`EnumerationTimeout` is raised past it.

    Returns
    -------
    BruteResult
    """
    start = time.perf_counter()
    n = architecture(layers)[0]
    if n > MAX_INPUT_DIM:
        raise InvalidArgumentError(f"brute force handles n <= {MAX_INPUT_DIM}, got n = {n}")
    lo, hi = _domain(layers, box)
    regions, lps = enumerate_regions(layers, box, deadline)
    local_layer, local_region, rank_layer = _local_failures(regions, n)
    found, pair, pair_lps = _find_collision(regions, lo, hi, n, stop_at_first, deadline)
    return BruteResult(
        regions,
        found,
        pair,
        local_layer,
        rank_layer,
        local_region,
        lps + pair_lps,
        time.perf_counter() - start,
    )


def _local_failures(regions: Sequence[Region], n: int):
    """``(layer, region index)`` of the earliest layer with fewer than ``n`` active units
    on some region, and the earliest layer whose Jacobian rank drops below ``n``."""
    local_layer = rank_layer = local_region = None
    for idx, region in enumerate(regions):
        bad = [k + 1 for k, a in enumerate(region.active_counts()) if a < n]
        if bad and (local_layer is None or bad[0] < local_layer):
            local_layer, local_region = bad[0], idx
        ranks = [
            np.linalg.matrix_rank(j, tol=1e-9 * max(1.0, np.abs(j).max()))
            for j in region.layer_jacs
        ]
        bad_rank = [k + 1 for k, r in enumerate(ranks) if r < n]
        if bad_rank and (rank_layer is None or bad_rank[0] < rank_layer):
            rank_layer = bad_rank[0]
    return local_layer, local_region, rank_layer


def _find_collision(regions, lo, hi, n: int, stop_at_first: bool, deadline):
    """Every unordered pair of regions (a region with itself included) by LPs:
    ``(found, pair or None, LPs)``; an interior pair is preferred to the LP vertex."""
    w = _direction(n)
    width = float(np.max(hi - lo))
    found, pair, lps = False, None, 0
    for a in range(len(regions)):
        for b in range(a, len(regions)):
            signs = (1.0,) if a == b else (1.0, -1.0)  # a region with itself is swap-symmetric
            for sign in signs:
                _check_deadline(deadline)
                lps += 1
                val, sol = _pair_lp(regions[a], regions[b], lo, hi, w, sign)
                if val is None:
                    break  # infeasible: no collision for either sign
                if val > COLLISION_TOL * width:
                    found = True
                    lps += 1
                    inner = _interior_pair(regions[a], regions[b], lo, hi, sign * w, 0.5 * val)
                    if inner is not None:
                        pair = inner if sign > 0 else inner[::-1]
                    else:
                        pair = (sol[:n], sol[n:])
                    break
            if found and (stop_at_first or pair is not None):
                return found, pair, lps
    return found, pair, lps


def local_witness(
    layers: Sequence[Layer], region: Region, layer: int
) -> tuple[np.ndarray, np.ndarray]:
    """A colliding pair inside ``region``: x its interior point, y = x + t d, J_k d = 0."""
    x = region.interior
    jac_k = region.layer_jacs[layer - 1]
    _, s, vt = np.linalg.svd(jac_k)
    d = vt[-1]
    # Keep every constraint of the region strict: g (x + t d) < h.
    slack = region.h - region.g @ x
    rate = region.g @ d
    with np.errstate(divide="ignore"):
        limits = np.where(np.abs(rate) > 1e-300, slack / np.abs(rate), np.inf)
    t = 0.5 * float(np.min(limits, initial=1.0))
    t = min(t, 0.5)
    return x, x + t * d


def pointwise_collision(
    layers: Sequence[Layer], x0: np.ndarray, box=None, deadline: float | None = None
):
    """Search every region for ``y != x0`` with ``f(y) = f(x0)``; returns y or None."""
    x0 = np.asarray(x0, float)
    n = x0.size
    if box is None:
        radius = POINTWISE_RADIUS * max(float(np.max(np.abs(x0))), 1.0 if not np.any(x0) else 0.0)
        box = (-radius * np.ones(n), radius * np.ones(n))
    lo, hi = np.asarray(box[0], float), np.asarray(box[1], float)
    regions, _ = enumerate_regions(layers, box, deadline)
    target = forward(layers, x0)
    w = _direction(n)
    width = float(np.max(hi - lo))
    for region in regions:
        _check_deadline(deadline)
        for sign in (1.0, -1.0):
            res = _lp(
                -sign * w,
                region.g if region.g.size else None,
                region.h if region.g.size else None,
                region.jac,
                target - region.off,
                [(a, b) for a, b in zip(lo, hi, strict=True)],
            )
            if res.status != 0:
                break
            if sign * w @ (res.x - x0) > COLLISION_TOL * width:
                return res.x
    return None


def check_brute(
    layers: Sequence[Layer], *, mode: str, x0=None, box=None, time_limit=None
) -> Verdict:
    """Verdict by region enumeration (``n <= 3``); witnesses re-verified like any other.

    ``unknown`` when ``time_limit`` (seconds) passes before the enumeration ends.
    """
    start = time.perf_counter()
    deadline = None if time_limit is None else start + time_limit
    try:
        return _decide(layers, mode, x0, box, start, deadline)
    except EnumerationTimeout:
        return Verdict(
            "unknown",
            mode,
            "brute",
            architecture(layers),
            solver_status="timeout",
            message="time limit reached before every region (pair) was examined",
            wall_time=time.perf_counter() - start,
        )


def _decide(layers, mode, x0, box, start, deadline) -> Verdict:
    arch = architecture(layers)
    if mode == "pointwise":
        y = pointwise_collision(layers, x0, box, deadline)
        if y is None:
            return Verdict(
                "injective",
                mode,
                "brute",
                arch,
                message="no other preimage found by region LPs",
                wall_time=time.perf_counter() - start,
            )
        return _witness_verdict(
            layers, mode, arch, np.asarray(x0, float), y, None, box, start, fix_x=True
        )
    res = analyse(layers, box, stop_at_first=False, deadline=deadline)
    stats = {"regions": len(res.regions), "lps": res.lps}
    if mode == "local":
        if res.local_fail_layer is None:
            message = "every region has at least n strictly active units in every layer"
            return _injective(mode, arch, stats, start, message)
        x, y = local_witness(layers, res.regions[res.local_region], res.local_fail_layer)
        return _witness_verdict(
            layers, mode, arch, x, y, res.local_fail_layer, box, start, stats=stats
        )
    if not res.global_collision:
        return _injective(mode, arch, stats, start, "no pair of regions collides")
    x, y = res.global_pair
    return _witness_verdict(layers, mode, arch, x, y, None, box, start, stats=stats)


def _injective(mode: str, arch: list[int], stats: dict, start: float, message: str) -> Verdict:
    return Verdict(
        "injective",
        mode,
        "brute",
        arch,
        stats=stats,
        wall_time=time.perf_counter() - start,
        certificate={"regions": stats["regions"]},
        message=message,
    )


def _witness_verdict(
    layers, mode, arch, x, y, layer, box, start, *, fix_x=False, stats=None
) -> Verdict:
    check = verify_witness(layers, x, y, fix_x=fix_x, box=box)
    status = "non-injective" if check.ok else "unknown"
    return Verdict(
        status,
        mode,
        "brute",
        arch,
        witness={"x": check.x.tolist(), "y": check.y.tolist()} if check.ok else None,
        layer=layer,
        verification=check.to_dict(),
        stats=stats or {},
        message="" if check.ok else f"collision found but not verified: {check.reason}",
        wall_time=time.perf_counter() - start,
    )


def difference_system_is_trivial(layers: Sequence[Layer], bounds_x, bounds_y) -> bool:
    """Reference decision of the difference-cone system by a MILP: True when its only
    solution is ``z = 0`` (no solution with ``|d|_inf = 1``).

    An independent second algorithm for :func:`.difference_cone.difference_cone_certificate`
    (which decides the same system by the rays of an arrangement), for tests and
    experiments; slower, and a MILP time-out counts as False.

    Unknowns ``(z, s, c_plus, c_minus)``: ``z = (d, delta)`` as in
    :func:`~injcheck.deep.difference_cone.difference_form`; ``s_i = 1`` puts
    ``0 <= delta_i <= e_i``, ``s_i = 0`` puts ``e_i <= delta_i <= 0``; ``c`` picks the
    coordinate and sign with ``d_j = +-1``. Big-M constants from ``|d|_inf <= 1``.
    """
    equal, delta, pre, sign = difference_form(layers, bounds_x, bounds_y)
    n = layers[0].weight.shape[1]
    size, k = equal.shape[1], delta.shape[0]
    reach = np.ones(size)  # bound on |z_j| given |d|_inf <= 1, built layer by layer
    for i in range(k):
        reach[n + i] = np.abs(pre[i]) @ reach
    big = np.abs(pre) @ reach + 1e-9
    cols = size + k + 2 * n
    rows, lows, highs = [], [], []

    def add(block, low, high):
        rows.append(block)
        lows.append(np.broadcast_to(low, block.shape[0]))
        highs.append(np.broadcast_to(high, block.shape[0]))

    def lift(z_part, s_part=None, plus=None, minus=None):
        """Rows over all unknowns from their parts (``z_part`` sets the row count)."""
        block = np.zeros((z_part.shape[0], cols))
        block[:, :size] = z_part
        if s_part is not None:
            block[:, size : size + k] = s_part
        if plus is not None:
            block[:, size + k : size + k + n] = plus
        if minus is not None:
            block[:, size + k + n :] = minus
        return block

    if equal.shape[0]:
        add(lift(equal), 0.0, 0.0)
    eye_n, pick = np.eye(n, size), np.zeros((1, cols))
    pick[0, size + k :] = 1.0
    add(pick, 1.0, 1.0)  # one coordinate and sign chosen
    add(lift(eye_n, plus=-2 * np.eye(n)), -1.0, np.inf)  # d_j >= 1 if chosen (+)
    add(lift(eye_n, minus=2 * np.eye(n)), -np.inf, 1.0)  # d_j <= -1 if chosen (-)
    if k:
        reach_d = reach[n:]
        # delta <= 0 when s = 0, delta >= 0 when s = 1
        add(lift(delta, s_part=-np.diag(reach_d)), -reach_d, 0.0)
        # delta >= e when s = 0, delta <= e when s = 1
        add(lift(delta - pre, s_part=2 * np.diag(big)), 0.0, 2 * big)
    integrality = np.r_[np.zeros(size), np.ones(k + 2 * n)]
    col_lo = np.r_[-reach, np.where(sign < 0, 0.0, np.where(sign > 0, 1.0, 0.0)), np.zeros(2 * n)]
    col_hi = np.r_[reach, np.where(sign < 0, 0.0, 1.0), np.ones(2 * n)]
    res = milp(
        np.zeros(cols),
        constraints=LinearConstraint(np.vstack(rows), np.concatenate(lows), np.concatenate(highs)),
        integrality=integrality,
        bounds=Bounds(col_lo, col_hi),
        options={"time_limit": 10.0},
    )
    return res.status == 2  # infeasible
