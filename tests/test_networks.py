import numpy as np
import pytest
import torch
from torch import nn

from injcheck import layers_from_model, load_weights, random_relu_net
from injcheck.exceptions import (
    InvalidNetworkError,
    LayoutMissingError,
    PickleRefusedError,
    WeightsFileError,
)
from injcheck.networks import as_layers, forward, read_network


def test_same_seed_same_network_and_different_seed_differs():
    a = random_relu_net(4, [12, 20], seed=3)
    b = random_relu_net(4, [12, 20], seed=3)
    c = random_relu_net(4, [12, 20], seed=4)
    for la, lb, lc in zip(a, b, c):
        if isinstance(la, nn.Linear):
            assert torch.equal(la.weight, lb.weight)
            assert not torch.equal(la.weight, lc.weight)
            assert la.bias is None


def test_structure_dtype_and_statistics():
    net = random_relu_net(50, [400], seed=0, dtype=torch.float32)
    assert [type(m) for m in net] == [nn.Linear, nn.ReLU]
    w = net[0].weight
    assert w.dtype == torch.float32 and tuple(w.shape) == (400, 50)
    w = w.detach()
    assert abs(float(w.mean())) < 0.02 and abs(float(w.std()) - 1) < 0.02


def test_dtype_cast_keeps_the_float64_draw():
    w64 = random_relu_net(3, [7], seed=1)[0].weight
    w32 = random_relu_net(3, [7], seed=1, dtype=torch.float32)[0].weight
    assert torch.equal(w64.float(), w32)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no GPU on this machine")
def test_same_network_on_gpu():
    cpu = random_relu_net(3, [7], seed=1)[0].weight
    gpu = random_relu_net(3, [7], seed=1, device="cuda")[0].weight
    assert torch.equal(cpu, gpu.cpu())


def test_layers_from_model_reads_biases_and_nested_sequentials():
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Sequential(nn.Linear(2, 5), nn.ReLU()), nn.Flatten(), nn.Linear(5, 3), nn.ReLU()
    )
    layers = layers_from_model(model.double())
    assert [layer.weight.shape for layer in layers] == [(5, 2), (3, 5)]
    assert layers[0].bias is not None
    x = np.array([[0.3, -1.2]])
    expected = model(torch.tensor(x)).detach().numpy()
    assert np.allclose(forward(layers, x), expected)


@pytest.mark.parametrize(
    "model, fragment",
    [
        (nn.Sequential(nn.Linear(2, 3), nn.Sigmoid()), "Sigmoid"),
        (nn.Sequential(nn.Conv1d(1, 1, 1)), "Conv1d"),
        (nn.Sequential(nn.Linear(2, 3), nn.Linear(3, 3), nn.ReLU()), "no ReLU in between"),
        (nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 3)), "not followed by a ReLU"),
        (nn.Sequential(nn.Linear(2, 3)), "one Linear with no ReLU"),
        (nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Dropout(0.5)), "training mode"),
        (nn.Sequential(nn.ReLU()), "does not follow a Linear"),
    ],
)
def test_unsupported_models_are_rejected(model, fragment):
    with pytest.raises(InvalidNetworkError, match=fragment):
        layers_from_model(model)


@pytest.mark.parametrize(
    "weights, fragment",
    [
        ([np.array([[1.0, np.nan]])], "NaN"),
        ([np.array([[1.0, np.inf]])], "NaN or inf"),
        ([np.zeros((0, 3))], "empty"),
        ([np.ones(3)], "2-D"),
        ([np.ones((4, 3)), np.ones((2, 5))], "expects 5 inputs"),
        ([], "no layers"),
    ],
)
def test_bad_weights_are_rejected(weights, fragment):
    with pytest.raises(InvalidNetworkError, match=fragment):
        as_layers(weights)


def test_load_weights_round_trips(tmp_path):
    rng = np.random.default_rng(0)
    w1, w2, b1 = rng.standard_normal((6, 3)), rng.standard_normal((4, 6)), rng.standard_normal(6)
    np.save(tmp_path / "w.npy", w1)
    assert np.array_equal(load_weights(tmp_path / "w.npy").layers[0].weight, w1)
    np.savez(tmp_path / "w.npz", W1=w1, W2=w2, b1=b1, b2=np.zeros(4))
    layers = load_weights(tmp_path / "w.npz", layout="relu").layers
    assert np.array_equal(layers[1].weight, w2) and np.array_equal(layers[0].bias, b1)
    assert not layers[1].has_bias and not np.any(layers[1].bias)  # zero bias: bias-free
    np.savez(tmp_path / "own.npz", W1=w1, W2=w2, layout="final-linear")
    own = load_weights(tmp_path / "own.npz")
    assert len(own.layers) == 1 and np.array_equal(own.head.weight, w2)
    net = random_relu_net(3, [6, 4], seed=0)
    torch.save(net, tmp_path / "net.pt")
    torch.save(net.state_dict(), tmp_path / "state.pt")
    for loaded in (
        load_weights(tmp_path / "net.pt", trust_pickle=True),
        load_weights(tmp_path / "state.pt", layout="relu"),
    ):
        assert loaded.head is None and len(loaded.layers) == 2
        assert np.array_equal(loaded.layers[0].weight, net[0].weight.detach().numpy())


def test_final_linear_is_read_the_same_from_a_module_and_a_state_dict(tmp_path):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 8), nn.ReLU(), nn.Dropout(0.2), nn.Linear(8, 10)).eval()
    torch.save(model.state_dict(), tmp_path / "head.pt")
    from_state = load_weights(tmp_path / "head.pt", layout="linear,relu,dropout,linear")
    from_module = read_network(model)
    for net in (from_state, from_module):
        assert len(net.layers) == 1 and net.head.weight.shape == (10, 8)
        assert np.array_equal(net.head.weight, from_module.head.weight)


def test_weight_files_need_their_layout(tmp_path):
    torch.manual_seed(0)
    tanh_net = nn.Sequential(nn.Linear(3, 8), nn.Tanh(), nn.Linear(8, 10), nn.ReLU())
    torch.save(tanh_net.state_dict(), tmp_path / "tanh.pt")
    with pytest.raises(LayoutMissingError, match="layout"):
        load_weights(tmp_path / "tanh.pt")
    with pytest.raises(InvalidNetworkError, match="tanh"):
        load_weights(tmp_path / "tanh.pt", layout="linear,tanh,linear,relu")
    skipped = nn.Sequential(nn.Linear(3, 8), nn.Tanh(), nn.ReLU(), nn.Linear(8, 10), nn.ReLU())
    torch.save(skipped.state_dict(), tmp_path / "gap.pt")
    with pytest.raises(InvalidNetworkError, match="indices"):
        load_weights(tmp_path / "gap.pt", layout="relu")
    np.savez(tmp_path / "a.npz", A=np.ones((4, 2)))
    with pytest.raises(InvalidNetworkError, match="unexpected array names"):
        load_weights(tmp_path / "a.npz", layout="relu")
    np.savez(tmp_path / "gaps.npz", W1=np.ones((4, 2)), W3=np.ones((4, 4)))
    with pytest.raises(InvalidNetworkError, match="no gaps"):
        load_weights(tmp_path / "gaps.npz", layout="relu")
    np.savez(tmp_path / "clash.npz", W1=np.ones((4, 2)), layout="relu")
    with pytest.raises(InvalidNetworkError, match="contradicts"):
        load_weights(tmp_path / "clash.npz", layout="final-linear")


class _Boom:
    """Unpickling this would run code (it writes a file)."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))


def test_loading_a_pt_file_runs_no_code(tmp_path):
    marker = tmp_path / "ran"
    torch.save({"0.weight": torch.ones(4, 2), "evil": _Boom(str(marker))}, tmp_path / "evil.pt")
    with pytest.raises(PickleRefusedError, match="trust"):
        load_weights(tmp_path / "evil.pt", layout="relu")
    assert not marker.exists()
    torch.save(random_relu_net(2, [4], seed=0), tmp_path / "module.pt")
    with pytest.raises(PickleRefusedError):
        load_weights(tmp_path / "module.pt")
    assert load_weights(tmp_path / "module.pt", trust_pickle=True).layers[0].shape == (4, 2)


def test_bad_files_are_rejected(tmp_path):
    with pytest.raises(WeightsFileError, match="not found"):
        load_weights(tmp_path / "missing.npy")
    (tmp_path / "w.txt").write_text("1 2 3")
    with pytest.raises(WeightsFileError, match="unknown weights file type"):
        load_weights(tmp_path / "w.txt")
    (tmp_path / "bad.npy").write_bytes(b"not numpy at all")
    with pytest.raises(WeightsFileError, match="cannot read"):
        load_weights(tmp_path / "bad.npy")


def test_a_network_object_is_validated_head_included():
    from injcheck.networks import AffineMap, Layer, Network

    body = [Layer(np.ones((4, 2)))]
    with pytest.raises(InvalidNetworkError, match="expects 3 inputs"):
        read_network(Network(body, AffineMap(np.ones((5, 3)))))
    with pytest.raises(InvalidNetworkError, match="NaN"):
        read_network(Network(body, AffineMap(np.full((5, 4), np.nan))))
    assert read_network(Network(body, AffineMap(np.eye(4)))).head.weight.shape == (4, 4)
