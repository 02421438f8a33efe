"""The exact layer-1 shortcut (one-layer Gordan search) and the facet-by-facet local MILP."""

import numpy as np
import pytest

from injcheck.budget import Budget
from injcheck.deep import check_deep
from injcheck.deep.domains import facet_boxes
from injcheck.deep.first_layer import global_first_layer, local_first_layer
from injcheck.deep.global_check import check_global
from injcheck.deep.local_check import check_local
from injcheck.networks import as_layers, make_layers, random_relu_net
from injcheck.one_layer import check_layer


def test_facets_cover_the_sphere():
    boxes = list(facet_boxes(3))
    assert len(boxes) == 6
    for j, s, lo, hi in boxes:
        assert lo[j] == hi[j] == s
        others = [i for i in range(3) if i != j]
        assert np.all(lo[others] == -1) and np.all(hi[others] == 1)
    # every point of |x|_inf = 1 lies on one of them
    rng = np.random.default_rng(0)
    for _ in range(50):
        x = rng.standard_normal(3)
        x /= np.abs(x).max()
        assert any(np.all(x >= lo - 1e-15) and np.all(x <= hi + 1e-15) for _, _, lo, hi in boxes)


def test_narrow_first_layer_fails_at_layer_one_exactly():
    # n = 4 with 6 rows in layer 1 is far below the one-layer transition.
    layers = as_layers(random_relu_net(4, [6, 40], seed=0))
    assert check_layer(layers[0].weight).status == "non-injective"
    for mode in ("local", "global"):
        verdict = check_deep(layers, mode=mode, time_limit=30)
        assert verdict.status == "non-injective"
        assert verdict.layer == 1
        assert verdict.method == "gordan"
        assert verdict.verification["exact_ok"] and verdict.verification["float_ok"]


def test_zero_rows_are_never_active():
    # Rows 0 and 1 are zero: layer 1 has 2 nonzero rows in R^2 -> the open cell where both
    # are negative has 0 active units.
    w1 = np.array([[0.0, 0.0], [0.0, 0.0], [1.0, 0.5], [0.3, 1.0]])
    layers = make_layers([w1, np.eye(4)])
    outcome, check, _ = local_first_layer(layers, Budget.unlimited())
    assert outcome == "verified" and check.ok
    assert check_deep(layers, mode="local").layer == 1


def test_injective_first_layer_is_proven_without_milp():
    layers = as_layers(random_relu_net(3, [24], seed=1))
    assert check_layer(layers[0].weight).status == "injective"
    assert local_first_layer(layers, Budget.unlimited())[0] == "proven"
    assert global_first_layer(layers, Budget.unlimited())[0] == "proven"
    verdict = check_deep(layers, mode="global")
    assert verdict.status == "injective" and verdict.method == "gordan"
    assert verdict.certificate["exact"] is True
    verdict = check_deep(layers, mode="local")
    assert verdict.status == "injective" and verdict.certificate["exact"] is True


def test_box_or_bias_keeps_the_milp():
    layers = as_layers(random_relu_net(3, [24], seed=1))
    box = (-np.ones(3), np.ones(3))
    verdict = check_deep(layers, mode="local", box=box)
    assert "layer1" not in verdict.stats["search"]


@pytest.mark.parametrize("seed", range(6))
def test_new_paths_agree_with_the_plain_milp(seed):
    rng = np.random.default_rng(100 + seed)
    n = int(rng.integers(2, 4))
    widths = [int(rng.integers(n + 1, 4 * n + 1)) for _ in range(2)]
    layers = as_layers(random_relu_net(n, widths, seed=seed))
    new = check_local(layers, time_limit=30)
    old = check_local(layers, time_limit=30, exact_first_layer=False, facets=False)
    if "unknown" not in (new.status, old.status):
        assert new.status == old.status
        if new.status == "non-injective":
            assert new.layer == old.layer
    g_new = check_global(layers, time_limit=30)
    g_old = check_global(layers, time_limit=30, exact_first_layer=False)
    if "unknown" not in (g_new.status, g_old.status):
        assert g_new.status == g_old.status


def test_split_proves_a_wide_second_layer_exactly():
    layers = as_layers(random_relu_net(3, [18, 18], seed=0))
    verdict = check_local(layers, time_limit=60)
    assert verdict.status == "injective"
    assert verdict.certificate["exact"] is True
    assert verdict.certificate["proof_by_layer"]["2"].startswith("exact: input splitting")
    assert verdict.stats["search"]["split"]["pruned"] > 0


def test_split_finds_a_second_layer_failure():
    # layer 1 is injective (n = 3, 24 rows), layer 2 has only 4 units: it fails locally
    layers = as_layers(random_relu_net(3, [24, 4], seed=2))
    assert check_layer(layers[0].weight).status == "injective"
    verdict = check_local(layers, time_limit=60)
    assert verdict.status == "non-injective" and verdict.layer == 2
    assert verdict.verification["exact_ok"]
    old = check_local(layers, time_limit=60, split=False)
    assert old.status == "non-injective" and old.layer == 2


def test_global_uses_a_local_failure_as_witness():
    layers = as_layers(random_relu_net(3, [24, 4], seed=2))
    verdict = check_global(layers, time_limit=60)
    assert verdict.status == "non-injective"
    assert verdict.method.startswith("local:")
    assert verdict.verification["exact_ok"] and verdict.verification["float_ok"]
    plain = check_global(layers, time_limit=60, local_first=False)
    assert plain.status == "non-injective"
