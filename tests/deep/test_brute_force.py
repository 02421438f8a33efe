"""The brute-force reference on hand-made networks with known answers."""

import numpy as np
import pytest

from injcheck.deep.brute_force import analyse, check_brute, enumerate_regions
from injcheck.networks import make_layers


def fold():
    return make_layers([np.array([[1.0], [-1.0]]), np.array([[1.0, 1.0]])])


def test_fold_is_locally_injective_and_globally_not():
    res = analyse(fold())
    assert len(res.regions) == 2
    assert res.local_fail_layer is None and res.rank_fail_layer is None
    assert res.global_collision
    assert check_brute(fold(), mode="local").status == "injective"
    verdict = check_brute(fold(), mode="global")
    assert verdict.status == "non-injective"
    x, y = verdict.witness_arrays()
    assert np.isclose(x[0], -y[0]) and x[0] != 0


def test_identity_like_layer_is_injective():
    layers = make_layers([np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [0.0, -1.0]])])
    res = analyse(layers)
    assert len(res.regions) == 4
    assert not res.global_collision and res.local_fail_layer is None


def test_too_narrow_layer_fails_locally_at_that_layer():
    rng = np.random.default_rng(0)
    layers = make_layers([rng.standard_normal((8, 2)), rng.standard_normal((1, 8))])
    res = analyse(layers)
    assert res.local_fail_layer in (1, 2)
    verdict = check_brute(layers, mode="local")
    assert verdict.status == "non-injective" and verdict.verification["exact_ok"]


def test_identically_zero_unit_counts_as_inactive():
    # Layer 2 unit 1 computes relu(x) - relu(x) = 0 on x > 0.
    layers = make_layers(
        [np.array([[1.0], [1.0], [-1.0]]), np.array([[1.0, -1.0, 0.0], [0.0, 0.0, 1.0]])]
    )
    regions, _ = enumerate_regions(layers)
    assert len(regions) == 2
    res = analyse(layers)
    assert res.local_fail_layer == 2 and res.global_collision


def test_biases_need_a_box():
    layers = make_layers([np.array([[1.0], [-1.0]])], [np.array([0.5, 0.5])])
    with pytest.raises(ValueError):
        analyse(layers)
    box = (np.array([-1.0]), np.array([1.0]))
    # relu(x + .5), relu(-x + .5): both units active on (-.5, .5) -> injective on the box.
    assert not analyse(layers, box).global_collision


def test_pointwise_fold():
    assert check_brute(fold(), mode="pointwise", x0=np.array([2.0])).status == "non-injective"
    identity = make_layers([np.array([[1.0], [-1.0]])])
    assert check_brute(identity, mode="pointwise", x0=np.array([2.0])).status == "injective"
