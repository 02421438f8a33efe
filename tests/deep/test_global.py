"""Global MILP: the fold, hand-made cases, the binary count and a lying solver."""

import numpy as np
import pytest

from injcheck.deep import check_deep, global_check
from injcheck.deep.bounds import compute_bounds
from injcheck.deep.global_check import build_global
from injcheck.networks import as_layers, make_layers, random_relu_net
from injcheck.solvers import SolveResult


def fold():
    return make_layers([np.array([[1.0], [-1.0]]), np.array([[1.0, 1.0]])])


def test_fold_is_globally_non_injective_with_verified_witness():
    verdict = check_deep(fold(), mode="global")
    assert verdict.status == "non-injective"
    assert verdict.verification["float_ok"] and verdict.verification["exact_ok"]
    x, y = verdict.witness_arrays()
    assert np.isclose(x[0], -y[0]) and x[0] != 0
    assert verdict.layer == 2


def test_injective_two_layer_net():
    # [I; -I] twice is injective: h_1 = (x+, x-) and layer 2 again splits signs.
    w1 = np.vstack([np.eye(2), -np.eye(2)])
    w2 = np.vstack([np.eye(4), -np.eye(4)])
    verdict = check_deep(make_layers([w1, w2]), mode="global")
    assert verdict.status == "injective"
    assert verdict.certificate["milp"] == "infeasible"


def test_zero_output_collision():
    # Layer 2 is all off on the region x < 0: f(x) = f(2x) = 0 there.
    layers = make_layers([np.array([[1.0], [-1.0]]), np.array([[1.0, -1.0]])])
    verdict = check_deep(layers, mode="global")
    assert verdict.status == "non-injective"


def test_binaries_equal_undecided_units():
    layers = as_layers(random_relu_net(3, [8, 6], seed=1))
    bounds = compute_bounds(layers, -np.ones(3), np.ones(3))
    prob = build_global(layers, bounds)
    undecided = sum(bounds.undecided_per_layer())
    assert prob.n_binaries == 2 * undecided
    booleans = sum(v.size for v in prob.problem.variables() if v.attributes["boolean"])
    assert booleans == 2 * undecided + 3  # plus the separation choice


def test_lying_solver_gives_unknown(monkeypatch):
    layers = as_layers(random_relu_net(2, [12, 12], seed=3))

    def fake_solve(problem, **kwargs):
        values = {v.name(): np.zeros(v.shape) for v in problem.variables()}
        values["x"] = np.array([0.3, -0.2])
        values["y"] = np.array([-0.7, 0.5])
        return SolveResult("optimal", "optimal", objective=0.5, values=values)

    monkeypatch.setattr(global_check, "solve_highs", fake_solve)
    # Pair splitting proves this net on its own; switch it off to reach the MILP.
    verdict = global_check.check_global(layers, pair_split=False)
    assert verdict.status == "unknown"
    assert verdict.witness is None


def test_time_out_is_unknown(monkeypatch):
    monkeypatch.setattr(
        global_check, "solve_highs", lambda problem, **kw: SolveResult("unknown", "user_limit")
    )
    # Pair splitting alone finds the fold's witness; switch it off to reach the MILP.
    verdict = global_check.check_global(fold(), time_limit=1.0, pair_split=False)
    assert verdict.status == "unknown"


def test_biased_net_on_box():
    # relu(x + 1/2), relu(-x + 1/2): injective on [-1, 1]; composing with [1, 1] folds.
    w1, b1 = np.array([[1.0], [-1.0]]), np.array([0.5, 0.5])
    box = (np.array([-1.0]), np.array([1.0]))
    assert check_deep(make_layers([w1], [b1]), mode="global", box=box).status == "injective"
    folded = make_layers([w1, np.array([[1.0, 1.0]])], [b1, np.array([0.0])])
    verdict = check_deep(folded, mode="global", box=box)
    assert verdict.status == "non-injective"
    x, y = verdict.witness_arrays()
    assert np.all(np.abs(x) <= 1) and np.all(np.abs(y) <= 1)


def test_biases_without_box_is_an_error():
    layers = make_layers([np.array([[1.0], [-1.0]])], [np.array([0.5, 0.5])])
    with pytest.raises(ValueError, match="input_box"):
        check_deep(layers, mode="global")
