"""The difference-cone certificate against exact searches."""

import numpy as np
import pytest
from deep_helpers import box_bounds, cross_collision

from injcheck.deep.brute_force import difference_system_is_trivial
from injcheck.deep.difference_cone import (
    _surviving,
    arrangement_rays,
    decide_by_rays,
    difference_cone_certificate,
    difference_form,
    some_direction_survives,
    unit_states,
)
from injcheck.networks import forward, make_layers


def test_certificate_agrees_with_exact_cross_box_search():
    # No injective prefix needed: any depth, with and without biases, far pairs and a
    # box paired with itself (then it claims injectivity on the box).
    rng = np.random.default_rng(5)
    certified = collisions = same_certified = 0
    for _ in range(70):
        n, depth = int(rng.integers(1, 3)), int(rng.integers(1, 4))
        dims = [n] + [int(rng.integers(n + 1, 3 * n + 3)) for _ in range(depth)]
        weights = [rng.standard_normal((dims[k + 1], dims[k])) for k in range(depth)]
        biases = None
        if rng.random() < 0.5:
            biases = [0.5 * rng.standard_normal(d) for d in dims[1:]]
        layers = make_layers(weights, biases)
        for _ in range(3):
            boxes = []
            for _ in range(2):
                centre, radius = rng.uniform(-1, 1, n), rng.uniform(0.02, 0.4, n)
                boxes.append((centre - radius, centre + radius))
            same = rng.random() < 0.3
            if same:
                boxes[1] = boxes[0]
            claim = difference_cone_certificate(
                layers, box_bounds(layers, *boxes[0]), box_bounds(layers, *boxes[1])
            )
            truth = cross_collision(layers, *boxes)
            assert not (claim and truth), (dims, biases is not None, boxes)
            certified += claim
            collisions += truth
            same_certified += claim and same
    assert certified >= 40 and collisions >= 30 and same_certified >= 10


def test_ray_decision_agrees_with_a_milp_decision_of_the_same_system():
    # Two algorithms for one question (is z = 0 the only solution?): the arrangement's
    # rays and a MILP with a binary per free unit. Near pairs and far pairs, with biases
    # half of the time; pairs whose rays cannot be enumerated are left out.
    rng = np.random.default_rng(7)
    compared = trivial = 0
    for _ in range(250):
        n, depth = int(rng.integers(1, 4)), int(rng.integers(1, 3))
        dims = [n] + [int(rng.integers(n, 3 * n + 3)) for _ in range(depth)]
        weights = [rng.standard_normal((dims[k + 1], dims[k])) for k in range(depth)]
        biases = [0.5 * rng.standard_normal(d) for d in dims[1:]] if rng.random() < 0.5 else None
        layers = make_layers(weights, biases)
        c_x = rng.uniform(-1, 1, n)
        c_y = c_x + rng.uniform(-0.1, 0.1, n) if rng.random() < 0.5 else rng.uniform(-1, 1, n)
        r_x, r_y = rng.uniform(0.01, 0.3, n), rng.uniform(0.01, 0.3, n)
        b_x = box_bounds(layers, c_x - r_x, c_x + r_x)
        b_y = box_bounds(layers, c_y - r_y, c_y + r_y)
        claim = decide_by_rays(layers, b_x, b_y)
        if claim is None:
            continue
        assert claim == difference_system_is_trivial(layers, b_x, b_y), (dims, c_x, c_y)
        assert difference_cone_certificate(layers, b_x, b_y) == claim
        compared += 1
        trivial += claim
    assert compared >= 120 and 30 <= trivial <= compared - 30


def test_difference_form_is_exact_on_sampled_pairs():
    # For sampled x in B_x, y in B_y the true differences satisfy the description:
    # d and the free units' deltas give every unit's pre-activation difference, each
    # delta lies between 0 and it, and the sure output rows of a collision vanish.
    rng = np.random.default_rng(1)
    for _ in range(20):
        n = int(rng.integers(1, 4))
        dims = [n, 7, 6, 5]
        layers = make_layers(
            [rng.standard_normal((dims[k + 1], dims[k])) for k in range(3)],
            [0.5 * rng.standard_normal(d) for d in dims[1:]],
        )
        boxes = [(c - 0.3, c + 0.3) for c in rng.uniform(-1, 1, (2, n))]
        bx, by = (box_bounds(layers, *b) for b in boxes)
        _, delta_rows, pre_rows, sign = difference_form(layers, bx, by)
        x = rng.uniform(*boxes[0], (50, n))
        y = rng.uniform(*boxes[1], (50, n))
        pre_x = _pre_activations(layers, x)
        pre_y = _pre_activations(layers, y)
        _, free_idx, _ = unit_states(bx, by)
        e = np.hstack([(px - py)[:, idx] for px, py, idx in zip(pre_x, pre_y, free_idx)])
        dl = np.hstack(
            [
                (np.maximum(px, 0) - np.maximum(py, 0))[:, idx]
                for px, py, idx in zip(pre_x, pre_y, free_idx)
            ]
        )
        z = np.hstack([x - y, dl])
        assert np.allclose(z @ delta_rows.T, dl)
        assert np.allclose(z @ pre_rows.T, e, atol=1e-9)
        assert np.all((dl >= -1e-12) & (dl <= e + 1e-12) | (dl <= 1e-12) & (dl >= e - 1e-12))
        assert np.all(sign * dl >= -1e-12)


def _pre_activations(layers, x):
    out, h = [], x
    for layer in layers[:-1]:
        pre = h @ layer.weight.T + (0.0 if layer.bias is None else layer.bias)
        out.append(pre)
        h = np.maximum(pre, 0.0)
    return out


@pytest.mark.parametrize("k", [2, 3, 4])
def test_rays_find_every_sampled_surviving_direction(k):
    # The ray test decides whether any direction survives; random directions can only
    # find survivors of open sets, so whenever they do, the rays must find one too, and
    # whenever the rays find none, no random direction may survive.
    rng = np.random.default_rng(k)
    agree_empty = agree_found = 0
    for _ in range(300):
        units = int(rng.integers(1, 5))
        delta, pre = rng.standard_normal((units, k)), rng.standard_normal((units, k))
        sign = rng.choice([-1, 0, 0, 1], units)
        if arrangement_rays(np.vstack([delta, pre - delta])) is None:
            continue
        found = some_direction_survives(delta, pre, sign)
        samples = rng.standard_normal((k, 4000))
        sampled = bool(np.any(_surviving(delta @ samples, pre @ samples, sign)))
        assert found or not sampled
        agree_found += found and sampled
        agree_empty += not found
    assert agree_found >= 20 and agree_empty >= 20


def test_cone_clears_the_fold_only_where_it_is_injective():
    # f(x) = |x| (W1 = [1; -1], W2 = [1, 1]): a box around 0 folds, one off 0 does not.
    layers = make_layers([np.array([[1.0], [-1.0]]), np.array([[1.0, 1.0]])])
    around = (np.array([-0.5]), np.array([0.5]))
    right = (np.array([0.2]), np.array([0.7]))
    assert not difference_cone_certificate(
        layers, box_bounds(layers, *around), box_bounds(layers, *around)
    )
    assert difference_cone_certificate(
        layers, box_bounds(layers, *right), box_bounds(layers, *right)
    )
    assert forward(layers, np.array([0.3]))[0] == forward(layers, np.array([-0.3]))[0]
