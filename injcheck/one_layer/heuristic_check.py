"""Verdicts of the heuristic witness search for one layer, and the size rule of ``auto``.

``method="heuristic"`` runs :func:`injcheck.one_layer.heuristic.search_layer`; a cell
with fewer than ``n`` non-negative rows becomes ``non-injective`` after independent
verification, anything else is ``unknown`` (a failed search proves nothing). The best
count is reported as ``certificate["heuristic_count"]``, an upper bound on ``P*`` kept
apart from the exact ``p_star`` keys.

``method="auto"`` (the size rule, see :func:`auto_plan`):

* ``n <= AUTO_HEURISTIC_MIN_N``: the exact Gordan search alone (it starts with its own
  greedy witness search), as before;
* ``AUTO_HEURISTIC_MIN_N < n <= AUTO_EXACT_MAX_N``: the heuristic first, then the exact
  search with the remaining time if no witness was found;
* ``n > AUTO_EXACT_MAX_N``: the heuristic only; no witness means ``unknown``. Exact
  proofs take over a minute at ``n = 12`` (README benchmark) and grow ~17-fold per
  ``+2`` in ``n``; ``method="gordan"`` still tries at any size.
"""

from __future__ import annotations

import time

import numpy as np

from ..networks import Layer
from ..verdict import Verdict
from ..verify import verify_cell_witness, verify_witness
from .geometry import collision_from_cell_point
from .heuristic import SearchSettings, search_layer, settings_for

#: Up to this n, ``auto`` is the exact search alone.
AUTO_HEURISTIC_MIN_N = 10
#: Above this n, ``auto`` does not start the exact search.
AUTO_EXACT_MAX_N = 16
#: Up to this n a heuristic witness is also snapped to an exact rational collision
#: (:func:`injcheck.verify.verify_witness`, measured 0.4 s at n = 20 and 3.6 s at
#: n = 40); above it the exact part is the certified cell signs (:func:`verify_cell_witness`).
RATIONAL_MAX_N = 24


def auto_plan(n: int) -> tuple[bool, bool]:
    """``(run the heuristic first, run the exact search)`` for ``method="auto"``."""
    return n > AUTO_HEURISTIC_MIN_N, n <= AUTO_EXACT_MAX_N


def verify_cell(weight: np.ndarray, x: np.ndarray):
    """Build the collision of a cell point and verify it; None if no pair could be built."""
    pair = collision_from_cell_point(weight, x)
    if pair is None:
        return None
    if weight.shape[1] <= RATIONAL_MAX_N:
        return verify_witness([Layer(weight)], *pair)
    return verify_cell_witness(weight, *pair)


def decide_heuristic(
    weight: np.ndarray,
    *,
    time_limit: float | None = None,
    settings: SearchSettings | None = None,
) -> Verdict:
    """Witness search for ``x -> ReLU(W x)``: ``non-injective`` (verified) or ``unknown``.

    Parameters
    ----------
    weight : numpy.ndarray
        Validated float64 ``W`` of shape ``(m, n)``.
    time_limit : float, optional
        Seconds for the search.
    settings : SearchSettings, optional
        Defaults from :func:`injcheck.one_layer.heuristic.settings_for`.

    Returns
    -------
    Verdict
    """
    m, n = weight.shape
    start = time.perf_counter()
    settings = settings or settings_for(n, m)
    found = search_layer(weight, settings, time_limit=time_limit)
    cert = {
        "n": n,
        "m": m,
        "heuristic_count": found.count,
        "descent_count": found.descent_count,
        "heuristic_truncated": found.truncated,
    }
    stats = dict(found.stats, search_time=time.perf_counter() - start)
    common = {"mode": "global", "method": "heuristic", "architecture": [n, m]}
    if found.count >= n or not found.open_cell:
        message = (
            f"no witness found: the best cell has {found.count} >= n = {n} non-negative rows "
            "(a failed search proves nothing)"
        )
        if found.truncated:
            message += "; the time limit cut the search short"
        return Verdict(status="unknown", certificate=cert, stats=stats, message=message, **common)
    check = verify_cell(weight, found.x)
    if check is None or not check.ok:
        reason = "no collision could be built" if check is None else check.reason
        return Verdict(
            status="unknown",
            certificate=cert,
            stats=stats,
            verification=None if check is None else check.to_dict(),
            message=f"witness failed verification: {reason}",
            **common,
        )
    cert["active_rows_at_x"] = int(np.sum(weight @ check.x > 0))
    return Verdict(
        status="non-injective",
        certificate=cert,
        stats=stats,
        solver_status="found",
        verification=check.to_dict(),
        witness={"x": check.x.tolist(), "y": check.y.tolist()},
        **common,
    )


def auto_heuristic(weight: np.ndarray, time_limit: float | None) -> Verdict | None:
    """The heuristic part of ``method="auto"``: a verdict to return, or None to go exact.

    The search gets at most half of the time limit, leaving the rest to the exact search.
    """
    n = weight.shape[1]
    heuristic_first, exact = auto_plan(n)
    if not heuristic_first:
        return None
    share = None if time_limit is None or not exact else 0.5 * time_limit
    verdict = decide_heuristic(weight, time_limit=share)
    if verdict.status == "non-injective":
        return verdict
    if exact:
        return None
    verdict.message += (
        f"; the exact search is not started at n > {AUTO_EXACT_MAX_N} (method='gordan' tries)"
    )
    return verdict
