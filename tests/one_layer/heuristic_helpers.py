"""Checks shared by the heuristic tests: an independent rational count, and the witness
contract of a heuristic verdict (never ``injective``; a witness passes the exact verifier)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from fractions import Fraction

import numpy as np

from injcheck.networks import Layer
from injcheck.verify import verify_witness


def rational_count(weight: np.ndarray, x: np.ndarray) -> int:
    """Rows with ``<w_i, x> >= 0``, summed in rationals (independent of ``exact_signs``)."""
    x_q = [Fraction(float(v)) for v in x]
    return sum(sum(Fraction(float(a)) * b for a, b in zip(row, x_q)) >= 0 for row in weight)


def verified_witnesses(weights: Iterable[np.ndarray], decide: Callable, n: int) -> int:
    """``decide(weight)`` on each layer: assert the heuristic verdict contract and return
    how many layers got a witness."""
    found = 0
    for weight in weights:
        verdict = decide(weight)
        assert verdict.status in ("non-injective", "unknown")
        if verdict.status == "non-injective":
            found += 1
            x, y = verdict.witness_arrays()
            assert verify_witness([Layer(weight)], x, y).ok
            assert verdict.certificate["heuristic_count"] < n
    return found
