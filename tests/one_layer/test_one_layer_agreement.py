"""All exact one-layer methods agree with each other on many random layers.

1000 seeded Gaussian layers with n = 2..6 and m = n..8n, split into chunks so that
pytest-xdist can spread them. Gordan branching and the MILP run on every layer,
brute-force enumeration (exact, rational) on every layer with n <= 3.
"""

import numpy as np
import pytest

from injcheck.one_layer import check_layer

N_LAYERS = 1000
CHUNKS = 10


def random_layer(index: int) -> np.ndarray:
    rng = np.random.default_rng([2024, index])
    n = int(rng.integers(2, 7))
    m = int(rng.integers(n, 8 * n + 1))
    return rng.standard_normal((m, n))


def test_instance_mix_covers_the_requested_ranges():
    shapes = [random_layer(i).shape for i in range(N_LAYERS)]
    ns = {n for _, n in shapes}
    assert ns == {2, 3, 4, 5, 6}
    assert any(m == n for m, n in shapes) and any(m == 8 * n for m, n in shapes)


@pytest.mark.parametrize("chunk", range(CHUNKS))
def test_methods_agree(chunk):
    statuses = []
    for index in range(chunk, N_LAYERS, CHUNKS):
        weight = random_layer(index)
        m, n = weight.shape
        verdicts = {
            "gordan": check_layer(weight, method="gordan"),
            "milp": check_layer(weight, method="milp"),
        }
        if n <= 3:
            verdicts["brute"] = check_layer(weight, method="brute")
        found = {name: v.status for name, v in verdicts.items()}
        assert len(set(found.values())) == 1, (index, weight.shape, found)
        assert found["gordan"] in ("injective", "non-injective"), (index, found)
        if n <= 3:
            # The count criterion and the spanning criterion agree for generic W.
            assert (verdicts["brute"].certificate["p_star"] >= n) == (found["brute"] == "injective")
        for v in verdicts.values():
            if v.status == "non-injective":
                assert v.verification["exact_ok"] and v.verification["float_ok"]
        statuses.append(found["gordan"])
    # The grid straddles the transition: both answers occur in every chunk.
    assert "injective" in statuses and "non-injective" in statuses


@pytest.mark.parametrize("index", range(0, 120, 3))
def test_exact_depth_agrees(index):
    weight = random_layer(index)
    n = weight.shape[1]
    gordan = check_layer(weight, method="gordan", exact_value=True)
    milp = check_layer(weight, method="milp", exact_value=True)
    assert gordan.certificate["p_star"] == milp.certificate["p_star"]
    if n <= 3:
        assert (
            gordan.certificate["p_star"]
            == check_layer(weight, method="brute").certificate["p_star"]
        )
