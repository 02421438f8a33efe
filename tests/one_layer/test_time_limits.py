"""A verdict rests on the strongest fact established, whatever else timed out (issue 12)."""

import time

import numpy as np
import pytest

import injcheck
from injcheck.one_layer import compiled, gordan, halfspace_depth
from injcheck.one_layer.gordan import SearchResult


def _count_searches_time_out_after(monkeypatch, decisions: int) -> None:
    """Let the first ``decisions`` Gordan searches run; every later one times out at once.

    This is a P* search squeezed to a deliberately tiny budget, without depending on how
    loaded the machine is.
    """
    calls = {"n": 0}

    def squeezed(real_run):
        def run(self):
            calls["n"] += 1
            if calls["n"] > decisions:
                return SearchResult("timeout", stats={"nodes": 0, "lps": 0}, message="time limit")
            return real_run(self)

        return run

    # Both engines of the search: the pure-Python one and the compiled core.
    for cls in (gordan.GordanSearch, compiled.CompiledSearch):
        monkeypatch.setattr(cls, "run", squeezed(cls.run))


@pytest.mark.parametrize("seed", range(6))
def test_a_proof_survives_a_p_star_time_out(monkeypatch, seed):
    net = injcheck.random_relu_net(4, [32], seed=seed)  # alpha = 8: injective w.h.p.
    plain = injcheck.check(net)
    _count_searches_time_out_after(monkeypatch, decisions=1)
    squeezed = injcheck.check(net, exact_value=True)
    assert squeezed.status == plain.status
    if plain.status == "injective":
        assert squeezed.certificate["p_star_lower"] >= 4
        assert "p_star" not in squeezed.certificate
        assert "P* not computed" in squeezed.message


def test_a_witness_survives_a_p_star_time_out(monkeypatch):
    net = injcheck.random_relu_net(5, [20], seed=1)  # non-injective (README example)
    # The greedy heuristic decides this layer without a search; every search times out.
    _count_searches_time_out_after(monkeypatch, decisions=0)
    verdict = injcheck.check(net, exact_value=True)
    assert verdict.status == "non-injective" and verdict.witness is not None
    assert verdict.certificate["p_star_upper"] <= 4


@pytest.mark.parametrize("seed", range(4))
def test_exact_value_agrees_with_the_decision_and_the_depth(seed):
    weight = np.random.default_rng(seed).standard_normal((18, 4))
    decision = injcheck.check(weight)
    valued = injcheck.check(weight, exact_value=True)
    assert valued.status == decision.status
    p_star = valued.certificate["p_star"]
    assert p_star == halfspace_depth(weight, method="brute")
    assert (p_star >= 4) == (decision.status == "injective")


def test_milp_dual_bound_proves_injectivity_at_a_time_out(monkeypatch):
    from injcheck.one_layer import milp

    real_solve = milp.solve_layer_milp

    def solve(problem, *, time_limit):
        result = real_solve(problem, time_limit=time_limit)
        # What a time-out after the bound passed n looks like: an incumbent, no optimality.
        result.outcome, result.raw_status = "feasible", "user_limit"
        return result

    monkeypatch.setattr(milp, "solve_layer_milp", solve)
    weight = np.random.default_rng(3).standard_normal((40, 4))
    verdict = injcheck.check(weight, method="milp", exact_value=True)
    assert verdict.status == "injective"
    assert verdict.certificate["p_star_lower"] >= 4


@pytest.mark.parametrize(
    "arch, method",
    [((4, 60), "brute"), ((3, 14, 14), "brute")],
)
def test_brute_force_honours_its_time_limit(arch, method):
    net = injcheck.random_relu_net(arch[0], list(arch[1:]), seed=0)
    start = time.perf_counter()
    verdict = injcheck.check(net, method=method, time_limit=0.5)
    assert time.perf_counter() - start < 5.0
    assert verdict.status == "unknown" and "time limit" in verdict.message
