"""Deep plain-RDT program: the width map, its angular integrals, and a small Monte Carlo."""

import math

import numpy as np
import pytest

from injcheck.theory import deep, rs


def test_first_layer_is_the_one_layer_rs_threshold():
    assert deep.layer_expansion(1.0) == pytest.approx(rs.capacity_rs(), abs=1e-10)
    # smaller image width -> less width needed
    assert deep.layer_expansion(0.9) < deep.layer_expansion(1.0)


@pytest.mark.parametrize("p,s", [(0.58, 0.81), (0.2, 3.0), (1.5, 0.1)])
def test_polar_moments_match_sampled_per_coordinate_maximiser(p, s):
    # brute force: per sample, compare the two candidates r = 0 and the interior root
    rng = np.random.default_rng(7)
    g, h = rng.standard_normal((2, 2_000_000))
    r_int = np.maximum((g + 2 * s * h) / (p + 2 * s), 0.0)
    v_int = g * r_int - p * r_int**2 / 2 - s * (r_int - h) ** 2
    v_0 = -s * np.maximum(h, 0.0) ** 2
    use = (r_int > 0) & (v_int > v_0)
    r = np.where(use, r_int, 0.0)
    cost = np.where(use, (r - h) ** 2, np.maximum(h, 0.0) ** 2)
    er2, egr, ec, act = deep._moments(p, s)
    assert er2 == pytest.approx(np.mean(r**2), abs=4e-3)
    assert egr == pytest.approx(np.mean(g * r), abs=4e-3)
    assert ec == pytest.approx(np.mean(cost), abs=4e-3)
    assert act == pytest.approx(np.mean(use), abs=2e-3)


def test_width_map_limits_and_kkt():
    wm = deep.width_map(7.6477, 1.0)
    er2, egr, ec, _ = deep._moments(wm.p, wm.s)
    assert wm.p * er2 == pytest.approx(egr, rel=1e-10)
    assert 7.6477 * ec == pytest.approx(1.0, rel=1e-10)
    # very wide layer: the image of the sphere is nearly isometric, width -> 1
    assert deep.width_map(1e6, 1.0).omega_out == pytest.approx(1.0, abs=1e-4)
    # shrinking the ball shrinks the width
    assert deep.width_map(7.6477, 0.5).omega_out < wm.omega_out


def test_deep_table_shape():
    rows = deep.deep_expansion(5)
    need = [r.m_over_n for r in rows]
    om = [r.omega_out for r in rows]
    assert need[0] == pytest.approx(7.6477, abs=1e-4)
    assert np.all(np.diff(need) < 0) and np.all(np.diff(om) < 0)
    assert all(0.95 < r.expansion < 1.0 for r in rows[1:])


def test_width_monte_carlo_one_layer_small_n():
    # sup found by ascent is a lower estimate; at n = 60 it must land near the theory
    res = deep.width_monte_carlo([7.6477], n=60, seed=3, restarts=4, steps=150, samples=6)
    theory = deep.width_map(7.6477, 1.0).omega_out
    assert res["omega"] == pytest.approx(theory, abs=0.12)
    assert math.isfinite(res["stderr"])
