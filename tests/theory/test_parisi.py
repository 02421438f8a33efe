"""k-RSB (Parisi recursion with FFT): consistency with 1RSB, exact identities, ordering."""

import numpy as np
import pytest

from injcheck.theory import parisi, rs, rsb


@pytest.fixture(scope="module")
def levels():
    return parisi.capacity_sequence(4)


def test_k1_reproduces_1rsb_functional_off_and_on_stationarity():
    for theta, alpha in [
        ([0.6, 0.2, 2.0], 4.0),
        ([0.9, 0.03, 6.0], 7.5),
        ([0.7772307, 0.0533008, 3.2866578], 6.7156968),
    ]:
        assert parisi.energy_krsb(theta, alpha, 1) == pytest.approx(
            rsb.energy_1rsb(np.array(theta), alpha), abs=1e-12
        )


def test_k1_capacity_equals_1rsb(levels):
    assert levels[0].alpha == pytest.approx(rsb.capacity_1rsb().alpha, abs=1e-9)


def test_split_interval_leaves_energy_unchanged(levels):
    # equal Parisi parameters on adjacent intervals compose: an exact identity of the
    # recursion that checks the FFT convolutions and the entropic term together
    p = levels[2]
    for i in range(1, p.k + 1):
        theta = parisi._split_interval(p, i)
        assert parisi.energy_krsb(theta, p.alpha, p.k + 1) == pytest.approx(1.0, abs=1e-11)


def test_counting_expression_agrees_at_stationary_points(levels):
    for p in levels:
        assert p.grad_norm < 1e-8
        assert p.energy == pytest.approx(1.0, abs=1e-10)
        assert p.energy_count == pytest.approx(1.0, abs=1e-8)
        assert p.is_ordered()


def test_capacities_ordered_and_converging(levels):
    a = [rs.capacity_rs()] + [p.alpha for p in levels]
    assert np.all(np.diff(a) < 0)  # rs > 1rsb > 2rsb > 3rsb > 4rsb
    frsb, err, _ = parisi.extrapolate_frsb([p.k for p in levels], [p.alpha for p in levels])
    assert frsb <= levels[-1].alpha
    assert frsb == pytest.approx(6.698, abs=1e-3)
    assert err < 1e-3
    d = -np.diff(a[1:])
    assert np.all(d[1:] < d[:-1])  # level-to-level changes shrink


def test_grid_convergence(levels):
    p = levels[-1]
    fine = parisi.energy_krsb(p.theta, p.alpha, p.k, parisi.Grid(L=12.0, dx=0.005))
    assert fine == pytest.approx(1.0, abs=1e-9)


def test_ground_state_levels_increase():
    ps = parisi.ground_state_sequence(5.0, 3)
    e = [p.energy for p in ps]
    assert e[0] == pytest.approx(rsb.ground_state_1rsb(5.0), abs=1e-10)
    assert np.all(np.diff(e) > 0)
    assert all(abs(p.energy - p.energy_count) < 1e-8 for p in ps)


def test_extrapolation_recovers_a_known_tail():
    ks = np.arange(1, 7)
    vals = 6.5 + 0.3 * ks**-3.2
    lim, err, p = parisi.extrapolate_frsb(ks, vals)
    assert lim == pytest.approx(6.5, abs=1e-10)
    assert p == pytest.approx(3.2, abs=1e-6)


def test_stationary_points_are_local_maxima(levels):
    # the maximiser relies on this; it must hold at every level we report
    for p in levels[1:3]:
        hess = parisi._derivs(p.theta, p.k, parisi.Grid(), p.alpha)[4]
        assert np.all(np.linalg.eigvalsh(hess) < 0)
