"""Local and pointwise MILP checks on hand-made networks."""

import numpy as np

from injcheck.deep import check_deep
from injcheck.deep.local_check import check_local
from injcheck.networks import make_layers


def fold():
    return make_layers([np.array([[1.0], [-1.0]]), np.array([[1.0, 1.0]])])


def test_fold_is_locally_injective():
    verdict = check_deep(fold(), mode="local")
    assert verdict.status == "injective"
    # layer 1 by the one-layer Gordan search, layer 2 by input splitting: no MILP margin
    assert verdict.certificate["exact"] is True
    assert set(verdict.certificate["proof_by_layer"]) == {"1", "2"}
    plain = check_local(fold(), exact_first_layer=False, facets=False)
    assert plain.status == "injective"
    assert plain.certificate["milp"] == "infeasible" and plain.certificate["exact"] is False


def test_narrow_second_layer_fails_locally_at_layer_two():
    w1 = np.vstack([np.eye(2), -np.eye(2)])
    verdict = check_deep(make_layers([w1, np.array([[1.0, 0.0, 0.0, 0.0]])]), mode="local")
    assert verdict.status == "non-injective"
    assert verdict.layer == 2
    assert verdict.verification["exact_ok"] and verdict.verification["float_ok"]
    x, y = verdict.witness_arrays()
    assert not np.allclose(x, y)


def test_local_with_biases_on_box():
    # relu(x - 2) is 0 on all of [-1, 1]: locally non-injective on that box.
    layers = make_layers([np.array([[1.0], [-1.0]])], [np.array([-2.0, 0.5])])
    box = (np.array([-1.0]), np.array([1.0]))
    verdict = check_deep(layers, mode="local", box=box)
    assert verdict.status == "non-injective"
    x, y = verdict.witness_arrays()
    assert np.all(np.abs(np.concatenate([x, y])) <= 1)


def test_pointwise_fold_and_identity():
    verdict = check_deep(fold(), mode="pointwise", x0=np.array([2.0]))
    assert verdict.status == "non-injective"
    x, y = verdict.witness_arrays()
    assert x[0] == 2.0 and np.isclose(y[0], -2.0)
    split = make_layers([np.array([[1.0], [-1.0]])])
    assert check_deep(split, mode="pointwise", x0=np.array([2.0])).status == "injective"


def test_pointwise_on_boundary_is_reported():
    verdict = check_deep(fold(), mode="pointwise", x0=np.array([0.0]))
    # f(0) = 0 has no other preimage; x0 = 0 sits on every hyperplane.
    assert verdict.status == "injective"


def test_pointwise_x0_in_dead_region():
    # x0 = (-1, -1) maps to 0, as does every point of the negative quadrant.
    layers = make_layers([np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])])
    verdict = check_deep(layers, mode="pointwise", x0=np.array([-1.0, -1.0]))
    assert verdict.status == "non-injective"
    assert verdict.witness["x"] == [-1.0, -1.0]
