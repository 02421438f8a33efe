"""The single-box certificate (difference cone) and the box covers that make MILP proofs
exact."""

import numpy as np
import pytest
from deep_helpers import certifies

from injcheck.deep.brute_force import analyse, pointwise_collision
from injcheck.deep.certificates import DifferenceCone, OutputFloor
from injcheck.deep.domains import facets
from injcheck.deep.global_check import check_global
from injcheck.deep.near_diagonal import certify_cover, cover_near_diagonal
from injcheck.deep.pointwise_check import check_pointwise
from injcheck.networks import as_layers, forward, make_layers, random_relu_net


def _random_net(rng):
    n = int(rng.integers(1, 4))
    depth = int(rng.integers(1, 4))
    dims = [n] + [int(rng.integers(n, 3 * n + 3)) for _ in range(depth)]
    weights = [rng.standard_normal((dims[k + 1], dims[k])) for k in range(depth)]
    biases = None
    if rng.random() < 0.5:
        biases = [0.5 * rng.standard_normal(dims[k + 1]) for k in range(depth)]
    return make_layers(weights, biases), n


def test_certificate_agrees_with_brute_force_on_random_boxes():
    # Whenever the certificate claims injectivity on a box, the exact region enumeration
    # on that box must find no collision; and it must claim it often enough to matter.
    rng = np.random.default_rng(2024)
    certified = collisions = 0
    for _ in range(90):
        layers, n = _random_net(rng)
        centre, radius = rng.uniform(-1, 1, n), rng.uniform(0.02, 0.6, n)
        lo, hi = centre - radius, centre + radius
        claim = certifies(DifferenceCone(), layers, lo, hi)
        truth = analyse(layers, box=(lo, hi), stop_at_first=True).global_collision
        collisions += truth
        certified += claim
        assert not (claim and truth), (n, [layer.shape for layer in layers], lo, hi)
    assert certified >= 10 and collisions >= 10


def test_bottleneck_of_width_one_is_never_certified():
    # range(A) inside range(B): only rounding noise is left after the projection, which
    # must not count as rank (a regression: it once did, relative to its own scale).
    rng = np.random.default_rng(3)
    layers = make_layers(
        [rng.standard_normal((6, 2)), rng.standard_normal((1, 6)), rng.standard_normal((5, 1))]
    )
    for _ in range(30):
        centre, radius = rng.uniform(-1, 1, 2), rng.uniform(0.01, 1.0, 2)
        assert not certifies(DifferenceCone(), layers, centre - radius, centre + radius)


def test_fold_is_certified_away_from_the_crease_only():
    fold = make_layers([np.array([[1.0], [-1.0]]), np.array([[1.0, 1.0]])])
    assert certifies(DifferenceCone(), fold, np.array([0.5]), np.array([1.0]))
    assert not certifies(DifferenceCone(), fold, np.array([-0.5]), np.array([1.0]))


def test_cover_refuses_a_net_with_near_diagonal_collisions():
    # ReLU(x) on R^2: where x1 < 0 < x2 only one unit is active, points collide at any
    # distance, so no cover may claim the near-diagonal band.
    layers = make_layers([np.eye(2)])
    n = 2
    cover = cover_near_diagonal(layers, facets(n), 2e-4 * np.ones(n), (-np.ones(n), np.ones(n)))
    assert not cover.proven and cover.stuck_at is not None


def test_output_floor_certificate_is_sound_on_samples():
    rng = np.random.default_rng(5)
    for _ in range(40):
        layers, n = _random_net(rng)
        centre, radius = rng.uniform(-1, 1, n), rng.uniform(0.05, 0.5, n)
        lo, hi = centre - radius, centre + radius
        points = rng.uniform(lo, hi, size=(200, n))
        floor = float(np.abs(np.array([forward(layers, p) for p in points])).max(axis=1).min())
        # A floor above the sampled minimum of |f|_inf can never be certified.
        assert not certifies(OutputFloor(floor * 1.0001 + 1e-12), layers, lo, hi)


def test_output_floor_cover_on_facets():
    layers = as_layers(random_relu_net(3, [12], seed=1))
    assert certify_cover(layers, facets(3), OutputFloor(1e-3)).proven
    # No ReLU output exceeds a huge floor anywhere.
    assert not certify_cover(layers, facets(3), OutputFloor(1e6), min_width=0.25).proven


@pytest.mark.parametrize("seed", [1, 5])
def test_global_milp_proof_is_exact(seed):
    layers = as_layers(random_relu_net(2, [8, 8], seed=seed))
    verdict = check_global(layers, time_limit=60, pair_split=False)  # the MILP route
    assert verdict.status == "injective" and verdict.method == "milp"
    assert verdict.certificate["exact"] is True
    assert verdict.certificate["near_diagonal"]["proven"] is True
    assert not analyse(layers).global_collision


def test_pointwise_proof_is_exact_with_and_without_box():
    layers = as_layers(random_relu_net(3, [12, 12], seed=0))
    x0 = np.array([0.3, -1.2, 0.7])
    verdict = check_pointwise(layers, x0, time_limit=60)
    assert verdict.status == "injective"
    assert verdict.certificate["exact"] is True
    assert verdict.certificate["far_preimages"]["proven"] is True
    rng = np.random.default_rng(0)
    biased = make_layers(
        [rng.standard_normal((8, 2)), rng.standard_normal((6, 8))],
        [0.3 * rng.standard_normal(8), 0.3 * rng.standard_normal(6)],
    )
    box = (-np.ones(2), np.ones(2))
    verdict = check_pointwise(biased, np.array([0.2, -0.1]), box=box, time_limit=60)
    assert verdict.status == "injective" and verdict.certificate["exact"] is True
    assert pointwise_collision(biased, np.array([0.2, -0.1]), box=box) is None
    assert pointwise_collision(layers, x0) is None


@pytest.mark.parametrize("slope, injective", [(-0.5, True), (0.7, True), (-2.0, False)])
def test_single_switching_unit_is_decided_by_the_fold_criterion(slope, injective):
    # f(x) = slope * relu(x) + (x + 2) on [-1, 1]: slopes 1 (x < 0) and 1 + slope (x > 0).
    # It folds exactly when 1 + slope < 0, i.e. g.e = slope <= -1.
    layers = make_layers(
        [np.array([[1.0], [1.0]]), np.array([[slope, 1.0]])],
        [np.array([0.0, 2.0]), np.array([0.0])],
    )
    lo, hi = np.array([-1.0]), np.array([1.0])
    assert certifies(DifferenceCone(), layers, lo, hi) is injective
    assert analyse(layers, box=(lo, hi)).global_collision is not injective
