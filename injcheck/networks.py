"""ReLU networks: random Gaussian construction, reading layers out of torch models, loading files.

The rest of injcheck works on a list of :class:`injcheck.layers.Layer` (float64 numpy
weight and bias, numpy only); this module is the only place that touches torch modules.
"""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from .exceptions import (
    InvalidArgumentError,
    InvalidNetworkError,
    LayoutMissingError,
    PickleRefusedError,
    WeightsFileError,
)
from .layers import AffineMap, Layer, Network, architecture, forward

__all__ = [
    "AffineMap",
    "Layer",
    "Network",
    "architecture",
    "as_layers",
    "forward",
    "load_weights",
    "make_layers",
    "random_relu_net",
    "read_network",
]


LAYOUT_SHORTHANDS = ("relu", "final-linear")

#: Largest seed: torch.Generator.manual_seed takes an unsigned 64-bit integer.
MAX_SEED = 2**64 - 1
#: Most weight entries a random network may have (2**31 float64 entries are 16 GiB).
MAX_RANDOM_ENTRIES = 2**31
#: Bounds on the magnitudes of weights and biases; see :func:`check_magnitudes`.
MAX_MAGNITUDE = 1e150
MIN_ROW_MAGNITUDE = 1e-150
#: Numeric kinds accepted for weights and biases (float, signed and unsigned integer).
_NUMERIC_KINDS = "fiu"
#: What the refused kinds are, for the message.
_KIND_NAMES = {"c": "complex", "b": "bool", "U": "text", "S": "bytes", "O": "Python objects"}
#: First torch version whose ``weights_only=True`` loader has no known bypass
#: (GHSA-53q9-r3pm-6pq6 / CVE-2025-32434 below 2.6, GHSA-63cw-57p8-fm3p below 2.10).
SAFE_TORCH_LOAD = (2, 10)

#: Modules that are the identity in eval mode and are skipped when reading a model.
_PASS_THROUGH = (nn.Identity, nn.Flatten, nn.Dropout)
#: Their names in a layout string (they hold no weights but take a place in a Sequential).
_PASS_THROUGH_TOKENS = ("identity", "flatten", "dropout")


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
    if seed > MAX_SEED:  # torch's generator takes 64 bits
        raise InvalidNetworkError(f"seed must be at most 2**64 - 1, got {seed}")
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
        Seed of the weights, ``0 <= seed <= 2**64 - 1``. Weights are sampled in float64
        on the CPU from a dedicated generator and only then cast and moved, so the same
        seed gives the same network on any device (up to the cast to ``dtype``).
    dtype, device
        Where the returned module lives.

    Returns
    -------
    torch.nn.Sequential
        ``Linear(n, m_1, bias=False), ReLU(), ..., Linear(m_{l-1}, m_l, bias=False), ReLU()``.

    Raises
    ------
    InvalidNetworkError
        Before anything is allocated: non-positive sizes, a seed outside the range, or
        more weight entries than :data:`MAX_RANDOM_ENTRIES` (2**31) or than this machine's
        memory holds at 16 bytes an entry.

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
    _check_random_size(n, widths)
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


def _check_random_size(n: int, widths: list[int]) -> None:
    """Refuse, before allocating, weights beyond :data:`MAX_RANDOM_ENTRIES` or this
    machine's physical memory (float64 draw plus the cast copy: 16 bytes an entry)."""
    entries = sum(a * b for a, b in zip([n, *widths], widths))
    try:
        memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):  # not POSIX: the fixed bound only
        memory = None
    limit = MAX_RANDOM_ENTRIES if memory is None else min(MAX_RANDOM_ENTRIES, memory // 16)
    if entries > limit:
        raise InvalidNetworkError(
            f"n={n}, widths={widths} need {entries:.3g} weight entries; at most {limit:.3g} "
            "are allowed (2**31, or 16 bytes an entry of this machine's memory)"
        )


def _as_numeric(a, name: str) -> np.ndarray:
    """``a`` as a float64 array; complex, bool, text and object data are refused, not cast."""
    if torch.is_tensor(a):
        if a.is_complex() or a.dtype == torch.bool:
            raise InvalidNetworkError(f"{name} has dtype {a.dtype}; weights must be real numbers")
        return a.detach().cpu().double().numpy()
    try:
        raw = np.asarray(a)
    except (TypeError, ValueError) as exc:  # ragged nesting
        raise InvalidNetworkError(f"{name} is not a numeric array: {exc}") from exc
    if raw.dtype.kind not in _NUMERIC_KINDS:
        raise InvalidNetworkError(
            f"{name} has dtype {raw.dtype} ({_KIND_NAMES.get(raw.dtype.kind, 'not numeric')}); "
            "weights must be real numbers (float or integer)"
        )
    return raw.astype(np.float64)


def _checked_array(a, name: str, ndim: int) -> np.ndarray:
    arr = _as_numeric(a, name)
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
    check_magnitudes(layers)
    return layers


def check_magnitudes(layers: Sequence[Layer]) -> None:
    """Refuse weights and biases whose squares overflow or underflow float64.

    The checks square entries (row norms) and multiply them (minors, Farkas weights).
    float64 holds magnitudes up to 1.8e308, so a square overflows above about 1e154 and
    underflows to 0 below 1e-154; the SVD and the LP solvers then fail or, worse, see a
    non-zero row as zero. Hence every entry must be at most :data:`MAX_MAGNITUDE`
    (1e150), and every non-zero row must have an entry of at least
    :data:`MIN_ROW_MAGNITUDE` (1e-150): a clear refusal instead of a wrong or failed
    check. A bias-free network's injectivity does not change when a layer is multiplied
    by a positive number, so such weights can be rescaled (by a power of 2, exactly).
    The bounds of the pre-activations over an input box are checked by
    :func:`injcheck.check`, which knows the box.
    """
    for k, layer in enumerate(layers, start=1):
        w = np.abs(layer.weight)
        biggest = max(w.max(), np.abs(layer.bias).max())  # Layer's bias is zeros when absent
        rows = w.max(axis=1)
        if biggest > MAX_MAGNITUDE:
            raise InvalidNetworkError(
                f"layer {k} has an entry of magnitude {biggest:.3g}; injcheck needs |entries| "
                f"<= {MAX_MAGNITUDE:g} (float64 products overflow); rescale the weights"
            )
        if np.any((rows > 0) & (rows < MIN_ROW_MAGNITUDE)):
            raise InvalidNetworkError(
                f"layer {k} has a non-zero row with all entries below {MIN_ROW_MAGNITUDE:g} "
                "(float64 squares underflow to 0); rescale the weights"
            )


def network_from_model(model: nn.Module) -> Network:
    """Read a ``torch.nn.Sequential`` of ``Linear`` and ``ReLU`` modules.

    Every ``Linear`` but the last must be followed by exactly one ``ReLU``; a last
    ``Linear`` without one becomes the network's ``head``. ``Flatten``, ``Identity`` and,
    in eval mode, ``Dropout`` are skipped. Nested ``Sequential`` containers are flattened.

    Raises
    ------
    InvalidNetworkError
        For any other module (convolutions, other activations, ...), a ``Dropout`` in
        training mode, or two ``Linear`` modules with no ``ReLU`` in between.
    """
    if not isinstance(model, nn.Module):
        raise InvalidNetworkError(f"expected a torch.nn.Module, got {type(model).__name__}")

    def flatten(mod: nn.Module) -> list[nn.Module]:
        if isinstance(mod, nn.Sequential):
            return [leaf for child in mod for leaf in flatten(child)]
        return [mod]

    tokens, params = [], []
    for pos, mod in enumerate(flatten(model)):
        if isinstance(mod, nn.Dropout) and mod.training and mod.p > 0:
            raise InvalidNetworkError(
                f"module {pos} (Dropout) is in training mode, so the network is random; "
                "call model.eval() first"
            )
        if isinstance(mod, _PASS_THROUGH):
            continue
        if isinstance(mod, nn.Linear):
            tokens.append("linear")
            params.append((mod.weight, mod.bias))
        elif isinstance(mod, nn.ReLU):
            tokens.append("relu")
        else:
            raise InvalidNetworkError(
                f"unsupported module {pos}: {type(mod).__name__}; injcheck handles Sequential "
                "stacks of Linear and ReLU (a last Linear without ReLU is allowed)"
            )
    return _assemble(tokens, params)


def _assemble(tokens: Sequence[str], params: Sequence[tuple]) -> Network:
    """Pair ``linear``/``relu`` tokens with ``(weight, bias)`` of each Linear, in order."""
    relu_after: list[bool] = []
    for pos, token in enumerate(tokens):
        if token in _PASS_THROUGH_TOKENS:
            continue
        if token == "linear":
            if relu_after and not relu_after[-1]:
                raise InvalidNetworkError(
                    f"Linear number {len(relu_after) + 1} follows a Linear with no ReLU in "
                    "between; injcheck needs a ReLU after every Linear but the last"
                )
            relu_after.append(False)
        elif not relu_after or relu_after[-1]:
            raise InvalidNetworkError(f"the ReLU at position {pos} does not follow a Linear")
        else:
            relu_after[-1] = True
    if not relu_after:
        raise InvalidNetworkError("the network has no layers")
    if len(relu_after) != len(params):
        raise InvalidNetworkError(
            f"the layout has {len(relu_after)} Linear modules but the weights hold {len(params)}"
        )
    layers = make_layers([w for w, _ in params], [b for _, b in params])
    if relu_after[-1]:
        return Network(layers)
    if len(layers) == 1:
        raise InvalidNetworkError(
            "the network is one Linear with no ReLU: an affine map, injective iff its weight "
            "has rank n; injcheck checks ReLU networks"
        )
    head = layers.pop()
    return Network(layers, AffineMap(head.weight, head.bias))


def layers_from_model(model: nn.Module) -> list[Layer]:
    """The layers of a ``Sequential`` that ends in a ReLU (see :func:`network_from_model`).

    Raises
    ------
    InvalidNetworkError
        Also when the last ``Linear`` has no ReLU after it; :func:`injcheck.check` accepts
        such networks.
    """
    return _relu_only(network_from_model(model))


def _relu_only(network: Network) -> list[Layer]:
    if network.head is not None:
        raise InvalidNetworkError(
            "the last Linear is not followed by a ReLU; pass the network to injcheck.check, "
            "which reduces an injective final affine map"
        )
    return network.layers


def read_network(network) -> Network:
    """Accept a torch module, one weight matrix, a list of matrices or layers, or a Network.

    Matrices are ReLU layers ``x -> ReLU(W x)``; a torch module may end in a Linear
    without ReLU (the ``head``).
    """
    if isinstance(network, Network):
        head = network.head
        # The head is validated with the layers (finite, shapes that chain).
        stack = _layers_again(
            list(network.layers) + ([Layer(head.weight, head.bias)] if head else [])
        )
        if head is None:
            return Network(stack)
        return Network(stack[:-1], AffineMap(stack[-1].weight, stack[-1].bias))
    if isinstance(network, nn.Module):
        return network_from_model(network)
    if isinstance(network, Layer):
        return Network(_layers_again([network]))
    if isinstance(network, (list, tuple)):
        if network and all(isinstance(item, Layer) for item in network):
            return Network(_layers_again(network))
        return Network(make_layers(list(network)))
    if isinstance(network, (np.ndarray, torch.Tensor)):
        return Network(make_layers([network]))
    raise InvalidNetworkError(
        f"cannot read a network from {type(network).__name__}; pass a torch.nn.Sequential, "
        "a weight matrix or a list of weight matrices"
    )


def _layers_again(layers: Sequence[Layer]) -> list[Layer]:
    return make_layers([item.weight for item in layers], [item.bias for item in layers])


def as_layers(network) -> list[Layer]:
    """The ReLU layers of ``network`` (see :func:`read_network`); refuses a head."""
    return _relu_only(read_network(network))


def load_weights(
    path: str | os.PathLike, *, layout: str | None = None, trust_pickle: bool = False
) -> Network:
    """Load a network from a file; the architecture is never guessed.

    * ``.npy``: one matrix ``W``, the layer ``x -> ReLU(W x)`` (a ``layout``, if given,
      must describe one Linear followed by a ReLU).
    * ``.npz`` and ``.pt`` dicts (state dicts): weights named ``W1, b1, W2, ...`` or
      ``<module>.weight`` / ``<module>.bias``, plus the activation layout, from the
      ``layout`` argument or a ``layout`` string stored in the file.
    * ``.pt`` holding a pickled ``Sequential``: read only with ``trust_pickle=True``,
      since unpickling a module runs code from the file.

    Parameters
    ----------
    layout : str, optional
        ``"relu"`` (a ReLU after every Linear), ``"final-linear"`` (after every Linear
        but the last) or the modules in order, e.g. ``"linear,relu,linear"``.
    trust_pickle : bool
        Allow ``torch.load(weights_only=False)`` for ``.pt`` files holding whole modules
        (refused for other files, which are never unpickled). Without it, a ``.pt`` file
        is read only on torch >= 2.10: older versions' safe loader has known bypasses.

    Raises
    ------
    InvalidArgumentError
        If ``trust_pickle`` is given for a file that is not ``.pt``.
    WeightsFileError
        If the file is missing, unreadable, of an unknown type, or needs unpickling.
    InvalidNetworkError
        If its arrays do not form a Linear/ReLU network under the layout.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise WeightsFileError(f"weights file not found: {path}")
    ext = os.path.splitext(path)[1].lower()
    if ext not in (".npy", ".npz", ".pt"):
        raise WeightsFileError(
            f"unknown weights file type {ext!r} for {path}; use .npy, .npz or .pt"
        )
    if trust_pickle and ext != ".pt":
        raise InvalidArgumentError(
            f"trust_pickle applies to .pt files only; {path} is read without unpickling",
            argument="trust_pickle",
        )
    try:
        if ext == ".npy":
            return _single_matrix(np.load(path, allow_pickle=False), layout)
        if ext == ".npz":
            with np.load(path, allow_pickle=False) as data:
                return _network_from_named_arrays({k: data[k] for k in data.files}, layout)
        return _network_from_torch_file(path, layout, trust_pickle)
    except (InvalidNetworkError, WeightsFileError):
        raise
    except Exception as exc:  # any reader failure is the file's fault, not ours
        raise WeightsFileError(f"cannot read {path}: {type(exc).__name__}: {exc}") from exc


def _single_matrix(weight, layout: str | None) -> Network:
    """One bare matrix: a ReLU layer, or whatever a stated layout makes of one Linear."""
    if layout is None:
        return Network(make_layers([weight]))
    return _assemble(parse_layout(layout, 1), [(weight, None)])


def torch_version() -> tuple[int, int]:
    """``(major, minor)`` of the installed torch (``(0, 0)`` if unreadable)."""
    found = re.match(r"(\d+)\.(\d+)", str(torch.__version__))
    return (int(found.group(1)), int(found.group(2))) if found else (0, 0)


def _network_from_torch_file(path: str, layout: str | None, trust_pickle: bool) -> Network:
    import pickle

    if not trust_pickle and torch_version() < SAFE_TORCH_LOAD:
        raise WeightsFileError(
            f"cannot read {path} safely: this torch version ({torch.__version__})'s safe loader "
            "has a known bypass; upgrade torch to >= 2.10 or save the weights as .npz"
        )
    try:
        with warnings.catch_warnings():  # torch warns about pickle protocols: noise for a user
            warnings.simplefilter("ignore")
            obj = torch.load(path, map_location="cpu", weights_only=not trust_pickle)
    except pickle.UnpicklingError as exc:
        raise PickleRefusedError(
            f"{path} holds pickled objects (a whole module?) and loading them would run code "
            "from the file; save model.state_dict() and state the layout, or pass "
            "trust_pickle=True if you trust the file"
        ) from exc
    if isinstance(obj, nn.Module):
        if layout is not None:
            raise InvalidNetworkError("the file holds a module, which states its own layout")
        return network_from_model(obj)
    if isinstance(obj, torch.Tensor):
        return _single_matrix(obj, layout)
    if isinstance(obj, dict):
        return _network_from_named_arrays(obj, layout)
    raise InvalidNetworkError(
        f"{path} holds a {type(obj).__name__}; expected a state dict, a tensor or a Sequential"
    )


def parse_layout(text: str, linears: int) -> list[str]:
    """Module tokens (``linear``/``relu``) of a layout string for ``linears`` Linear layers."""
    text = str(text).strip().lower()
    if text == "relu":
        return ["linear", "relu"] * linears
    if text == "final-linear":
        return ["linear", "relu"] * (linears - 1) + ["linear"]
    tokens = [t.strip() for t in text.split(",") if t.strip()]
    bad = sorted({t for t in tokens if t not in ("linear", "relu", *_PASS_THROUGH_TOKENS)})
    if bad or not tokens:
        raise InvalidNetworkError(
            f"layout {text!r}: unsupported module(s) {bad or ['(none)']}; injcheck handles "
            f"Linear and ReLU (and {', '.join(_PASS_THROUGH_TOKENS)}, skipped). Use "
            f"{' or '.join(LAYOUT_SHORTHANDS)}, or the modules in order such as "
            "'linear,relu,linear'"
        )
    return tokens


def _network_from_named_arrays(named: dict, layout: str | None) -> Network:
    """Weights named ``W1, b1, ...`` or ``<module>.weight/.bias``, under a stated layout."""
    named = dict(named)
    layout = _stated_layout(named.pop("layout", None), layout)
    if not named:
        raise InvalidNetworkError("the file holds no arrays")
    params, positions = _ordered_params(named)
    if layout is None:
        raise LayoutMissingError(
            "the file holds weights but not the activations between them; state the layout "
            f"(layout=...): {' or '.join(LAYOUT_SHORTHANDS)}, or the modules in order such as "
            "'linear,relu,linear'"
        )
    tokens = parse_layout(layout, len(params))
    if positions is not None:
        _check_positions(tokens, positions)
    return _assemble(tokens, params)


def _stated_layout(stored, given: str | None) -> str | None:
    """The layout from the file's own ``layout`` entry and/or the caller; they must agree."""
    if stored is None:
        return given
    if not isinstance(stored, str):
        stored = np.asarray(stored)
        if stored.dtype.kind != "U" or stored.size != 1:
            raise InvalidNetworkError("the file's 'layout' entry must be one string")
        stored = str(stored.reshape(-1)[0])
    if given is not None and stored.strip().lower() != str(given).strip().lower():
        raise InvalidNetworkError(f"layout {given!r} contradicts the file's own layout {stored!r}")
    return stored


def _ordered_params(named: dict) -> tuple[list[tuple], list[int] | None]:
    """``[(weight, bias)]`` in layer order, and Sequential indices when the names carry them."""
    keys = list(named)
    if all(re.fullmatch(r"[Wb]\d+", k) for k in keys):
        idx = sorted({int(k[1:]) for k in keys})
        if idx != list(range(1, len(idx) + 1)) or any(f"W{i}" not in named for i in idx):
            raise InvalidNetworkError(
                f"arrays {sorted(keys)}: expected W1..Wl (and optional b1..bl) with no gaps"
            )
        return [(named[f"W{i}"], named.get(f"b{i}")) for i in idx], None
    match = [re.fullmatch(r"(.+)\.(weight|bias)", k) for k in keys]
    if not all(match):
        bad = [k for k, mt in zip(keys, match) if not mt]
        raise InvalidNetworkError(
            f"unexpected array names {bad}; name weights W1, b1, W2, ... or use a "
            "state dict (<module>.weight, <module>.bias)"
        )
    prefixes = list(dict.fromkeys(mt.group(1) for mt in match))
    if any(f"{p}.weight" not in named for p in prefixes):
        raise InvalidNetworkError("a bias in the state dict has no weight beside it")
    numeric = all(p.isdigit() for p in prefixes)
    if numeric:
        prefixes.sort(key=int)
    params = [(named[f"{p}.weight"], named.get(f"{p}.bias")) for p in prefixes]
    return params, [int(p) for p in prefixes] if numeric else None


def _check_positions(tokens: list[str], positions: list[int]) -> None:
    """A Sequential's state dict names each Linear by its index: they must fit the layout."""
    expected = [i for i, t in enumerate(tokens) if t == "linear"]
    shift = positions[0] - expected[0]
    if [p - shift for p in positions] != expected:
        raise InvalidNetworkError(
            f"the state dict's Linear modules sit at indices {positions}, but the layout "
            f"{','.join(tokens)!r} puts them at {expected}: another module (an activation "
            "other than ReLU?) lies in between"
        )
