"""Plain RDT / Gordon / RS line, reference lines, and a direct Monte Carlo of Gordon."""

import math

import numpy as np
import pytest
from scipy import integrate, special

from injcheck.theory import rs


def test_I_matches_quadrature():
    for k in [0.0005, 0.3, 1.0, 2.5, 6.0]:
        ref, _ = integrate.quad(
            lambda z: z * z * math.exp(-z * z / 2) / math.sqrt(2 * math.pi), 0, k, epsabs=1e-15
        )
        assert rs.I_trunc(k) == pytest.approx(ref, rel=1e-10, abs=1e-16)


def test_capacity_rs_solves_both_equations():
    a = rs.capacity_rs()
    assert a == pytest.approx(7.6477, abs=1e-4)
    k = rs.kappa_rs(a)
    assert a * rs.I_trunc(k) == pytest.approx(1.0, abs=1e-12)
    assert rs.ground_state_rs(a) == pytest.approx(1.0, abs=1e-10)


def test_ground_state_rs_monotone_and_void_below_two():
    assert rs.ground_state_rs(1.5) == 0.0
    vals = [rs.ground_state_rs(a) for a in np.linspace(2.1, 12, 30)]
    assert np.all(np.diff(vals) > 0)


@pytest.mark.parametrize("alpha", [3.0, 5.0, 8.0])
def test_rs_matches_direct_monte_carlo_of_gordon(alpha):
    # Gordon's auxiliary problem sampled at large m, with no closed form involved.
    rng = np.random.default_rng(12345)
    est = rs.gordon_distance_mc(alpha, n=20000, rng=rng, reps=4)
    assert est == pytest.approx(rs.ground_state_rs(alpha), abs=0.01)


def test_monte_carlo_would_detect_a_wrong_line():
    rng = np.random.default_rng(1)
    est = rs.gordon_distance_mc(5.0, n=20000, rng=rng, reps=2)
    assert abs(est - 1.2 * rs.ground_state_rs(5.0)) > 0.05


def test_puthawala_witness_root():
    c = rs.puthawala_witness_alpha()
    assert c == pytest.approx(3.4028, abs=1e-4)
    assert c * special.ndtr(-1 / math.sqrt(c)) == pytest.approx(1.0, abs=1e-12)


def test_dat_point():
    a = rs.dat_alpha()
    assert a == pytest.approx(5.3238, abs=2e-3)
    # at the dAT point the RS solution at energy 1 is marginally AT-stable
    lo = rs.rs_finite_temperature(a - 0.3, 3.0)
    assert lo.q > 0


def test_finite_temperature_energy_decreases_with_beta():
    es = [rs.rs_finite_temperature(6.0, b).energy for b in [0.5, 1, 2, 4, 8]]
    assert np.all(np.diff(es) < 0)
