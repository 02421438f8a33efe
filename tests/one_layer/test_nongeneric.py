"""Hand-made layers where the count criterion alone would be wrong."""

import numpy as np
import pytest
import torch

from injcheck.one_layer import check_layer, halfspace_depth

METHODS = ["gordan", "milp", "brute"]


def cases():
    eye2, eye3 = np.eye(2), np.eye(3)
    yield "signed basis", np.vstack([eye3, -eye3]), "injective"
    yield "duplicated basis", np.vstack([eye2, eye2, eye2]), "non-injective"
    yield "zero rows", np.vstack([np.zeros((3, 2)), eye2, -eye2]), "injective"
    yield "zero rows only", np.zeros((4, 2)), "non-injective"
    # All rows on one line: rank 1 < n, yet P* = 2 >= n by count.
    yield "collinear", np.array([[1.0, 0], [2.0, 0], [-1.0, 0], [-3.0, 0]]), "non-injective"
    # Opposite pairs only: each x has one of each pair non-negative, so they span.
    yield (
        "opposite pairs",
        np.array([[1.0, 2.0], [-1.0, -2.0], [3.0, -1.0], [-3.0, 1.0]]),
        "injective",
    )
    # Many rows in the plane z = 0 plus two off it: P* >= 3 but x = (0, 0, -1) sees
    # only plane rows and one more.
    plane = np.array([[np.cos(t), np.sin(t), 0.0] for t in np.linspace(0, 2 * np.pi, 9)[:-1]])
    yield "coplanar", np.vstack([plane, [[0.0, 0.0, 1.0], [0.3, 0.1, -1.0]]]), None
    rng = np.random.default_rng(7)
    yield "integer", rng.integers(-2, 3, size=(10, 3)).astype(float), None
    yield "integer wide", rng.integers(-1, 2, size=(16, 3)).astype(float), None
    yield (
        "scaled duplicates",
        np.vstack([rng.standard_normal((5, 3))] * 2) * np.r_[np.ones(5), 2 * np.ones(5)][:, None],
        None,
    )


CASES = list(cases())


@pytest.mark.parametrize("name,weight,expected", CASES, ids=[c[0] for c in CASES])
def test_methods_agree_with_brute_force(name, weight, expected):
    truth = check_layer(weight, method="brute").status
    if expected is not None:
        assert truth == expected
    for method in METHODS:
        verdict = check_layer(weight, method=method)
        assert verdict.status == truth, (name, method, verdict.summary())


def test_collinear_layer_is_caught_although_the_count_says_injective():
    weight = np.array([[1.0, 0], [2.0, 0], [-1.0, 0], [-3.0, 0]])
    assert halfspace_depth(weight) >= 2  # the count alone would call it injective
    for method in METHODS:
        assert check_layer(weight, method=method).status == "non-injective"


@pytest.mark.parametrize("seed", range(20))
def test_random_integer_layers(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 4))
    weight = rng.integers(-2, 3, size=(int(rng.integers(n, 5 * n)), n)).astype(float)
    truth = check_layer(weight, method="brute").status
    for method in ("gordan", "milp"):
        assert check_layer(weight, method=method).status == truth


@pytest.mark.parametrize("seed", range(5))
def test_trained_layer(seed):
    torch.manual_seed(seed)
    layer = torch.nn.Linear(3, 9, bias=False).double()
    opt = torch.optim.SGD(layer.parameters(), lr=0.1)
    data = torch.randn(64, 3, dtype=torch.float64)
    for _ in range(20):  # fit an autoencoder-ish target for a few steps
        opt.zero_grad()
        loss = ((torch.relu(layer(data)).sum(dim=1) - data.norm(dim=1)) ** 2).mean()
        loss.backward()
        opt.step()
    weight = layer.weight.detach().numpy()
    truth = check_layer(weight, method="brute").status
    assert check_layer(weight, method="gordan").status == truth
    assert check_layer(weight, method="milp").status == truth


def test_exact_certificates_on_small_injective_layers():
    from injcheck.one_layer.gordan import GordanSearch

    for seed in range(5):
        weight = np.random.default_rng(seed).standard_normal((24, 4))
        result = GordanSearch(weight, exact_certificates=True).run()
        assert result.outcome in ("exhausted", "found")
        assert result.outcome == GordanSearch(weight).run().outcome


def test_cell_point_on_a_hyperplane_still_gives_a_verified_witness():
    # Integer rows: the search's cell point x = (-1, 0, 0) lies on the hyperplane of row
    # 3 (pre-activation exactly 0). The witness direction must keep that row off, and the
    # pair must sit strictly inside one cell, or the exact check rejects it (this layer
    # used to come out unknown from both gordan and milp).
    weight = np.array(
        [
            [1.0, 0.0, -1.0],
            [1.0, 0.0, 0.0],
            [0.0, -2.0, 2.0],
            [-1.0, 2.0, -1.0],
            [2.0, -2.0, 1.0],
            [1.0, 1.0, -2.0],
            [1.0, -1.0, 1.0],
            [2.0, -2.0, -1.0],
        ]
    )
    assert check_layer(weight, method="brute").certificate["p_star"] == 1
    for method in ("gordan", "milp"):
        verdict = check_layer(weight, method=method, exact_value=True)
        assert verdict.status == "non-injective", method
        assert verdict.verification["exact_ok"] and verdict.certificate["p_star"] == 1
