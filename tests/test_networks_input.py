"""Bad input to the network readers: odd dtypes, options that do not apply, sizes, seeds
and magnitudes beyond float64, and .pt files on torch versions with an unsafe loader."""

import numpy as np
import pytest
import torch

from injcheck import load_weights, random_relu_net
from injcheck.exceptions import InvalidArgumentError, InvalidNetworkError, WeightsFileError
from injcheck.networks import as_layers, check_magnitudes, make_layers, seed_generator


@pytest.mark.parametrize(
    "weight, fragment",
    [
        (np.ones((4, 2)) + 1j, "complex"),
        (np.ones((4, 2), dtype=bool), "bool"),
        (np.array([["1", "2"]] * 4), "text"),
        (np.array([[1.0, 2.0]] * 4, dtype=object), "Python objects"),
        (np.full((4, 2), 1.0, dtype=np.float64).astype("S3"), "bytes"),
        (torch.ones(4, 2, dtype=torch.complex64), "complex"),
        (torch.ones(4, 2, dtype=torch.bool), "bool"),
    ],
)
def test_non_real_dtypes_are_refused_not_cast(weight, fragment):
    with pytest.raises(InvalidNetworkError, match=fragment):
        as_layers([weight])
    with pytest.raises(InvalidNetworkError, match=fragment):
        make_layers([np.ones((4, 2))], [weight[:, 0]])  # as a bias too


def test_real_dtypes_still_load_exactly():
    w = np.arange(8).reshape(4, 2) - 3
    same = (w.astype(np.int16), w.astype(np.float32), w.tolist(), torch.tensor(w).half())
    for given in (w, *same):
        assert np.array_equal(as_layers([given])[0].weight, w.astype(float))


def test_layout_applies_to_single_matrices_and_trust_pickle_only_to_pt(tmp_path):
    w = np.random.default_rng(0).standard_normal((6, 3))
    np.save(tmp_path / "w.npy", w)
    torch.save(torch.tensor(w), tmp_path / "t.pt")
    np.savez(tmp_path / "w.npz", W1=w, layout="relu")
    for path in (tmp_path / "w.npy", tmp_path / "t.pt"):
        assert np.array_equal(load_weights(path, layout="relu").layers[0].weight, w)
        assert np.array_equal(load_weights(path, layout="linear,relu").layers[0].weight, w)
        with pytest.raises(InvalidNetworkError, match="tanh"):
            load_weights(path, layout="tanh")
        with pytest.raises(InvalidNetworkError, match="one Linear with no ReLU"):
            load_weights(path, layout="final-linear")
        with pytest.raises(InvalidNetworkError, match="2 Linear"):
            load_weights(path, layout="linear,relu,linear,relu")
    for path in (tmp_path / "w.npy", tmp_path / "w.npz"):
        with pytest.raises(InvalidArgumentError, match=r"\.pt files only"):
            load_weights(path, trust_pickle=True)
    assert load_weights(tmp_path / "t.pt", trust_pickle=True).layers[0].shape == (6, 3)


def test_pt_files_are_refused_on_torch_with_a_loader_bypass(tmp_path, monkeypatch):
    torch.save({"0.weight": torch.ones(4, 2)}, tmp_path / "sd.pt")
    assert load_weights(tmp_path / "sd.pt", layout="relu").layers[0].shape == (4, 2)
    for old in ("2.9.1", "2.5.0+cu121", "1.13.1"):
        monkeypatch.setattr(torch, "__version__", old)
        with pytest.raises(WeightsFileError, match=r"known bypass; upgrade torch to >= 2.10"):
            load_weights(tmp_path / "sd.pt", layout="relu")
    monkeypatch.setattr(torch, "__version__", "2.10.0")
    assert load_weights(tmp_path / "sd.pt", layout="relu").layers[0].shape == (4, 2)


def test_seeds_up_to_64_bits_and_no_further():
    top = random_relu_net(3, [5], seed=2**64 - 1)[0].weight
    assert not torch.equal(top, random_relu_net(3, [5], seed=0)[0].weight)
    with pytest.raises(InvalidNetworkError, match="2\\*\\*64 - 1"):
        seed_generator(2**64)
    g = seed_generator(12345)  # the mapping of ordinary seeds is unchanged
    ref = torch.Generator().manual_seed(12345)
    assert torch.equal(torch.randn(4, generator=g), torch.randn(4, generator=ref))


@pytest.mark.parametrize("n, widths", [(3, [10**11]), (10**6, [10**6]), (4, [2**16, 2**16])])
def test_huge_random_networks_are_refused_before_allocating(n, widths):
    with pytest.raises(InvalidNetworkError, match="weight entries"):
        random_relu_net(n, widths, seed=0)


def test_magnitudes_beyond_float64_products_are_refused():
    rng = np.random.default_rng(1)
    w = rng.standard_normal((12, 3))
    for scale in (1e-100, 1, 1e100):
        assert np.array_equal(as_layers([w * scale])[0].weight, w * scale)
    with pytest.raises(InvalidNetworkError, match="magnitude"):
        as_layers([w * 1e200])
    with pytest.raises(InvalidNetworkError, match="underflow"):
        as_layers([w * 1e-300])
    assert as_layers([np.vstack([w, np.zeros((1, 3))])])  # an exact zero row is fine
    # Bounds over a box are check()'s (tests/cli/test_main_errors.py): deep bias-free
    # nets whose unit-box bounds grow past 1e150 are still accepted here.
    deep = as_layers([w * 1e90, rng.standard_normal((5, 12)) * 1e90])
    check_magnitudes(deep)
