import numpy as np

from injcheck.networks import make_layers
from injcheck.verify import MIN_SEPARATION, verify_witness

FOLD = make_layers([np.array([[1.0], [-1.0]]), np.array([[1.0, 1.0]])])  # f(x) = |x|


def test_fold_collision_is_proved_exactly():
    check = verify_witness(FOLD, np.array([0.7]), np.array([-0.7]))
    assert check.ok and check.residual == 0.0


def test_non_collision_is_rejected_by_both_checks():
    check = verify_witness(FOLD, np.array([1.0]), np.array([-1.1]))
    assert not check.float_ok and not check.exact_ok


def test_identical_points_are_rejected():
    check = verify_witness(FOLD, np.array([1.0]), np.array([1.0]))
    assert not check.ok


def test_near_collision_is_snapped_to_an_exact_one():
    # A one-layer collision with a float null vector: not exact in floats, exact after snapping.
    rng = np.random.default_rng(5)
    w = rng.standard_normal((4, 3))
    for _ in range(1000):
        x = rng.standard_normal(3)
        if np.sum(w @ x > 0) < 3:
            break
    active = w @ x > 0
    d = np.linalg.svd(w[active])[2][-1]
    y = x + 1e-3 * d
    check = verify_witness(make_layers([w]), x, y)
    assert check.ok
    assert check.separation > MIN_SEPARATION


def test_malformed_witnesses_fail():
    assert not verify_witness(FOLD, np.array([1.0, 2.0]), np.array([1.0, 2.0])).ok
    assert not verify_witness(FOLD, np.array([np.nan]), np.array([1.0])).ok
