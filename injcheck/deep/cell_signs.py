"""Certified activation signs of a deep ReLU network at one float64 input, at any size.

A local witness of a deep network is a point ``x`` in an **open** linear region where some
layer ``j`` has fewer than ``n`` strictly active units. If every pre-activation of layers
``1..j`` is non-zero at ``x`` (exactly, not just in floats), the activation pattern is
constant on a neighbourhood ``U`` of ``x``, where ``h_j(x') = J x' + c`` with
``J = D_j W_j ... D_1 W_1`` of rank ``<= a_j < n``. A non-zero ``d`` with ``J d = 0`` gives
``h_j(x + t d) = h_j(x)`` for small ``t``, hence ``f(x + t d) = f(x)`` (later layers only
see ``h_j``): the network is not injective. No genericity is needed and no rational
linear algebra: the exact part of the proof is the signs. This is the deep form of
:func:`injcheck.verify.verify_cell_witness`; the rational snap of
:func:`injcheck.verify.verify_witness` grows like ``n^4`` and is out of reach at
``n = 100+``.

Signs are certified by a rigorous forward error bound (Higham, *Accuracy and
Stability*, section 3.1): a float64 dot product of length ``p`` is within
``gamma_p |w|.|h|`` of the exact one (any order, FMA or not), ReLU is 1-Lipschitz, so
the error of layer ``k`` is at most ``gamma (|W_k| |h_hat| + |b_k|) + |W_k| e_{k-1}``,
doubled to cover the rounding of the bound itself, plus an underflow term. A unit is
certified when its float value exceeds its bound; the others are reported as 0
(uncertain), and a witness needs none of them.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..layers import Layer
from ..verify import WitnessCheck, float_check

__all__ = ["certified_signs", "certified_counts", "verify_deep_cell_witness"]

_U = 2.0**-53
_TINY = 2.0**-1073


def _gamma(p: int) -> float:
    return p * _U / (1.0 - p * _U)


def certified_signs(layers: Sequence[Layer], x: np.ndarray, upto: int | None = None) -> list:
    """Signs (-1, 0, 1) of the pre-activations of layers ``1..upto`` at ``x``, exact where
    non-zero; 0 means "not certified" (the exact value may have either sign or vanish).

    Parameters
    ----------
    layers : list of Layer
    x : ndarray of shape (n,)
        A float64 input (read as the rational it represents).
    upto : int, optional
        Last layer (1-based); all layers by default.

    Returns
    -------
    list of int8 arrays, one per layer.
    """
    upto = len(layers) if upto is None else upto
    h = np.asarray(x, dtype=np.float64).ravel()
    err = np.zeros_like(h)  # the input is exact
    out = []
    with np.errstate(all="ignore"):
        for layer in layers[:upto]:
            w_abs = np.abs(layer.weight)
            p = layer.weight.shape[1]
            pre = layer.weight @ h + layer.bias
            own = _gamma(p + 2) * (w_abs @ np.abs(h) + np.abs(layer.bias))
            err = 2.0 * (own + w_abs @ err) + (p + 1) * _TINY
            sure = np.isfinite(pre) & np.isfinite(err) & (np.abs(pre) > err)
            out.append(np.where(sure, np.sign(pre), 0).astype(np.int8))
            h = np.maximum(pre, 0.0)
    return out


def certified_counts(layers: Sequence[Layer], x: np.ndarray) -> list[int | None]:
    """Exact active counts ``a_k`` at ``x`` of the layers whose region is proven open.

    ``a_k`` is given while every unit of layers ``1..k`` has a certified non-zero sign
    (then ``x`` lies in an open region of the first ``k`` layers and ``a_k`` is the
    count of that region); from the first uncertain unit on, ``None``.
    """
    counts: list[int | None] = []
    open_so_far = True
    for signs in certified_signs(layers, x):
        open_so_far = open_so_far and bool(np.all(signs != 0))
        counts.append(int(np.sum(signs > 0)) if open_so_far else None)
    return counts


def verify_deep_cell_witness(layers: Sequence[Layer], x: np.ndarray, y: np.ndarray) -> WitnessCheck:
    """Verify a local collision ``(x, y)`` of a deep net by the certified signs at ``x``.

    Exact part: some layer ``j`` has every unit of layers ``1..j`` certified non-zero at
    ``x`` and fewer than ``n`` certified positive (module docstring: a proof of
    non-injectivity). Float part: the pair passes :func:`injcheck.verify.float_check`.
    """
    x = np.asarray(x, dtype=np.float64).ravel()
    y = np.asarray(y, dtype=np.float64).ravel()
    n = layers[0].weight.shape[1]
    if x.shape != (n,) or y.shape != (n,) or not np.all(np.isfinite(np.r_[x, y])):
        return WitnessCheck(False, False, np.inf, 0.0, x, y, "witness has the wrong shape")
    counts = certified_counts(layers, x)
    failing = [k for k, a in enumerate(counts) if a is not None and a < n]
    exact_ok, reason = bool(failing), ""
    if not failing:
        reason = (
            "no layer with fewer than n units active in a proven open region at x "
            f"(certified counts {counts})"
        )
    float_ok, residual, separation = float_check(layers, x, y)
    if exact_ok and not float_ok:
        reason = "float64 forward pass disagrees beyond the tolerance or x is too close to y"
    return WitnessCheck(
        float_ok, exact_ok, residual, separation, x, y, reason, exact_check="cell signs"
    )
