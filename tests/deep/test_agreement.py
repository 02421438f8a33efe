"""The MILP checks agree with the brute-force region enumeration on random tiny nets.

Random nets with n = 1..3, depth 1..3, widths 1..6, Gaussian or small-integer weights.
A disagreement between two decided verdicts is a bug; ``unknown`` is allowed (for
non-generic weights a boundary point may not yield a verified witness) but must be rare.
"""

import numpy as np
import pytest

from injcheck.deep import check_deep
from injcheck.deep.brute_force import analyse, pointwise_collision
from injcheck.networks import make_layers


def random_tiny_net(rng: np.random.Generator):
    n = int(rng.integers(1, 4))
    depth = int(rng.integers(1, 4))
    dims = [n] + [int(w) for w in rng.integers(1, 7, size=depth)]
    integer = rng.random() < 0.3
    weights = []
    for k in range(depth):
        shape = (dims[k + 1], dims[k])
        if integer:
            weights.append(rng.integers(-2, 3, size=shape).astype(float))
        else:
            weights.append(rng.standard_normal(shape))
    if any(not np.any(w) for w in weights):
        weights[0][0, 0] = 1.0
    return make_layers(weights)


def nets(seed: int, count: int):
    rng = np.random.default_rng(seed)
    return [random_tiny_net(rng) for _ in range(count)]


def tally(pairs):
    wrong = [(t, v) for t, v in pairs if v != "unknown" and v != t]
    unknown = sum(v == "unknown" for _, v in pairs)
    return wrong, unknown


@pytest.mark.slow
@pytest.mark.parametrize("seed", [11, 12])
def test_global_agrees_with_brute_force(seed):
    pairs = []
    for layers in nets(seed, 60):
        truth = (
            "non-injective" if analyse(layers, stop_at_first=True).global_collision else "injective"
        )
        pairs.append((truth, check_deep(layers, mode="global", time_limit=20).status))
    wrong, unknown = tally(pairs)
    assert not wrong
    assert unknown <= 4


@pytest.mark.slow
@pytest.mark.parametrize("seed", [21, 22])
def test_local_agrees_with_brute_force(seed):
    pairs, layers_ok = [], True
    for layers in nets(seed, 60):
        res = analyse(layers, stop_at_first=True)
        truth = "non-injective" if res.local_fail_layer else "injective"
        verdict = check_deep(layers, mode="local", time_limit=20)
        pairs.append((truth, verdict.status))
        if verdict.status == "non-injective" and truth == "non-injective":
            layers_ok &= verdict.layer == res.local_fail_layer
    wrong, unknown = tally(pairs)
    assert not wrong
    assert unknown <= 4
    assert layers_ok


@pytest.mark.slow
def test_pointwise_agrees_with_brute_force():
    rng = np.random.default_rng(31)
    pairs = []
    for layers in nets(32, 50):
        x0 = rng.standard_normal(layers[0].weight.shape[1])
        truth = "injective" if pointwise_collision(layers, x0) is None else "non-injective"
        pairs.append((truth, check_deep(layers, mode="pointwise", x0=x0, time_limit=20).status))
    wrong, unknown = tally(pairs)
    assert not wrong
    assert unknown <= 4


def test_generic_weights_rank_equals_count():
    # For Gaussian weights the first layer whose Jacobian loses rank is the first layer
    # with fewer than n active units (the local notion of the README).
    rng = np.random.default_rng(41)
    for _ in range(15):
        n = int(rng.integers(1, 4))
        dims = [n] + [int(w) for w in rng.integers(1, 6, size=2)]
        layers = make_layers([rng.standard_normal((dims[k + 1], dims[k])) for k in range(2)])
        res = analyse(layers)
        assert res.rank_fail_layer == res.local_fail_layer
