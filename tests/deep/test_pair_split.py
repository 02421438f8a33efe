"""Exact global proofs by pair splitting, checked against the brute force."""

import time

import numpy as np
import pytest

from injcheck.budget import Budget
from injcheck.deep.brute_force import analyse
from injcheck.deep.global_check import check_global, stuck_pair_witness
from injcheck.deep.pair_split import prove_by_pair_splitting, prove_layer_by_layer
from injcheck.networks import as_layers, forward, make_layers, random_relu_net


@pytest.mark.parametrize("search", [prove_by_pair_splitting, prove_layer_by_layer])
def test_proofs_agree_with_brute_force_on_random_tiny_nets(search):
    rng = np.random.default_rng(11)
    proven = injective = 0
    for _ in range(40):
        # Expansive enough that many are injective, small enough for the brute force.
        n, depth = int(rng.integers(1, 3)), int(rng.integers(1, 4))
        dims = [n] + [int(rng.integers(2 * n, 4 * n + 1)) for _ in range(depth)]
        weights = [rng.standard_normal((dims[k + 1], dims[k])) for k in range(depth)]
        biased = rng.random() < 0.4
        biases = [0.5 * rng.standard_normal(d) for d in dims[1:]] if biased else None
        layers = make_layers(weights, biases)
        if biased:
            centre = rng.uniform(-0.5, 0.5, n)
            lo, hi, box = centre - 0.7, centre + 0.7, (centre - 0.7, centre + 0.7)
        else:
            lo, hi, box = -np.ones(n), np.ones(n), None
        result = search(layers, lo, hi, not biased, budget=Budget.seconds(1.0))
        collides = analyse(layers, box=box, stop_at_first=True).global_collision
        injective += not collides
        proven += result.outcome == "proven"
        assert not (result.outcome == "proven" and collides), (dims, biased)
    assert proven >= 10 and injective >= proven


def test_layer_by_layer_stops_at_the_first_prefix_it_cannot_prove():
    # Layer 1 of the fold is injective (proven), the two layers are not.
    fold = make_layers([np.array([[1.0], [-1.0]]), np.array([[1.0, 1.0]])])
    result = prove_layer_by_layer(fold, -np.ones(1), np.ones(1), True)
    assert result.proven_layers == 1 and result.outcome == "stuck"
    assert result.cleared["cone"] > 0


def test_fold_gets_stuck_at_its_collision_and_yields_a_witness():
    fold = make_layers([np.array([[1.0], [-1.0]]), np.array([[1.0, 1.0]])])
    lo, hi = -np.ones(1), np.ones(1)
    result = prove_by_pair_splitting(fold, lo, hi, True)
    assert result.outcome == "stuck"
    check = stuck_pair_witness(fold, result.stuck_at, lo, hi, None)
    assert check is not None and check.ok
    assert abs(check.x[0] + check.y[0]) < 1e-12 and check.x[0] != 0
    assert np.array_equal(forward(fold, check.x), forward(fold, check.y))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_global_check_proves_small_random_nets_exactly(seed):
    layers = as_layers(random_relu_net(2, [12, 12], seed=seed))
    verdict = check_global(layers, time_limit=60)
    assert verdict.status == "injective" and verdict.method == "pair-split"
    assert verdict.certificate["exact"] is True and verdict.certificate["separation"] is None
    assert not analyse(layers).global_collision


def test_time_limit_is_respected():
    layers = as_layers(random_relu_net(4, [24, 24], seed=3))
    start = time.perf_counter()
    result = prove_by_pair_splitting(
        layers, -np.ones(4), np.ones(4), True, budget=Budget.seconds(1.0)
    )
    assert time.perf_counter() - start < 3.0
    assert result.outcome in ("time limit", "stuck", "proven")


def test_open_share_measures_what_is_left():
    # Proven: nothing left. Stopped early: the share falls as the search goes on (the
    # search is deterministic, so a longer run clears a superset of the same pairs).
    layers = as_layers(random_relu_net(2, [12, 12], seed=0))
    lo, hi = -np.ones(2), np.ones(2)
    assert prove_by_pair_splitting(layers, lo, hi, True).open_share == 0.0
    # Every root pair of the bias-free search is split at least once (outputs overlap).
    first = prove_by_pair_splitting(layers, lo, hi, True, max_pairs=1)
    assert first.outcome == "max domains" and first.open_share == pytest.approx(1.0)
    shares = [
        prove_by_pair_splitting(layers, lo, hi, True, max_pairs=k).open_share
        for k in (20, 60, 150, 250)
    ]
    assert 1.0 > shares[0] > shares[1] > shares[2] > shares[3] > 0.0
