"""The bounds module: every method sound, tighter methods tighter, batches = single boxes."""

from __future__ import annotations

import numpy as np
import pytest

from injcheck.deep.bounds import METHODS, compute_bounds, sampled_violation
from injcheck.layers import Layer, pre_activations


def _net(seed: int, biased: bool) -> list[Layer]:
    rng = np.random.default_rng(seed)
    widths = [4, 12, 10, 8]
    return [
        Layer(rng.standard_normal((m, k)), rng.standard_normal(m) if biased else None)
        for k, m in zip(widths[:-1], widths[1:], strict=True)
    ]


def _boxes(rng, count: int, n: int = 4):
    centre, radius = rng.uniform(-1, 1, (count, n)), rng.uniform(0.01, 0.6, (count, n))
    return centre - radius, centre + radius


@pytest.mark.parametrize("biased", [False, True])
@pytest.mark.parametrize("method", METHODS)
def test_every_method_is_sound_on_random_boxes(method, biased):
    rng = np.random.default_rng(1)
    layers = _net(2, biased)
    for lo, hi in zip(*_boxes(rng, 6), strict=True):
        bounds = compute_bounds(layers, lo, hi, method=method)
        points = np.vstack([lo + (hi - lo) * rng.random((3000, 4)), lo, hi])
        for (low, up), pre in zip(bounds, pre_activations(layers, points), strict=True):
            # Interval and LP bounds are not widened for rounding: box corners may meet
            # them to within an ulp (the MILP's tolerances are far larger).
            ulps = 1e-12 * (1.0 + np.maximum(np.abs(low), np.abs(up)))
            assert np.all(pre >= low - ulps) and np.all(pre <= up + ulps)
        assert sampled_violation(layers, bounds) <= 1e-9  # the checks' own tolerance


def test_tighter_methods_are_tighter():
    rng = np.random.default_rng(3)
    layers = _net(4, True)
    for lo, hi in zip(*_boxes(rng, 5), strict=True):
        found = {m: compute_bounds(layers, lo, hi, method=m) for m in METHODS}
        for k in range(len(layers)):
            # CROWN is met with the symbolic bounds; the LP only tightens the intervals.
            assert np.all(found["crown"].lower[k] >= found["symbolic"].lower[k])
            assert np.all(found["crown"].upper[k] <= found["symbolic"].upper[k])
            assert np.all(found["lp"].lower[k] >= found["interval"].lower[k])
            assert np.all(found["lp"].upper[k] <= found["interval"].upper[k])
        # Layer 1 is exact on a box for every method.
        for m in METHODS:
            np.testing.assert_allclose(found[m].lower[0], found["interval"].lower[0], atol=1e-9)


@pytest.mark.parametrize("method", ["interval", "symbolic", "crown"])
def test_a_batch_gives_the_bounds_of_each_box(method):
    rng = np.random.default_rng(5)
    layers = _net(3, True)
    lo, hi = _boxes(rng, 8)
    many = compute_bounds(layers, lo, hi, method=method, upto=2)
    assert len(many) == 2
    for b in range(8):
        one = compute_bounds(layers, lo[b], hi[b], method=method, upto=2)
        item = many.item(b)
        for k in range(2):
            np.testing.assert_allclose(one.lower[k], item.lower[k], rtol=1e-12, atol=1e-12)
            np.testing.assert_allclose(one.upper[k], item.upper[k], rtol=1e-12, atol=1e-12)


def test_unknown_method_is_refused():
    with pytest.raises(ValueError, match="bound method"):
        compute_bounds(_net(0, False), -np.ones(4), np.ones(4), method="alpha")
