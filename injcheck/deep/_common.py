"""Shared pieces of the three deep checks: input domain, witnesses, verdicts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..budget import Budget
from ..exceptions import InvalidArgumentError
from ..layers import Layer, architecture, is_homogeneous
from ..verdict import Verdict
from ..verify import WitnessCheck, verify_witness


@dataclass
class DeepRun:
    """What every deep pipeline carries: the network, its input domain, the budget.

    ``homogeneous``: bias-free with no box, the unit cube standing for R^n.
    """

    layers: Sequence[Layer]
    lo: np.ndarray
    hi: np.ndarray
    homogeneous: bool
    box: object
    budget: Budget
    threads: int


#: Fraction of the time budget that bound tightening may use.
BOUND_TIME_SHARE = 0.3
#: Bounds violated by a sampled forward pass by more than this (relative) are wrong.
BOUND_SAMPLE_TOL = 1e-9


def input_domain(layers: Sequence[Layer], box) -> tuple[np.ndarray, np.ndarray, bool]:
    """``(lo, hi, homogeneous)``: the user's box, or ``[-1, 1]^n`` for bias-free nets.

    ``homogeneous`` is True when the unit box stands for all of R^n (bias-free, no box).
    """
    n = architecture(layers)[0]
    if box is not None:
        return np.asarray(box[0], float), np.asarray(box[1], float), False
    if not is_homogeneous(layers):
        raise InvalidArgumentError(
            "a network with biases is not homogeneous: pass input_box (a radius or (lo, hi)) "
            "to check it on a box"
        )
    return -np.ones(n), np.ones(n), True


def try_witnesses(
    layers: Sequence[Layer],
    candidates: Sequence[tuple[np.ndarray, np.ndarray]],
    *,
    fix_x: bool = False,
    box=None,
) -> WitnessCheck | None:
    """Verify candidates in order; the first that passes both checks, else the last check."""
    last = None
    for x, y in candidates:
        check = verify_witness(layers, x, y, fix_x=fix_x, box=box)
        if check.ok:
            return check
        last = check
    return last


def verdict_from_check(
    check: WitnessCheck | None,
    *,
    mode: str,
    layers: Sequence[Layer],
    layer: int | None,
    base: dict,
    fail_message: str,
) -> Verdict:
    """``non-injective`` when the witness passed both checks, ``unknown`` otherwise."""
    arch = architecture(layers)
    if check is not None and check.ok:
        return Verdict(
            "non-injective",
            mode,
            "milp",
            arch,
            witness={"x": check.x.tolist(), "y": check.y.tolist()},
            layer=layer,
            verification=check.to_dict(),
            **base,
        )
    reason = check.reason if check is not None else "no candidate pair"
    base = dict(base)
    base["message"] = f"{fail_message}: {reason}".strip()
    return Verdict(
        "unknown",
        mode,
        "milp",
        arch,
        verification=None if check is None else check.to_dict(),
        **base,
    )


def invalid_bounds(layers: Sequence[Layer], bounds, mode: str, base: dict) -> Verdict | None:
    """``unknown`` when sampled inputs violate the bounds (no proof may use them), else None.

    ``base``: the verdict's ``stats`` and ``certificate``.
    """
    from .bounds import sampled_violation

    violation = sampled_violation(layers, bounds)
    if violation <= BOUND_SAMPLE_TOL:
        return None
    return Verdict(
        "unknown",
        mode,
        "milp",
        architecture(layers),
        message=f"bound tightening produced an invalid bound (violated by {violation:.2g})",
        **base,
    )


def bound_stats(bounds) -> dict:
    """The counters of a bounds computation that every deep verdict reports."""
    return {
        "undecided_per_layer": bounds.undecided_per_layer(),
        "bound_seconds": bounds.seconds,
        "lp_solves": bounds.lp_solves,
        "lp_failures": bounds.lp_failures,
    }
