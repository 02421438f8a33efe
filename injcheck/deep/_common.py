"""Shared pieces of the three deep checks: input domain, time budget, verdicts."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..exceptions import InvalidArgumentError
from ..networks import Layer, architecture
from ..verdict import Verdict
from ..verify import WitnessCheck, verify_witness

#: Fraction of the time budget that bound tightening may use.
BOUND_TIME_SHARE = 0.3
#: Bounds violated by a sampled forward pass by more than this (relative) are wrong.
BOUND_SAMPLE_TOL = 1e-9


def has_bias(layers: Sequence[Layer]) -> bool:
    return any(layer.has_bias for layer in layers)


def input_domain(layers: Sequence[Layer], box) -> tuple[np.ndarray, np.ndarray, bool]:
    """``(lo, hi, homogeneous)``: the user's box, or ``[-1, 1]^n`` for bias-free nets.

    ``homogeneous`` is True when the unit box stands for all of R^n (bias-free, no box).
    """
    n = architecture(layers)[0]
    if box is not None:
        return np.asarray(box[0], float), np.asarray(box[1], float), False
    if has_bias(layers):
        raise InvalidArgumentError(
            "a network with biases is not homogeneous: pass input_box (a radius or (lo, hi)) "
            "to check it on a box"
        )
    return -np.ones(n), np.ones(n), True


@dataclass
class Budget:
    """Wall-clock budget of one check (``time_limit`` covers everything)."""

    start: float
    time_limit: float | None

    @classmethod
    def begin(cls, time_limit: float | None) -> Budget:
        return cls(time.perf_counter(), time_limit)

    @property
    def deadline(self) -> float | None:
        return None if self.time_limit is None else self.start + self.time_limit

    def bound_deadline(self) -> float | None:
        return None if self.time_limit is None else self.start + BOUND_TIME_SHARE * self.time_limit

    def remaining(self) -> float | None:
        if self.time_limit is None:
            return None
        return max(self.deadline - time.perf_counter(), 0.0)

    def expired(self) -> bool:
        rem = self.remaining()
        return rem is not None and rem <= 0.0

    def elapsed(self) -> float:
        return time.perf_counter() - self.start


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
