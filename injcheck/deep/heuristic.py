"""Batched heuristic witness search for deep bias-free ReLU networks (large ``n``).

Two searches, both in torch, batched over networks of one architecture and random
starts (``device="cpu"`` by default, ``"cuda"`` when asked; starts are drawn on the CPU so
every device starts from the same points). They prove nothing when they fail.

1. **Local failures** (:func:`search_local`): for each layer ``k``, annealed window
   descent on the sphere (as for one layer, :mod:`injcheck.one_layer.heuristic`) of the
   ramp surrogate ``sum_i clip((g_i + margin) / width, 0, 1)`` of the number of active
   units of layer ``k``, where ``g_i`` is the pre-activation of unit ``i`` normalised to
   ~N(0, 1) (divided by ``|w_i| |h_{k-1}| / sqrt(m_{k-1})``). The gradient goes through the
   activation pattern of the earlier layers at the current point (the map is piecewise
   linear; the pattern is free to change from step to step). Every start keeps the best
   point it visited; the counts reported are **certified** counts of those points
   (:func:`injcheck.deep.cell_signs.certified_counts`): exact active counts of an open
   region, hence true upper bounds on ``min a_k`` over open regions.
2. **Pairs** (:func:`search_pairs`, for global folds of 2-3 layer nets): gradient descent
   of ``|f(x) - f(y)|^2 / |x - y|^2`` over ``z = (x, y)`` on the unit sphere of
   ``R^{2n}`` (the ratio is scale-free for bias-free nets, so the sphere loses nothing),
   normalised Riemannian steps with a shrinking angle. A zero is a collision; the best
   pairs are handed to the polishing LP of :func:`injcheck.deep.witness.polish_pair`
   by :mod:`injcheck.deep.heuristic_check`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np

from ..exceptions import InvalidArgumentError
from ..layers import Layer
from ..one_layer.heuristic import resolve_device, sphere_step
from ..one_layer.polish import Polish, polish_cell
from .cell_signs import certified_counts

#: Share of a limited local search's time the exact improvement (polishing) may take.
POLISH_SHARE = 0.25

__all__ = ["DeepSearchSettings", "LocalSearch", "PairSearch", "search_local", "search_pairs"]


@dataclass(frozen=True)
class DeepSearchSettings:
    """Settings of the batched deep searches (settings only; work happens in calls).

    Attributes
    ----------
    starts, steps : int
        Random starts per network and descent steps, per target layer (local search).
    width_start, width_end, margin, step_start, step_end : float
        Window of the ramp surrogate and step angle (radians), shrunk geometrically as in
        :class:`injcheck.one_layer.heuristic.SearchSettings`.
    pair_starts, pair_steps : int
        Random starts and steps of the pair search (0 starts turns it off).
    pair_step_start, pair_step_end : float
        Step angle of the pair search.
    polish_tries : int
        LPs of the exact improvement (:func:`polish_layer`) per network and target layer
        after the first (0 turns it off); a count, not seconds, so that the result does
        not depend on the load.
    device : str
        torch device, ``"cpu"`` or ``"cuda"``.
    seed : int
        Seed of the random starts.
    threads : int
        torch CPU threads during a search (restored afterwards). 1 by default: on the
        shared 2-core machine at load ~5, 2 threads made the pair search 9x slower
        (n = 10, widths 80, 80: 1.17 s against 0.13 s).
    """

    starts: int = 8
    steps: int = 1000
    width_start: float = 2.0
    width_end: float = 0.02
    margin: float = 0.02
    step_start: float = 0.2
    step_end: float = 0.001
    pair_starts: int = 16
    pair_steps: int = 1500
    pair_step_start: float = 0.3
    pair_step_end: float = 1e-4
    polish_tries: int = 0
    device: str = "cpu"
    seed: int = 0
    threads: int = 1

    def __post_init__(self) -> None:
        if min(self.starts, self.steps, self.pair_steps, self.threads) < 1 or self.pair_starts < 0:
            raise InvalidArgumentError("starts and steps must be positive integers")
        positive = (self.width_start, self.width_end, self.step_start, self.step_end)
        if min(positive + (self.pair_step_start, self.pair_step_end)) <= 0 or self.margin < 0:
            raise InvalidArgumentError("widths and steps must be positive, margin >= 0")
        if self.polish_tries < 0:
            raise InvalidArgumentError("polish_tries must be >= 0")


@dataclass
class LocalSearch:
    """What the local search found for one network.

    Attributes
    ----------
    best_counts : list of int or None
        Per layer, the smallest certified active count seen (an upper bound on the
        minimum over open regions); None if no point had that layer certified.
    points : list of ndarray
        Candidate points (float64, unit norm), best first by their smallest
        ``a_j - n`` over certified layers.
    point_counts : list of list
        :func:`certified_counts` of each point.
    stats : dict
    truncated : bool
        Whether the ``time_limit`` cut a descent or the exact improvement short (the
        counts then depend on the machine's speed and load).
    """

    best_counts: list[int | None]
    points: list[np.ndarray]
    point_counts: list[list[int | None]]
    stats: dict = field(default_factory=dict)
    truncated: bool = False


@dataclass
class PairSearch:
    """Best pairs of the pair search for one network, best (smallest ratio) first."""

    pairs: list[tuple[np.ndarray, np.ndarray]]
    ratios: list[float]
    stats: dict = field(default_factory=dict)


def _stack_nets(nets: Sequence[Sequence[Layer]]) -> list[np.ndarray]:
    """Per layer, the ``(B, m_k, m_{k-1})`` float64 weights of a batch of networks."""
    if not nets:
        raise InvalidArgumentError("need at least one network")
    depth = len(nets[0])
    if any(len(net) != depth for net in nets):
        raise InvalidArgumentError("all networks of one batch need the same depth")
    if any(layer.has_bias for net in nets for layer in net):
        raise InvalidArgumentError("the heuristic searches bias-free networks (no input box)")
    try:
        return [np.stack([net[k].weight for net in nets]) for k in range(depth)]
    except ValueError as exc:
        raise InvalidArgumentError("all networks of one batch need the same shapes") from exc


@contextmanager
def _torch_threads(threads: int):
    """Run with ``threads`` torch CPU threads, then restore the caller's setting."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _unit_starts(batch: int, starts: int, dim: int, seed: int):
    import torch

    gen = torch.Generator().manual_seed(int(seed))
    x0 = torch.randn(batch, starts, dim, generator=gen, dtype=torch.float64)
    return x0 / x0.norm(dim=-1, keepdim=True)


class _TorchNet:
    """A batch of bias-free networks as torch tensors, with the scales of the fields."""

    def __init__(self, weights: list[np.ndarray], device, dtype) -> None:
        import torch

        self.w = [torch.as_tensor(w, dtype=dtype).to(device) for w in weights]
        # |w_i| / sqrt(fan-in): divides the pre-activation into a ~N(0, 1) field.
        self.scale = [
            (torch.linalg.vector_norm(w, dim=-1) / math.sqrt(w.shape[-1])).clamp_min(1e-30)
            for w in self.w
        ]

    def pre(self, x, upto: int) -> list:
        """Pre-activations of layers ``1..upto`` for ``x`` of shape ``(B, S, n)``."""
        import torch

        out, h = [], x
        for w in self.w[:upto]:
            pre = torch.bmm(h, w.transpose(1, 2))
            out.append(pre)
            h = torch.relu(pre)
        return out

    def forward(self, x):
        import torch

        return torch.relu(self.pre(x, len(self.w))[-1])


def _schedule(k: int, steps: int, start: float, end: float) -> float:
    return start * (end / start) ** (k / max(steps - 1, 1))


def _layer_gradient(net: _TorchNet, pres: list, x, target: int, width: float, margin: float):
    """Gradient in ``x`` of the ramp count of layer ``target`` (manual backward pass)."""
    import torch

    hidden = torch.relu(pres[target - 2]) if target > 1 else x
    size = torch.linalg.vector_norm(hidden, dim=-1, keepdim=True).clamp_min(1e-30)
    scale = net.scale[target - 1][:, None, :] * size
    fields = pres[target - 1] / scale
    pull = ((fields > -margin) & (fields < width - margin)).to(x.dtype) / (width * scale)
    grad = pull
    for j in range(target - 1, -1, -1):
        grad = torch.bmm(grad, net.w[j])
        if j > 0:
            grad = grad * (pres[j - 1] > 0).to(x.dtype)
    return grad


def _descend_layer(net: _TorchNet, x, target: int, s: DeepSearchSettings, deadline):
    """Annealed descent of layer ``target``'s count; best point of every start."""
    import torch

    m = net.w[target - 1].shape[1]
    best_x = x.clone()
    best_c = torch.full(x.shape[:2], m + 1, device=x.device)
    done = 0
    for step in range(s.steps):
        width = _schedule(step, s.steps, s.width_start, s.width_end)
        eta = _schedule(step, s.steps, s.step_start, s.step_end)
        pres = net.pre(x, target)
        count = (pres[-1] > 0).sum(-1)
        better = count < best_c
        best_c = torch.where(better, count, best_c)
        best_x = torch.where(better[..., None], x, best_x)
        x = sphere_step(x, _layer_gradient(net, pres, x, target, width, s.margin), eta)
        done = step + 1
        if deadline is not None and step % 25 == 24 and time.perf_counter() > deadline:
            break
    count = (net.pre(x, target)[-1] > 0).sum(-1)
    best_x = torch.where((count < best_c)[..., None], x, best_x)
    return best_x, done


def _rank_key(counts: list[int | None], n: int) -> tuple:
    """Sort key of a candidate: smallest ``a_j - n`` over certified layers first."""
    known = [a - n for a in counts if a is not None]
    return (min(known) if known else math.inf, -len(known))


def search_local(
    nets: Sequence[Sequence[Layer]],
    settings: DeepSearchSettings | None = None,
    *,
    time_limit: float | None = None,
    dtype: str = "float32",
) -> list[LocalSearch]:
    """Search low-count regions of every layer of a batch of bias-free networks.

    Parameters
    ----------
    nets : sequence of lists of Layer
        Networks of one architecture.
    settings : DeepSearchSettings, optional
    time_limit : float, optional
        A cap in seconds for the whole batch (the descents share ``1 - POLISH_SHARE`` of it
        equally, the exact improvement gets the rest); a result it cut short has
        ``truncated`` set.
    dtype : {"float32", "float64"}
        Arithmetic of the descent (counts are certified in float64 afterwards anyway).

    Returns
    -------
    list of LocalSearch
        One per network, in order.

    Examples
    --------
    >>> from injcheck.networks import as_layers, random_relu_net
    >>> net = as_layers(random_relu_net(10, [20, 20], seed=0))
    >>> found = search_local([net], DeepSearchSettings(starts=4, steps=200))[0]
    >>> len(found.best_counts)
    2
    """
    import torch

    s = settings or DeepSearchSettings()
    start = time.perf_counter()
    weights = _stack_nets(nets)
    dev = resolve_device(s.device)
    net = _TorchNet(weights, dev, getattr(torch, dtype))
    n, depth = weights[0].shape[2], len(weights)
    x0 = _unit_starts(len(nets), s.starts, n, s.seed)
    overall = None if time_limit is None else start + time_limit
    # The descents leave POLISH_SHARE of a limited budget to the exact improvement.
    descent_limit = time_limit if s.polish_tries == 0 else _share(time_limit, 1 - POLISH_SHARE)
    cands, steps_run = [], []
    for target in range(1, depth + 1):
        deadline = None
        if descent_limit is not None:
            left = descent_limit - (time.perf_counter() - start)
            deadline = time.perf_counter() + left / (depth - target + 1)
        with _torch_threads(s.threads):
            best_x, done = _descend_layer(net, x0.to(dev, net.w[0].dtype), target, s, deadline)
        cands.append(best_x.double().cpu().numpy())
        steps_run.append(done)
    descent_time = time.perf_counter() - start
    results = []
    for b, layers in enumerate(nets):
        points = [c[b][i] for c in cands for i in range(s.starts)]
        found = _certify(layers, points, n)
        if s.polish_tries > 0:
            found = _polish_best(layers, found, s.polish_tries, overall)
        found.truncated = found.truncated or min(steps_run) < s.steps
        results.append(found)
        results[-1].stats.update(
            starts=s.starts,
            steps_run=steps_run,
            device=str(dev),
            descent_time=descent_time,
            truncated=found.truncated,
            certify_time=time.perf_counter() - start - descent_time,
        )
    return results


def _certify(layers: Sequence[Layer], points: list[np.ndarray], n: int) -> LocalSearch:
    """Certified counts of every candidate; the per-layer best; candidates ranked."""
    counts = [certified_counts(layers, x) for x in points]
    best: list[int | None] = []
    for k in range(len(layers)):
        known = [c[k] for c in counts if c[k] is not None]
        best.append(min(known) if known else None)
    order = sorted(range(len(points)), key=lambda i: _rank_key(counts[i], n))
    uncertified = sum(any(a is None for a in c) for c in counts)
    return LocalSearch(
        best,
        [points[i] for i in order],
        [counts[i] for i in order],
        {"candidates": len(points), "uncertified_candidates": uncertified},
    )


def polish_layer(
    layers: Sequence[Layer],
    x: np.ndarray,
    k: int,
    max_tries: int | None = None,
    deadline: float | None = None,
) -> Polish:
    """Exact local improvement of layer ``k``'s active count at ``x`` (bias-free net).

    With the activation pattern of layers ``1..k-1`` held (each unit keeps its sign), the
    region is a polyhedral cone and layer ``k``'s pre-activations are linear in ``x``:
    the rows of ``A_k = W_k D_{k-1} ... W_1``. The one-layer margin LP
    (:func:`injcheck.one_layer.polish.polish_cell`) then keeps the negative units of
    layer ``k`` negative and moves the positive ones across their hyperplanes one at a
    time, smallest field first; every accepted move is a neighbouring region with one
    active unit fewer. ``max_tries`` and ``deadline`` as in ``polish_cell``; the point's
    counts must be re-certified.
    """
    from ..layers import activation_pattern, affine_pieces

    pattern = activation_pattern(layers[:k], x)
    maps = affine_pieces(layers[:k], pattern)
    rows = []
    for j in range(k - 1):
        a_j = maps[j][0]
        oriented = np.where(pattern[j], -1.0, 1.0)[:, None] * a_j  # negative at x
        keep = np.linalg.norm(a_j, axis=1) > 1e-12 * (np.abs(a_j).max(initial=0.0) + 1e-300)
        rows.append(oriented[keep])
    rows.append(maps[k - 1][0])
    return polish_cell(np.vstack(rows), x, max_tries=max_tries, deadline=deadline)


def _share(time_limit: float | None, fraction: float) -> float | None:
    return None if time_limit is None else fraction * time_limit


def _polish_best(
    layers: Sequence[Layer], found: LocalSearch, tries: int, deadline: float | None
) -> LocalSearch:
    """Polish the best certified candidate of every layer; keep what certifies lower."""
    n = layers[0].weight.shape[1]
    extra, flips, seconds, truncated = [], 0, 0.0, False
    for k in range(1, len(layers) + 1):
        ranked = [(c[k - 1], i) for i, c in enumerate(found.point_counts) if c[k - 1] is not None]
        if not ranked:
            continue
        t0 = time.perf_counter()
        polish = polish_layer(layers, found.points[min(ranked)[1]], k, tries, deadline)
        seconds += time.perf_counter() - t0
        truncated = truncated or polish.truncated
        if polish.x is not None and polish.flips > 0:
            extra.append(polish.x / np.linalg.norm(polish.x))
            flips += polish.flips
    polished = _certify(layers, extra + found.points, n)
    polished.truncated = truncated
    polished.stats.update(
        polish_flips=flips, polish_time=seconds, descent_best_counts=found.best_counts
    )
    return polished


def _pair_descent(net: _TorchNet, z, n: int, s: DeepSearchSettings, deadline):
    """Normalised descent of ``|f(x) - f(y)|^2 / |x - y|^2``; best z and ratio per start."""
    import torch

    best_z = z.clone()
    best_r = torch.full(z.shape[:2], math.inf, dtype=z.dtype, device=z.device)
    done = 0
    for step in range(s.pair_steps):
        eta = _schedule(step, s.pair_steps, s.pair_step_start, s.pair_step_end)
        z = z.detach().requires_grad_(True)
        x, y = z[..., :n], z[..., n:]
        gap = net.forward(x) - net.forward(y)
        ratio = (gap * gap).sum(-1) / ((x - y) ** 2).sum(-1).clamp_min(1e-300)
        (grad,) = torch.autograd.grad(ratio.sum(), z)
        with torch.no_grad():
            better = ratio < best_r
            best_r = torch.where(better, ratio, best_r)
            best_z = torch.where(better[..., None], z, best_z)
            z = sphere_step(z, grad, eta, floor=1e-300)
        done = step + 1
        if deadline is not None and step % 25 == 24 and time.perf_counter() > deadline:
            break
    return best_z.detach(), best_r.detach(), done


def search_pairs(
    nets: Sequence[Sequence[Layer]],
    settings: DeepSearchSettings | None = None,
    *,
    time_limit: float | None = None,
    keep: int = 8,
) -> list[PairSearch]:
    """Search near-collisions ``f(x) ~ f(y)``, ``x != y``, of a batch of bias-free nets.

    Runs in float64 (meant for ``n <= ~100``, 2-3 layers). Returns, per network, the
    ``keep`` best pairs (float64), smallest ratio ``|f(x) - f(y)|^2 / |x - y|^2`` first;
    they still have to be polished to an exact collision and verified.
    """
    import torch

    s = settings or DeepSearchSettings()
    start = time.perf_counter()
    weights = _stack_nets(nets)
    dev = resolve_device(s.device)
    net = _TorchNet(weights, dev, torch.float64)
    n = weights[0].shape[2]
    z0 = _unit_starts(len(nets), max(s.pair_starts, 1), 2 * n, s.seed + 1).to(dev)
    deadline = None if time_limit is None else start + time_limit
    with _torch_threads(s.threads):
        best_z, best_r, done = _pair_descent(net, z0, n, s, deadline)
    best_z, best_r = best_z.cpu().numpy(), best_r.cpu().numpy()
    out = []
    for b in range(len(nets)):
        order = np.argsort(best_r[b])[:keep]
        pairs = [(best_z[b, i, :n].copy(), best_z[b, i, n:].copy()) for i in order]
        stats = {"pair_steps_run": done, "pair_time": time.perf_counter() - start}
        out.append(PairSearch(pairs, [float(best_r[b, i]) for i in order], stats))
    return out
