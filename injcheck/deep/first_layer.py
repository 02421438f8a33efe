"""Layer 1 of a bias-free network is one ReLU layer: decide it exactly and fast.

Used by the global and local checks when the network is bias-free and no input box is
given (the domain is then all of R^n, and layer 1 is exactly the one-layer question).

* **Local.** Layer 1 fails locally iff some open region has fewer than ``n`` strictly
  active units, i.e. iff the Gordan count search with budget ``|A| <= n - 1`` finds an
  open cone ``{W_T x < 0}`` with ``|T| >= m - n + 1`` (rows in ``A`` are free). Zero rows
  are never active, so they are dropped first (the count is over the other rows).
  ``exhausted`` proves that every open region has ``>= n`` active units, with no margin:
  the search decides open cones by Gordan certificates (THEORY.md section 2).
* **Global.** ``check_layer(W_1)`` decides the injectivity of ``x -> ReLU(W_1 x)``
  exactly (count criterion for generic ``W_1``, the rank form otherwise). A collision of
  layer 1 is a collision of the whole network (``h_1(x) = h_1(y)`` propagates); an
  injective layer 1 means no collision can meet at layer 1, and, since its active rows
  span R^n at every point, every open region has ``>= n`` active units there (the count
  cut of the deeper MILPs).

Every witness is re-verified on the whole network by :func:`injcheck.verify.verify_witness`.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import Enum

import numpy as np

from ..budget import Budget
from ..layers import Layer
from ..verify import WitnessCheck, verify_witness


class LayerOne(str, Enum):
    """What the one-layer search says of layer 1."""

    PROVEN = "proven"  # no failing region (local) / injective (global)
    VERIFIED = "verified"  # a verified collision of the whole network at layer 1
    UNDECIDED = "undecided"  # time-out, search trouble, or a witness that did not verify


def local_first_layer(
    layers: Sequence[Layer], budget: Budget
) -> tuple[LayerOne, WitnessCheck | None, dict]:
    """Does some open region have fewer than ``n`` active units in layer 1?

    Returns ``(outcome, check, stats)`` with outcome ``proven`` (no such region),
    ``verified`` (a verified local collision at layer 1), or ``undecided`` (time-out,
    search trouble or a witness that did not verify: the caller falls back to the MILP).
    """
    from ..one_layer.geometry import collision_from_cell_point
    from ..one_layer.gordan import GordanSearch

    weight = layers[0].weight
    n = weight.shape[1]
    rows = weight[np.any(weight != 0, axis=1)]
    stats: dict = {"method": "gordan-count"}
    if rows.shape[0] == 0:
        return LayerOne.UNDECIDED, None, stats
    search = GordanSearch(rows, budget="count", limit=n - 1, packing=True, deadline=budget.deadline)
    result = search.run()
    stats.update({k: result.stats.get(k) for k in ("nodes", "lps", "search_time")})
    stats["outcome"] = result.outcome
    if result.outcome == "exhausted":
        return LayerOne.PROVEN, None, stats
    if result.outcome != "found":
        return LayerOne.UNDECIDED, None, stats
    pair = collision_from_cell_point(rows, result.x)
    if pair is None:
        return LayerOne.UNDECIDED, None, stats
    check = verify_witness(layers, *pair)
    return (LayerOne.VERIFIED if check.ok else LayerOne.UNDECIDED), check, stats


def global_first_layer(
    layers: Sequence[Layer], budget: Budget
) -> tuple[LayerOne, WitnessCheck | None, dict]:
    """Is layer 1 (alone) injective? ``proven`` / ``verified`` (collision) / ``undecided``."""
    from ..one_layer import check_layer

    verdict = check_layer(layers[0].weight, method="gordan", time_limit=budget.solver_seconds())
    stats = {
        "method": "gordan",
        "status": verdict.status,
        "criterion": verdict.certificate.get("criterion"),
        **{k: verdict.stats.get(k) for k in ("nodes", "lps", "search_time")},
    }
    if verdict.status == "injective":
        return LayerOne.PROVEN, None, stats
    if verdict.status == "non-injective":
        x, y = verdict.witness_arrays()
        check = verify_witness(layers, x, y)
        return (LayerOne.VERIFIED if check.ok else LayerOne.UNDECIDED), check, stats
    return LayerOne.UNDECIDED, None, stats
