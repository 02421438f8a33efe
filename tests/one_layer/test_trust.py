"""A verdict is never a guess: solver lies and time-outs give 'unknown'."""

import numpy as np
import pytest

import injcheck.one_layer as one_layer
from injcheck.one_layer import check_layer
from injcheck.one_layer.gordan import CertificateLP
from injcheck.solvers import SolveResult


def hard_injective_layer():
    # Injective, and about 5 s of search for the compiled core (184k nodes); n = 10, m = 60
    # became a 0.05 s proof once the core gained the transversal bound.
    return np.random.default_rng(0).standard_normal((98, 14))


def test_time_limit_gives_unknown_not_a_verdict():
    for method in ("gordan", "milp"):
        verdict = check_layer(hard_injective_layer(), method=method, time_limit=0.05)
        assert verdict.status == "unknown"
        assert verdict.witness is None


def test_fake_milp_optimum_gives_unknown(monkeypatch):
    import injcheck.one_layer.milp as milp

    weight = np.random.default_rng(1).standard_normal((30, 3))  # injective (P* large)
    assert check_layer(weight, method="brute").status == "injective"

    def lying_solver(problem, *, time_limit):
        m, n = weight.shape
        z = np.zeros(m)
        return SolveResult("optimal", "optimal", 0.0, 0.0, {"x": np.ones(n), "z": z})

    monkeypatch.setattr(milp, "solve_layer_milp", lying_solver)
    verdict = check_layer(weight, method="milp")
    assert verdict.status == "unknown"


def test_fake_infeasible_certificate_lp_gives_unknown(monkeypatch):
    # The certificate LP claims "no certificate" (the cone is open) everywhere.
    # The Python reference search: the compiled core has its own LP and safe checks.
    monkeypatch.setattr(CertificateLP, "solve", lambda self, excluded, cost: None)
    weight = np.random.default_rng(1).standard_normal((30, 3))
    verdict = check_layer(weight, method="gordan-python")
    assert verdict.status == "unknown"


def test_fake_certificate_gives_unknown(monkeypatch):
    # The certificate LP returns weights that are not a certificate.
    def bogus(self, excluded, cost):
        lam = np.zeros(self.m)
        lam[np.flatnonzero(~excluded)[:2]] = 0.5
        return lam

    monkeypatch.setattr(CertificateLP, "solve", bogus)
    weight = np.random.default_rng(1).standard_normal((30, 3))
    assert check_layer(weight, method="gordan-python").status == "unknown"


def test_failed_witness_verification_gives_unknown(monkeypatch):
    weight = np.random.default_rng(2).standard_normal((6, 3))
    assert check_layer(weight, method="gordan").status == "non-injective"
    # A "pair" that is one point twice: every check must reject it.
    monkeypatch.setattr(one_layer, "collision_from_cell_point", lambda w, x: (x, x.copy()))
    verdict = check_layer(weight, method="gordan")
    assert verdict.status == "unknown"
    assert "verification" in verdict.message


@pytest.mark.parametrize("method", ["gordan", "milp", "brute"])
def test_witness_is_a_real_collision(method):
    from injcheck.networks import Layer, forward

    weight = np.random.default_rng(3).standard_normal((5, 3))
    verdict = check_layer(weight, method=method)
    assert verdict.status == "non-injective"
    x, y = verdict.witness_arrays()
    assert np.linalg.norm(x - y) > 1e-6 * np.linalg.norm(x)
    fx, fy = forward([Layer(weight)], x), forward([Layer(weight)], y)
    assert np.allclose(fx, fy, rtol=1e-9, atol=1e-12)


def test_thin_cell_near_degenerate_certificate():
    # A layer from a sweep where a warm-started LP once returned weights within its
    # tolerance that were no certificate (0 only 4e-8 from the hull): the search must
    # neither prune on it nor give up, and must agree with the MILP on P*.
    import injcheck

    weight = injcheck.random_relu_net(5, [40], seed=1973559033239526325)[0].weight.detach().numpy()
    gordan = check_layer(weight, method="gordan", exact_value=True)
    milp = check_layer(weight, method="milp", exact_value=True)
    assert gordan.status == milp.status != "unknown"
    assert gordan.certificate["p_star"] == milp.certificate["p_star"]
