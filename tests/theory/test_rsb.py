"""1RSB: the check point, the two energy expressions, quadrature independence."""

import math

import numpy as np
import pytest
from scipy import integrate

from injcheck.theory import rs, rsb


def test_check_point():
    p = rsb.solve_1rsb(6.71570)
    assert p.q == pytest.approx(0.777231, abs=2e-6)
    assert p.chi == pytest.approx(0.0533007, abs=3e-7)
    assert p.c == pytest.approx(3.286661, abs=1e-5)
    assert p.energy == pytest.approx(1.0, abs=2e-6)


def test_capacity_1rsb():
    p = rsb.capacity_1rsb()
    assert p.alpha == pytest.approx(6.71570, abs=1e-5)
    assert p.energy == pytest.approx(1.0, abs=1e-12)
    assert p.grad_norm < 1e-10


@pytest.mark.parametrize("alpha", [3.0, 5.0, 6.7157, 8.0, 10.0])
def test_two_energy_expressions_agree_at_stationary_point(alpha):
    p = rsb.ground_state_curve_1rsb([alpha])[0]
    assert p.grad_norm < 1e-9
    assert p.energy == pytest.approx(p.energy_count, abs=1e-10)


def test_two_expressions_differ_away_from_stationarity():
    p = rsb.solve_1rsb(6.0)
    theta = np.array([p.q, p.chi * 1.2, p.c])
    assert abs(rsb.energy_1rsb(theta, 6.0) - rsb.energy_1rsb_count(theta, 6.0)) > 1e-3


def test_stationary_point_is_a_local_maximum():
    p = rsb.solve_1rsb(6.0)
    h = rsb._hess(np.array([p.q, p.chi, p.c]), 6.0)
    assert np.all(np.linalg.eigvalsh(h) < 0)


def test_quadrature_independent_of_rule():
    p = rsb.capacity_1rsb()
    theta = np.array([p.q, p.chi, p.c])

    def integrand(x):
        _, _, n = rsb._parts(theta, np.array([x]))
        return math.exp(-x * x / 2) / math.sqrt(2 * math.pi) * math.log(n[0])

    e_log_n, _ = integrate.quad(integrand, -12, 12, epsabs=1e-14, limit=200)
    d = p.chi + p.c * (1 - p.q)
    f = -p.q / (2 * d) - math.log(d / p.chi) / (2 * p.c) - p.alpha / p.c * e_log_n
    assert f == pytest.approx(1.0, abs=1e-10)


def test_1rsb_above_rs_on_a_curve():
    alphas = np.linspace(2.5, 12, 12)
    pts = rsb.ground_state_curve_1rsb(alphas)
    e1 = np.array([p.energy for p in pts])
    ers = np.array([rs.ground_state_rs(a) for a in alphas])
    assert np.all(e1 > ers)
    assert np.all(np.diff(e1) > 0)
    assert max(abs(p.energy - p.energy_count) for p in pts) < 1e-9


@pytest.mark.parametrize("alpha", [2.2, 50.0])
def test_continuation_reaches_far_alphas(alpha):
    p = rsb.solve_1rsb(alpha)
    assert p.grad_norm < 1e-9
    assert p.energy == pytest.approx(p.energy_count, rel=1e-10)
    assert p.energy > rs.ground_state_rs(alpha)
