"""ReLU networks: random Gaussian construction, reading layers out of torch models, loading files.

The rest of injcheck works on a list of :class:`Layer` (float64 numpy weight and
optional bias); this module is the only place that touches torch modules.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from .exceptions import InvalidNetworkError, WeightsFileError


@dataclass(frozen=True)
class Layer:
    """One affine map followed by ReLU: ``h -> ReLU(weight @ h + bias)``.

    Attributes
    ----------
    weight : ndarray of shape (m_out, m_in), float64
    bias : ndarray of shape (m_out,) or None
    """

    weight: np.ndarray
    bias: np.ndarray | None = None

    @property
    def shape(self) -> tuple[int, int]:
        return self.weight.shape


def _as_int_list(values, name: str) -> list[int]:
    try:
        out = [int(v) for v in values]
    except (TypeError, ValueError) as exc:
        raise InvalidNetworkError(f"{name} must be a sequence of integers, got {values!r}") from exc
    if any(int(v) != v for v in values):
        raise InvalidNetworkError(f"{name} must hold integers, got {list(values)!r}")
    return out


def seed_generator(seed: int) -> torch.Generator:
    """A CPU torch generator for ``seed``: weights are drawn on the CPU and then moved,
    so the same seed gives the same network on every device."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise InvalidNetworkError(f"seed must be a non-negative integer, got {seed!r}")
    gen = torch.Generator(device="cpu")
    gen.manual_seed(int(seed))
    return gen


def random_relu_net(
    n: int,
    widths: Sequence[int],
    *,
    seed: int,
    dtype: torch.dtype = torch.float64,
    device: str | torch.device = "cpu",
) -> nn.Sequential:
    """Build a bias-free ReLU network with i.i.d. N(0, 1) weights.

    Parameters
    ----------
    n : int
        Input dimension.
    widths : sequence of int
        Output widths ``m_1, ..., m_l`` of the layers.
    seed : int
        Seed of the weights. Weights are sampled in float64 on the CPU from a
        dedicated generator and only then cast and moved, so the same seed gives the
        same network on any device (up to the cast to ``dtype``).
    dtype, device
        Where the returned module lives.

    Returns
    -------
    torch.nn.Sequential
        ``Linear(n, m_1, bias=False), ReLU(), ..., Linear(m_{l-1}, m_l, bias=False), ReLU()``.

    Examples
    --------
    >>> net = random_relu_net(3, [12], seed=0)
    >>> tuple(net[0].weight.shape)
    (12, 3)
    """
    n = _as_int_list([n], "n")[0]
    widths = _as_int_list(widths, "widths")
    if n < 1 or not widths or min(widths) < 1:
        raise InvalidNetworkError(
            f"need n >= 1 and at least one positive width, got n={n}, widths={widths}"
        )
    gen = seed_generator(seed)
    modules: list[nn.Module] = []
    fan_in = n
    for width in widths:
        linear = nn.Linear(fan_in, width, bias=False)
        weight = torch.randn(width, fan_in, generator=gen, dtype=torch.float64)
        with torch.no_grad():
            linear.weight = nn.Parameter(weight)
        modules += [linear, nn.ReLU()]
        fan_in = width
    return nn.Sequential(*modules).to(device=device, dtype=dtype)


def _checked_array(a, name: str, ndim: int) -> np.ndarray:
    arr = (
        np.asarray(a, dtype=np.float64)
        if not torch.is_tensor(a)
        else a.detach().cpu().double().numpy()
    )
    if arr.ndim != ndim:
        raise InvalidNetworkError(f"{name} must be {ndim}-D, got shape {arr.shape}")
    if arr.size == 0:
        raise InvalidNetworkError(f"{name} is empty (shape {arr.shape})")
    if not np.all(np.isfinite(arr)):
        raise InvalidNetworkError(f"{name} contains NaN or inf")
    return np.array(arr, dtype=np.float64, copy=True)


def make_layers(weights: Sequence, biases: Sequence | None = None) -> list[Layer]:
    """Validate weight matrices (and optional biases) and return them as layers.

    Raises
    ------
    InvalidNetworkError
        On empty input, wrong rank, NaN/inf, or mismatched shapes between layers.
    """
    if len(weights) == 0:
        raise InvalidNetworkError("the network has no layers")
    if biases is None:
        biases = [None] * len(weights)
    if len(biases) != len(weights):
        raise InvalidNetworkError(f"{len(weights)} weight matrices but {len(biases)} biases")
    layers = []
    fan_in = None
    for k, (w, b) in enumerate(zip(weights, biases), start=1):
        w = _checked_array(w, f"weight of layer {k}", 2)
        if fan_in is not None and w.shape[1] != fan_in:
            raise InvalidNetworkError(
                f"layer {k} expects {w.shape[1]} inputs but layer {k - 1} has {fan_in} outputs"
            )
        if b is not None:
            b = _checked_array(b, f"bias of layer {k}", 1)
            if b.shape[0] != w.shape[0]:
                raise InvalidNetworkError(
                    f"bias of layer {k} has length {b.shape[0]}, expected {w.shape[0]}"
                )
            if not np.any(b):
                b = None
        layers.append(Layer(w, b))
        fan_in = w.shape[0]
    return layers


def layers_from_model(model: nn.Module) -> list[Layer]:
    """Read the layers of a ``torch.nn.Sequential`` of ``Linear`` and ``ReLU`` modules.

    Every ``Linear`` must be followed by exactly one ``ReLU``; ``Flatten``/``Identity``
    are ignored. Nested ``Sequential`` containers are flattened.

    Raises
    ------
    InvalidNetworkError
        For any other module (convolutions, other activations, dropout, ...) or a
        ``Linear`` that is not followed by a ``ReLU``.
    """
    if not isinstance(model, nn.Module):
        raise InvalidNetworkError(f"expected a torch.nn.Module, got {type(model).__name__}")

    def flatten(mod: nn.Module) -> list[nn.Module]:
        if isinstance(mod, nn.Sequential):
            return [leaf for child in mod for leaf in flatten(child)]
        return [mod]

    modules = [m for m in flatten(model) if not isinstance(m, (nn.Identity, nn.Flatten))]
    weights, biases = [], []
    expect_relu = False
    for pos, mod in enumerate(modules):
        if isinstance(mod, nn.Linear):
            if expect_relu:
                raise InvalidNetworkError(
                    f"module {pos} (Linear) follows a Linear without a ReLU in between"
                )
            weights.append(mod.weight)
            biases.append(mod.bias)
            expect_relu = True
        elif isinstance(mod, nn.ReLU):
            if not expect_relu:
                raise InvalidNetworkError(f"module {pos} (ReLU) does not follow a Linear")
            expect_relu = False
        else:
            raise InvalidNetworkError(
                f"unsupported module {pos}: {type(mod).__name__}; injcheck handles Sequential "
                "stacks of Linear followed by ReLU"
            )
    if expect_relu:
        raise InvalidNetworkError("the last Linear is not followed by a ReLU")
    return make_layers(weights, biases)


def as_layers(network) -> list[Layer]:
    """Accept a torch module, one weight matrix, a list of matrices, or a list of layers."""
    if isinstance(network, nn.Module):
        return layers_from_model(network)
    if isinstance(network, Layer):
        return [network]
    if isinstance(network, (list, tuple)):
        if network and all(isinstance(item, Layer) for item in network):
            return make_layers([item.weight for item in network], [item.bias for item in network])
        return make_layers(list(network))
    if isinstance(network, (np.ndarray, torch.Tensor)):
        return make_layers([network])
    raise InvalidNetworkError(
        f"cannot read a network from {type(network).__name__}; pass a torch.nn.Sequential, "
        "a weight matrix or a list of weight matrices"
    )


def load_weights(path: str | os.PathLike) -> list[Layer]:
    """Load layers from ``.npy`` (one matrix), ``.npz`` (``W1, W2, ...`` and optional
    ``b1, b2, ...``, or arrays in file order) or ``.pt`` (a Sequential, a state dict,
    a tensor or a list of tensors).

    Raises
    ------
    WeightsFileError
        If the file is missing, unreadable or of an unknown type.
    InvalidNetworkError
        If it holds matrices that do not form a network.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise WeightsFileError(f"weights file not found: {path}")
    ext = os.path.splitext(path)[1].lower()
    try:
        if ext == ".npy":
            return make_layers([np.load(path, allow_pickle=False)])
        if ext == ".npz":
            with np.load(path, allow_pickle=False) as data:
                return _layers_from_named_arrays({k: data[k] for k in data.files})
        if ext == ".pt":
            obj = torch.load(path, map_location="cpu", weights_only=False)
            if isinstance(obj, dict):
                return _layers_from_named_arrays(obj)
            return as_layers(obj)
    except (InvalidNetworkError, WeightsFileError):
        raise
    except Exception as exc:  # any reader failure is the file's fault, not ours
        raise WeightsFileError(f"cannot read {path}: {type(exc).__name__}: {exc}") from exc
    raise WeightsFileError(f"unknown weights file type {ext!r} for {path}; use .npy, .npz or .pt")


def _layers_from_named_arrays(named: dict) -> list[Layer]:
    """Order named arrays: ``W1, b1, W2, ...`` or a state dict (``0.weight, 0.bias, ...``)."""
    if not named:
        raise InvalidNetworkError("the file holds no arrays")
    weights = {k: v for k, v in named.items() if np.ndim(v) == 2}
    vectors = {k: v for k, v in named.items() if np.ndim(v) == 1}
    if len(weights) + len(vectors) != len(named):
        bad = [k for k in named if k not in weights and k not in vectors]
        raise InvalidNetworkError(f"arrays {bad} are neither weight matrices nor bias vectors")

    def order_key(key: str):
        digits = "".join(ch if ch.isdigit() else " " for ch in key).split()
        return (int(digits[0]) if digits else 0, key)

    w_keys = sorted(weights, key=order_key)
    b_keys = sorted(vectors, key=order_key)
    if b_keys and len(b_keys) != len(w_keys):
        raise InvalidNetworkError(f"{len(w_keys)} weight matrices but {len(b_keys)} bias vectors")
    return make_layers(
        [weights[k] for k in w_keys], [vectors[k] for k in b_keys] if b_keys else None
    )


def forward(layers: Sequence[Layer], x: np.ndarray) -> np.ndarray:
    """Float64 forward pass of one input or a batch (rows)."""
    h = np.asarray(x, dtype=np.float64)
    for layer in layers:
        h = h @ layer.weight.T
        if layer.bias is not None:
            h = h + layer.bias
        h = np.maximum(h, 0.0)
    return h


def architecture(layers: Sequence[Layer]) -> list[int]:
    """``[n, m_1, ..., m_l]``."""
    return [layers[0].weight.shape[1]] + [layer.weight.shape[0] for layer in layers]
