"""The exact big-M MILP encoding of one copy of a ReLU network (CVXPY; build never solves).

For unit i of layer k with proven bounds ``l <= pre <= u``:

* always on (``l >= 0``): ``h = pre``;
* always off (``u <= 0``): ``h = 0``;
* undecided: a binary ``z`` and ``h >= 0``, ``h >= pre``, ``h <= pre - l (1 - z)``,
  ``h <= u z``. For ``z`` in {0, 1} this is exactly ``h = ReLU(pre)`` whenever
  ``l <= pre <= u``, which the bounds guarantee for every input of the box.

So the encoding's feasible set, projected on ``(x, h_1, ..., h_l)``, is exactly the
graph of the network over the box; the MILP is a relaxation of nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import cvxpy as cp
import numpy as np

from ..layers import Layer
from .bounds import OFF, ON, Bounds


@dataclass
class NetworkCopy:
    """One encoded copy of the network, with what is needed to decode a solution.

    Attributes
    ----------
    x : cvxpy.Variable
        The input.
    pre, post : list of cvxpy expressions
        ``W_k h_{k-1} + b_k`` and ``h_k`` per layer.
    active : list of cvxpy expressions
        Per layer, 1 for active units (constant 1 for always-on, the binary for
        undecided ones, constant 0 for always-off).
    binaries : list of (cvxpy.Variable or None)
        The binaries of the undecided units of each layer.
    constraints : list
    """

    name: str
    x: cp.Variable
    bounds: Bounds
    pre: list = field(default_factory=list)
    post: list = field(default_factory=list)
    active: list = field(default_factory=list)
    binaries: list = field(default_factory=list)
    undecided: list[np.ndarray] = field(default_factory=list)
    constraints: list = field(default_factory=list)

    @property
    def n_binaries(self) -> int:
        return int(sum(idx.size for idx in self.undecided))

    def pattern(self, values: dict[str, np.ndarray]) -> list[np.ndarray]:
        """Activation pattern (bool per unit and layer) of a solver solution."""
        out = []
        for k, idx in enumerate(self.undecided):
            act = self.bounds.state(k) == ON
            if idx.size:
                act[idx] = np.asarray(values[self.binaries[k].name()]).reshape(-1) > 0.5
            out.append(act)
        return out

    def pre_values(
        self, layers: Sequence[Layer], values: dict[str, np.ndarray]
    ) -> list[np.ndarray]:
        """The solver's pre-activations, recomputed from its ``h`` values."""
        h = np.asarray(values[self.x.name()], float).reshape(-1)
        out = []
        for k, layer in enumerate(layers):
            pre = layer.weight @ h + layer.bias
            out.append(pre)
            state = self.bounds.state(k)
            h = np.where(state == ON, pre, 0.0)
            idx = self.undecided[k]
            if idx.size:
                h[idx] = np.asarray(values[f"{self.name}_h{k + 1}"]).reshape(-1)
        return out


def encode_copy(layers: Sequence[Layer], bounds: Bounds, x: cp.Variable, name: str) -> NetworkCopy:
    """Encode ``h_l(x)`` for ``x`` in the box of ``bounds`` (the caller adds the box).

    Parameters
    ----------
    layers : list of Layer
    bounds : Bounds
        Proven pre-activation bounds on the box that the caller imposes on ``x``.
    x : cvxpy.Variable
        The input variable (its name should be unique in the problem).
    name : str
        Prefix of the variables created here (``{name}_z{k}``, ``{name}_h{k}``).

    Returns
    -------
    NetworkCopy
    """
    copy = NetworkCopy(name, x, bounds)
    h = x
    for k, layer in enumerate(layers):
        m = layer.weight.shape[0]
        pre = layer.weight @ h
        if layer.has_bias:
            pre = pre + layer.bias
        state = bounds.state(k)
        on = (state == ON).astype(float)
        idx = np.flatnonzero((state != ON) & (state != OFF))
        copy.undecided.append(idx)
        post = cp.multiply(on, pre) if on.any() else cp.Constant(np.zeros(m))
        active = cp.Constant(on)
        z = None
        if idx.size:
            lower, upper = bounds.lower[k][idx], bounds.upper[k][idx]
            z = cp.Variable(idx.size, boolean=True, name=f"{name}_z{k + 1}")
            hu = cp.Variable(idx.size, name=f"{name}_h{k + 1}")
            pre_u = pre[idx]
            copy.constraints += [
                hu >= 0,
                hu >= pre_u,
                hu <= pre_u - cp.multiply(lower, 1 - z),
                hu <= cp.multiply(upper, z),
            ]
            select = np.zeros((m, idx.size))
            select[idx, np.arange(idx.size)] = 1.0
            post = post + select @ hu
            active = active + select @ z
        copy.pre.append(pre)
        copy.post.append(post)
        copy.active.append(active)
        copy.binaries.append(z)
        h = post
    return copy
