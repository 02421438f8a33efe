"""Verdicts of the heuristic witness search for deep networks (``method="heuristic"``).

``non-injective`` only with a witness that passed independent verification, ``unknown``
otherwise; **never** ``injective`` (a failed search proves nothing).

* **local**: :func:`injcheck.deep.heuristic.search_local`; the best candidate point with a
  certified layer ``j`` with ``a_j < n`` (moved to the largest-margin interior point of its
  region when some sign is not certified) gives the pair ``(x, x + t d)``, ``J_j d = 0``
  (:func:`null_pair`, as :func:`injcheck.deep.witness.null_step`).
* **global**: the local search first (a local collision is a global one), then
  :func:`injcheck.deep.heuristic.search_pairs`; its best pairs are polished to an exact
  collision by the LP of :func:`injcheck.deep.witness.polish_pair` with their float
  activation patterns, for each meeting layer.

Verification: up to ``RATIONAL_MAX_N`` inputs, :func:`injcheck.verify.verify_witness`
(float64 and an exact rational collision); above, local witnesses are verified by the
certified signs of their region (:func:`injcheck.deep.cell_signs.verify_deep_cell_witness`),
and pairs still by :func:`verify_witness` (a fold has no cell-sign proof), which is slow
at large ``n`` (``verification`` says which check ran). ``stats["best_counts"]`` are the
per-layer best certified active counts, upper bounds on the minimum over open regions;
``certificate["heuristic_count"]`` is their smallest (:func:`heuristic_count`).

``method="auto"`` (:func:`auto_plan`, :func:`auto_heuristic`): on bias-free nets without a
box, in local mode above ``n = 5`` and in global mode above ``n = 4``, this search runs
first with ``AUTO_SHARE`` of the budget; a verified witness is the verdict, otherwise the
exact pipeline runs with the rest (``unknown`` on a time-out, never a guess).
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np

from ..budget import Budget
from ..exceptions import InvalidArgumentError
from ..layers import Layer, affine_pieces, architecture, is_homogeneous
from ..one_layer.polish import polish_lp_budget
from ..verdict import Verdict
from ..verify import WitnessCheck, float_check, verify_witness
from .cell_signs import certified_counts, verify_deep_cell_witness
from .heuristic import DeepSearchSettings, LocalSearch, search_local, search_pairs
from .witness import first_meeting_layer, interior_point, pattern_at, polish_pair

#: Up to this n a local witness is snapped to an exact rational collision as well.
RATIONAL_MAX_N = 24
#: Candidate points / pairs tried per network before giving up.
MAX_LOCAL_TRIES = 4
MAX_PAIR_TRIES = 4
#: Share of the budget the local search gets in global mode.
LOCAL_SHARE = 0.4
#: ``method="auto"`` runs the search first above these ``n`` (bias-free, no box): where
#: the exact checks start to time out and the search finds witnesses they miss. Measured (docs/deep_heuristic.md; 20 s limit, widths 8n then
#: ~0.55-0.6 x 8n, depth 2): local n = 6 decided 10/10 in 0.3-3 s, n = 7 1/10 (the search:
#: witnesses on 4 of the 9 undecided, 0.3-1.7 s); global n = 4 decided 4/10 and the search
#: found nothing more, n = 5 decided 3/6 (the search: 2 of the 3 undecided).
AUTO_HEURISTIC_ABOVE_N = {"local": 5, "global": 4}
#: Share of the budget the search gets in ``auto``; the exact pipeline gets the rest.
AUTO_SHARE = 0.5


def settings_for(arch: Sequence[int], **overrides) -> DeepSearchSettings:
    """Default settings for ``arch = [n, m_1, ..., m_l]`` (shape only, never timings).

    The descent of target layer ``k`` costs ~``3 starts steps sum_{j<=k} m_j m_{j-1}``
    multiply-adds; steps are sized so that all layers together take ~``1.2e11``, clipped
    to [300, 2000] (measured: n = 500, widths 3000, 3000: 416 steps, 6.6 s of descent and
    9.8 s in all on one thread at load ~4.5). The exact LP improvement is on
    with the LP budget of a one-layer polish of all ``sum_k m_k`` units
    (:func:`injcheck.one_layer.polish.polish_lp_budget`: a few seconds' worth per
    layer, off above ``n sum_k m_k = 400,000``; measured at n = 100, widths 600, 600: one
    pass over the positive units in ~2 s per layer, best counts -0.04 n).
    """
    macs = sum(sum(a * b for a, b in zip(arch[:k], arch[1 : k + 1])) for k in range(1, len(arch)))
    steps = int(min(2000, max(300, 1.2e11 / (3 * 8 * max(macs, 1)))))
    polish = polish_lp_budget(sum(arch[1:]), arch[0])
    values = {"starts": 8, "steps": steps, "polish_tries": polish}
    values.update(overrides)
    return DeepSearchSettings(**values)


def heuristic_count(best_counts: Sequence[int | None]) -> int | None:
    """The smallest per-layer best certified active count (None if no layer has one).

    Each ``best_counts[k]`` is the active count of layer ``k + 1`` on an open region the
    search reached, so the smallest is an upper bound on ``min_k min_R a_k(R)``, the
    smallest active count of any layer on any open region: below ``n`` iff the net is
    locally non-injective. It is the deep counterpart of the one-layer ``heuristic_count``
    (an upper bound on ``P*``) and, like it, never reported as an exact value. In global mode it is
    the same local bound; a global collision (a fold) may exist with every count ``>= n``.
    """
    known = [int(c) for c in best_counts if c is not None]
    return min(known) if known else None


def auto_plan(layers: Sequence[Layer], mode: str, box) -> bool | None:
    """Whether ``method="auto"`` runs the search first: None where the rule does not apply
    (biases, a box, pointwise mode: the exact pipeline as always), else ``n`` above
    ``AUTO_HEURISTIC_ABOVE_N[mode]``."""
    if mode not in AUTO_HEURISTIC_ABOVE_N or box is not None or not is_homogeneous(layers):
        return None
    return architecture(layers)[0] > AUTO_HEURISTIC_ABOVE_N[mode]


def auto_heuristic(
    layers: Sequence[Layer], *, mode: str, budget: Budget
) -> tuple[Verdict | None, dict]:
    """The search stage of ``method="auto"``: ``(verdict, summary)``.

    The search gets ``AUTO_SHARE`` of the budget. The verdict is the search's when it
    found a verified witness, else None (run the exact pipeline with what is left); the
    summary (for ``stats["auto"]``) holds the stage's status, time, per-layer best counts
    and its ``heuristic_count``.
    """
    start = time.perf_counter()
    verdict = check_heuristic(layers, mode=mode, budget=budget.share(AUTO_SHARE))
    summary = {
        "status": verdict.status,
        "time": time.perf_counter() - start,
        "best_counts": verdict.stats["best_counts"],
        "heuristic_count": verdict.certificate["heuristic_count"],
        "heuristic_truncated": verdict.certificate["heuristic_truncated"],
    }
    if verdict.status == "non-injective":
        return verdict, summary
    if verdict.verification is not None:
        summary["failed_verification"] = verdict.verification.get("reason")
    return None, summary


def _verify_local(layers: Sequence[Layer], x: np.ndarray, y: np.ndarray) -> WitnessCheck:
    n = x.size
    if n <= RATIONAL_MAX_N:
        return verify_witness(layers, x, y)
    return verify_deep_cell_witness(layers, x, y)


def _first_failing(layers: Sequence[Layer], x: np.ndarray) -> tuple[int | None, bool]:
    """Earliest layer with fewer than n active units at ``x`` and whether its count (and
    every sign of the layers before) is certified; float counts when it is not."""
    n = x.size
    for k, a in enumerate(certified_counts(layers, x)):
        if a is None:
            break
        if a < n:
            return k + 1, True
    floats = [int(np.sum(p)) for p in pattern_at(layers, x)]
    return next((k + 1 for k, a in enumerate(floats) if a < n), None), False


def null_pair(
    layers: Sequence[Layer], x: np.ndarray, k: int, pattern: Sequence[np.ndarray]
) -> np.ndarray | None:
    """``y = x + t d`` with ``J_k d = 0``, ``t`` half the distance to the nearest region wall
    of layers ``1..k`` along ``d`` (and at most 1, for ``|x|_inf = 1``).

    The same construction as :func:`injcheck.deep.witness.null_step`, with the SVD taken
    on the ``a_k < n`` active rows of ``J_k`` only: at n = 250, widths 1250, the full
    ``m_k x n`` SVD took 5.5 s of a 5.7 s witness.
    """
    maps = affine_pieces(layers[:k], pattern)
    jac = maps[k - 1][0][np.asarray(pattern[k - 1], bool)]
    n = x.size
    if jac.shape[0] >= n:
        return None
    d = np.linalg.svd(jac)[2][-1] if jac.shape[0] else np.eye(n)[0]
    limit = 1.0
    for a_j, c_j in maps:
        pre, rate = a_j @ x + c_j, a_j @ d
        moving = np.abs(rate) > 1e-14 * (np.abs(a_j).max(initial=0.0) + 1e-300)
        if np.any(moving):
            limit = min(limit, float(np.min(np.abs(pre[moving]) / np.abs(rate[moving]))))
    return x + 0.5 * limit * d if limit > 0 else None


def local_witness(layers: Sequence[Layer], x: np.ndarray) -> tuple[WitnessCheck | None, int | None]:
    """A verified local collision from a candidate point: ``(check, failing layer)``, or
    ``(last check or None, None)``."""
    n = x.size
    lo, hi = -np.ones(n), np.ones(n)
    failing, certified = _first_failing(layers, x)
    if failing is None:
        return None, None
    if not certified:
        # Some sign is not certified: move to the region's largest-margin point.
        pattern = pattern_at(layers[:failing], x)
        inner = interior_point(layers[:failing], pattern, failing, lo, hi)
        if inner is None:
            return None, None
        x = inner[0]
        failing, certified = _first_failing(layers, x)
        if failing is None:
            return None, None
    x = x / np.abs(x).max()
    y = null_pair(layers, x, failing, pattern_at(layers[:failing], x))
    if y is None:
        return None, None
    check = _verify_local(layers, x, y)
    return check, failing if check.ok else None


def pair_witness(
    layers: Sequence[Layer], x: np.ndarray, y: np.ndarray, *, exact: bool = True
) -> WitnessCheck | None:
    """Polish a near-collision to an exact one and verify it; the last check or None.

    ``exact=False`` (measurements at sizes where the rational snap takes minutes) runs the
    float64 check only; such a check is never ``ok`` and never becomes a verdict.
    """
    scale = max(np.abs(x).max(), np.abs(y).max())
    x, y = x / scale, y / scale
    n = x.size
    lo, hi = -np.ones(n), np.ones(n)
    diff = x - y
    coord = int(np.argmax(np.abs(diff)))
    sign = 1.0 if diff[coord] >= 0 else -1.0
    px, py = pattern_at(layers, x), pattern_at(layers, y)
    first = first_meeting_layer(layers, x, y, rtol=1e-3)
    last = None
    for meet in dict.fromkeys([first, *range(1, len(layers) + 1)]):
        # Equal outputs at the meeting layer need equal patterns there: a unit active in
        # one copy only is near zero in it, so it is made inactive in both.
        shared = px[meet - 1] & py[meet - 1]
        qx = [*px[: meet - 1], shared, *px[meet:]]
        qy = [*py[: meet - 1], shared, *py[meet:]]
        pair = polish_pair(layers, qx, qy, meet, lo, hi, coord, sign)
        if pair is None:
            continue
        if exact:
            last = verify_witness(layers, *pair)
        else:
            ok, residual, separation = float_check(layers, *pair)
            last = WitnessCheck(ok, False, residual, separation, *pair, "exact check skipped")
        if last.ok or (not exact and last.float_ok):
            return last
    return last


def _validate(layers: Sequence[Layer], mode: str, box) -> None:
    if mode not in ("local", "global"):
        raise InvalidArgumentError(
            f"method='heuristic' checks modes local and global, not {mode!r}"
        )
    if box is not None or not is_homogeneous(layers):
        raise InvalidArgumentError(
            "method='heuristic' searches bias-free networks without an input box "
            "(the sphere stands for all inputs); use method='auto' on a box"
        )


def check_heuristic(
    layers: Sequence[Layer],
    *,
    mode: str,
    budget: Budget | None = None,
    box=None,
    settings: DeepSearchSettings | None = None,
) -> Verdict:
    """Heuristic witness search (module docstring): ``non-injective`` or ``unknown``.

    Parameters
    ----------
    layers : list of Layer
        A bias-free network.
    mode : {"local", "global"}
    budget : Budget, optional
    box : None
        Refused when given (the search works on the sphere).
    settings : DeepSearchSettings, optional
        Defaults from :func:`settings_for`.

    Returns
    -------
    Verdict
        ``stats["best_counts"]``: per-layer best certified active counts.
    """
    _validate(layers, mode, box)
    budget = budget or Budget.unlimited()
    arch = architecture(layers)
    settings = settings or settings_for(arch)
    start = time.perf_counter()
    share = budget.share(LOCAL_SHARE) if mode == "global" else budget
    found = search_local([layers], settings, time_limit=share.remaining())[0]
    stats = {"best_counts": found.best_counts, "local": found.stats, "truncated": found.truncated}
    check, layer = witness_from_search(layers, found)
    if layer is not None:
        return _witness(check, layer, mode, arch, stats, start, "local search")
    if mode == "global" and settings.pair_starts > 0 and not budget.expired():
        pair_check, tried = _try_pairs(layers, settings, budget, stats)
        if pair_check is not None and pair_check.ok:
            layer = first_meeting_layer(layers, pair_check.x, pair_check.y)
            return _witness(pair_check, layer, mode, arch, stats, start, "pair search")
        check = pair_check or check
        stats["pairs_polished"] = tried
    stats["search_time"] = time.perf_counter() - start
    n = arch[0]
    message = (
        f"no verified witness (best certified active counts per layer {found.best_counts}, "
        f"n = {n}); a failed search proves nothing"
    )
    if "pair_ratios" in stats:
        message += f"; best pair ratio |f(x)-f(y)|^2/|x-y|^2 = {stats['pair_ratios'][0]:.3g}"
    if check is not None and not check.ok:
        message += f"; last candidate failed verification: {check.reason}"
    return Verdict(
        "unknown",
        mode,
        "heuristic",
        arch,
        certificate={
            "best_counts": found.best_counts,
            "heuristic_count": heuristic_count(found.best_counts),
            "heuristic_truncated": found.truncated,
        },
        stats=stats,
        message=message,
        verification=None if check is None else check.to_dict(),
    )


def witness_from_search(
    layers: Sequence[Layer], found: LocalSearch
) -> tuple[WitnessCheck | None, int | None]:
    """The first verified local witness among the best ``MAX_LOCAL_TRIES`` candidates of a
    :class:`LocalSearch`: ``(check, failing layer)``, or ``(last check or None, None)``."""
    last = None
    for x in found.points[:MAX_LOCAL_TRIES]:
        # Cheap when x fails nowhere (float counts >= n): local_witness returns at once.
        check, layer = local_witness(layers, x)
        last = check or last
        if layer is not None:
            return check, layer
    return last, None


def _try_pairs(layers, settings, budget: Budget, stats: dict) -> tuple[WitnessCheck | None, int]:
    pairs = search_pairs([layers], settings, time_limit=budget.remaining())[0]
    stats["pair_ratios"] = pairs.ratios[:MAX_PAIR_TRIES]
    stats["pair"] = pairs.stats
    last, tried = None, 0
    for x, y in pairs.pairs:
        # Every kept pair is tried, whatever its ratio: the LP decides whether its two
        # regions hold a collision, and a near-miss in ratio may still be in the right ones.
        if tried >= MAX_PAIR_TRIES or budget.expired():
            break
        tried += 1
        last = pair_witness(layers, x, y) or last
        if last is not None and last.ok:
            return last, tried
    return last, tried


def _witness(check, layer, mode, arch, stats, start, found_by) -> Verdict:
    stats["search_time"] = time.perf_counter() - start
    return Verdict(
        "non-injective",
        mode,
        "heuristic",
        arch,
        witness={"x": check.x.tolist(), "y": check.y.tolist()},
        certificate={
            "best_counts": stats["best_counts"],
            "heuristic_count": heuristic_count(stats["best_counts"]),
            "heuristic_truncated": stats["truncated"],
            "found_by": found_by,
            # local: the first failing layer at the witness point, not proven the earliest
            # of the network; global: the first layer where h(x) and h(y) meet.
            "earliest_layer_proven": False,
        },
        layer=layer,
        solver_status="found",
        verification=check.to_dict(),
        stats=stats,
    )
