"""The network type of injcheck: ReLU layers as float64 numpy arrays, and one forward pass.

Everything after the input boundary (:mod:`injcheck.networks` reads torch modules and
files) works on a list of :class:`Layer`. This module is numpy only. A bias-free layer
is a layer with a zero bias; :func:`is_homogeneous` says when a whole network is
positively homogeneous (every bias zero), which is what the checks care about.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Layer:
    """One affine map followed by ReLU: ``h -> ReLU(weight @ h + bias)``.

    Attributes
    ----------
    weight : ndarray of shape (m_out, m_in), float64
    bias : ndarray of shape (m_out,), float64
        Zero when not given.
    """

    weight: np.ndarray
    bias: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.bias is None:
            object.__setattr__(self, "bias", np.zeros(self.weight.shape[0]))

    @property
    def shape(self) -> tuple[int, int]:
        return self.weight.shape

    @property
    def has_bias(self) -> bool:
        return bool(np.any(self.bias))


@dataclass(frozen=True)
class AffineMap:
    """A final ``h -> weight @ h + bias`` with no activation after it (a network's head)."""

    weight: np.ndarray
    bias: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.bias is None:
            object.__setattr__(self, "bias", np.zeros(self.weight.shape[0]))


@dataclass(frozen=True)
class Network:
    """ReLU layers, optionally followed by one affine map without activation.

    Attributes
    ----------
    layers : list of Layer
        ``h -> ReLU(W h + b)``, in order.
    head : AffineMap or None
        A last ``Linear`` with no ReLU after it (a classifier or regression head).
    """

    layers: list[Layer]
    head: AffineMap | None = None


def is_homogeneous(layers: Sequence[Layer]) -> bool:
    """Every bias is zero: ``f(t x) = t f(x)`` for ``t >= 0``."""
    return not any(layer.has_bias for layer in layers)


def architecture(layers: Sequence[Layer]) -> list[int]:
    """``[n, m_1, ..., m_l]``."""
    return [layers[0].weight.shape[1]] + [layer.weight.shape[0] for layer in layers]


def pre_activations(layers: Sequence[Layer], x: np.ndarray) -> list[np.ndarray]:
    """``W_k h_{k-1} + b_k`` for every layer, for one input or a batch (rows).

    This is the one float forward pass of the package; the others are built on it.
    """
    h = np.asarray(x, dtype=np.float64)
    out = []
    for layer in layers:
        pre = h @ layer.weight.T + layer.bias
        out.append(pre)
        h = np.maximum(pre, 0.0)
    return out


def forward(layers: Sequence[Layer], x: np.ndarray) -> np.ndarray:
    """``f(x) = h_l(x)`` for one input or a batch (rows)."""
    return np.maximum(pre_activations(layers, x)[-1], 0.0)


def hidden_states(layers: Sequence[Layer], x: np.ndarray) -> list[np.ndarray]:
    """``h_1(x), ..., h_l(x)``."""
    return [np.maximum(pre, 0.0) for pre in pre_activations(layers, x)]


def activation_pattern(layers: Sequence[Layer], x: np.ndarray) -> list[np.ndarray]:
    """Boolean active sets (``pre > 0``) of every layer at ``x``."""
    return [pre > 0 for pre in pre_activations(layers, x)]


def affine_pieces(
    layers: Sequence[Layer], pattern: Sequence[np.ndarray]
) -> list[tuple[np.ndarray, np.ndarray]]:
    """``[(A_k, c_k)]`` with ``pre_k(x) = A_k x + c_k`` on the region of ``pattern``."""
    n = layers[0].weight.shape[1]
    jac, off = np.eye(n), np.zeros(n)
    out = []
    for layer, active in zip(layers, pattern, strict=False):
        a_k, c_k = layer.weight @ jac, layer.weight @ off + layer.bias
        out.append((a_k, c_k))
        mask = np.asarray(active, float)
        jac, off = mask[:, None] * a_k, mask * c_k
    return out


def near_zero_units(layers: Sequence[Layer], x: np.ndarray, rtol: float) -> list[np.ndarray]:
    """Per layer, a mask of units whose pre-activation at ``x`` (one input or a batch) is
    zero to ``rtol`` relative to the size of its terms, without vanishing identically."""
    h = np.asarray(x, dtype=np.float64)
    out = []
    for layer in layers:
        pre = h @ layer.weight.T + layer.bias
        size = np.abs(h) @ np.abs(layer.weight).T + np.abs(layer.bias)
        out.append((np.abs(pre) <= rtol * size) & (size > 0))
        h = np.maximum(pre, 0.0)
    return out
