"""Batched heuristic search for low-count cells of one ReLU layer (large ``n``).

A point ``x`` in an open cell of the arrangement of ``W`` with fewer than ``n`` rows
non-negative is a proof that ``x -> ReLU(W x)`` is not injective (THEORY.md section 2),
at any size. This module searches for such cells; it proves nothing when it fails.

Two stages (three with ``init="amp"``, the default of :func:`settings_for`):

0. **Staged AMP start** (``init="amp"``): generalised approximate message passing
   for the Gibbs measure ``exp(-beta * count)`` on the sphere, run in stages: each stage
   adds an increment orthogonal to the point built so far, with the remaining norm as its
   prior variance and a larger ``beta`` (an incremental, IAMP-like path from the centre
   of the sphere to its surface). Its end points are the starts of the descent
   (equations: docs/heuristic.md).
1. **Annealed window descent** (torch, batched over networks and random starts):
   normalised Riemannian gradient steps on the sphere for the ramp surrogate
   ``sum_i clip((h_i + margin) / width, 0, 1)`` of the count ``#{i : h_i >= 0}``
   (``h = W x`` with unit rows scaled by ``sqrt(n)``), with the window ``width`` and the
   step angle shrinking geometrically. Only rows inside the window pull, so rows that
   are far positive are given up and rows far negative are left alone, as in the
   Gordon picture of the ground state (push the small positive fields below 0).
2. **Exact polishing** (HiGHS, one network at a time, a budget of LPs): move the best
   point across the hyperplanes of its positive rows one at a time, each move checked by
   a margin LP (:mod:`injcheck.one_layer.polish`). Every accepted move lowers the count
   by one.

All work is counted in steps, starts and LPs, never in seconds, so a seed gives the same
count on any machine under any load; a ``time_limit`` is only a cap, and a search it cut
short says so (``CellSearch.truncated``).

The reported count is the count of the returned point computed with exactly certified
signs (:func:`injcheck.verify.exact_signs`), so it is a true upper bound on ``P*(W)``
whatever the float arithmetic of the search did. Measurements: ``docs/heuristic.md``.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import numpy as np

from ..exceptions import InvalidArgumentError
from ..verify import exact_signs
from .polish import polish_cell, polish_lp_budget

if TYPE_CHECKING:  # torch is imported where the search runs
    import torch

__all__ = [
    "SearchSettings",
    "CellSearch",
    "search_cells",
    "resolve_device",
    "amp_starts",
]

SURROGATES = ("ramp", "sigmoid", "log")
INITS = ("random", "amp")

#: First AMP stage: beta rises linearly from 0.1 to AMP_FIRST_BETA over AMP_FIRST_ITERS
#: iterations (at alpha = 5 the plain, replica-symmetric AMP stays stable up to beta ~ 3.6).
AMP_FIRST_BETA = 3.3
AMP_FIRST_ITERS = 800
#: AMP runs per layer in ``settings_for`` where ``m n <= AMP_MULTI_MAX_MN``, one above:
#: 4 runs against 1 lowered the count by 0.4-1.0 rows on average at n = 20-100 and by 1.8-3.3
#: at n = 250 (cost x1.3-1.6), and by nothing at n = 500 and 1000 (docs/heuristic.md).
AMP_STARTS = 4
AMP_MULTI_MAX_MN = 400_000
#: Stages stop once every start has less than this fraction of its squared norm left.
AMP_VSTOP = 1e-4
_LOG_SQRT_2PI = 0.5 * math.log(2 * math.pi)


@dataclass(frozen=True)
class SearchSettings:
    """Settings of the batched search (stores settings only; work happens in calls).

    Attributes
    ----------
    starts : int
        Random starts per network.
    steps : int
        Descent steps.
    width_start, width_end : float
        Window width of the surrogate at the first and last step (fields are ~N(0, 1)).
    margin : float
        Rows are pushed below ``-margin`` (the window is ``(-margin, width - margin)``).
    step_start, step_end : float
        Step angle (radians) at the first and last step.
    surrogate : {"ramp", "sigmoid", "log"}
        The smoothed count; ``ramp`` measured best (docs/heuristic.md).
    polish_tries : int
        Margin LPs of the exact polishing per network after the first (0 turns it off).
        A number of LPs, not seconds, so that the result does not depend on the load.
    polish_band : float, optional
        Row generation in the polishing LPs (:func:`~injcheck.one_layer.polish.polish_cell`
        ``band``): the LP starts with the negative rows whose ``N(0, 1)``-scaled field is
        within this of 0 and adds violated rows as needed; the same moves as the full LP,
        at a fraction of its size (what makes polishing affordable at n = 1000). None: the
        full LP.
    device : str
        torch device, ``"cpu"`` or ``"cuda"``.
    seed : int
        Seed of the random starts (drawn on the CPU, so every device sees the same starts).
    init : {"random", "amp"}
        Starts of the descent: uniform on the sphere, or the end points of the staged AMP
        (one AMP run per start; use ``width_start=0.5, step_start=0.05`` after it, as
        :func:`settings_for` does).
    amp_stages : int
        AMP stages after the first, at ``beta`` geometric from 3.5 to ``amp_beta_max``.
    amp_iters : int
        AMP iterations per stage.
    amp_beta_max : float
        ``beta`` of the last stage.
    amp_damping : float
        Damping of the AMP updates (1 = none).
    """

    starts: int = 16
    steps: int = 1500
    width_start: float = 2.0
    width_end: float = 0.02
    margin: float = 0.02
    step_start: float = 0.2
    step_end: float = 0.001
    surrogate: str = "ramp"
    polish_tries: int = 0
    polish_band: float | None = None
    device: str = "cpu"
    seed: int = 0
    init: str = "random"
    amp_stages: int = 40
    amp_iters: int = 150
    amp_beta_max: float = 300.0
    amp_damping: float = 0.15

    def __post_init__(self) -> None:
        if self.surrogate not in SURROGATES:
            raise InvalidArgumentError(
                f"surrogate must be one of {SURROGATES}, got {self.surrogate!r}"
            )
        if self.init not in INITS:
            raise InvalidArgumentError(f"init must be one of {INITS}, got {self.init!r}")
        if self.amp_stages < 0 or self.amp_iters < 1 or self.amp_beta_max < 3.5:
            raise InvalidArgumentError("amp_stages >= 0, amp_iters >= 1, amp_beta_max >= 3.5")
        if not 0 < self.amp_damping <= 1:
            raise InvalidArgumentError("amp_damping must lie in (0, 1]")
        if self.polish_band is not None and not self.polish_band > 0:
            raise InvalidArgumentError("polish_band must be positive (or None: the full LP)")
        if self.starts < 1 or self.steps < 1:
            raise InvalidArgumentError("starts and steps must be positive integers")
        positive = (self.width_start, self.width_end, self.step_start, self.step_end)
        if min(positive) <= 0 or self.margin < 0 or self.polish_tries < 0:
            raise InvalidArgumentError(
                "widths and steps must be positive, margin >= 0, polish_tries >= 0"
            )


@dataclass
class CellSearch:
    """The best cell found for one network.

    Attributes
    ----------
    count : int
        Exact number of rows with ``<w_i, x> >= 0`` at ``x`` (an upper bound on ``P*``).
    x : numpy.ndarray
        A float64 point; every row has an exactly certified non-zero sign unless
        ``open_cell`` is False.
    open_cell : bool
        Whether no row vanishes exactly at ``x``.
    descent_count : int
        Exact count of the descent's best point, before polishing.
    stats : dict
        Timings and counters.
    truncated : bool
        Whether the ``time_limit`` cut the AMP stages, the descent or the polishing short:
        the count then depends on the machine's speed and load (else only on the input,
        the settings and the seed).
    """

    count: int
    x: np.ndarray
    open_cell: bool
    descent_count: int
    stats: dict = field(default_factory=dict)
    truncated: bool = False


def sphere_step(x: torch.Tensor, grad: torch.Tensor, eta, floor: float = 1e-30) -> torch.Tensor:
    """One step of length ``eta`` against the tangent part of ``grad`` on the unit sphere
    (rows of ``x``), normalised so that the step size does not depend on the gradient's
    scale, then back onto the sphere."""
    grad = grad - (grad * x).sum(-1, keepdim=True) * x
    grad = grad / grad.norm(dim=-1, keepdim=True).clamp_min(floor)
    x = x - eta * grad
    return x / x.norm(dim=-1, keepdim=True)


def resolve_device(device: str):
    """``torch.device`` for ``device``; a clear error when CUDA is asked for but absent."""
    import torch

    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise InvalidArgumentError(f"device must be 'cpu' or 'cuda', got {device!r}") from exc
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise InvalidArgumentError("device='cuda' was asked for but torch sees no CUDA device")
    if dev.type not in ("cpu", "cuda"):
        raise InvalidArgumentError(f"device must be 'cpu' or 'cuda', got {device!r}")
    return dev


def _stack(weights) -> np.ndarray:
    """Validate a batch of layers of one shape; returns float64 ``(B, m, n)`` unit rows."""
    try:
        batch = np.stack([np.asarray(w, dtype=np.float64) for w in weights])
    except ValueError as exc:
        raise InvalidArgumentError("all layers of one batch need the same shape (m, n)") from exc
    if batch.ndim != 3 or batch.shape[0] == 0 or 0 in batch.shape[1:]:
        raise InvalidArgumentError(f"expected a batch of (m, n) matrices, got {batch.shape}")
    if not np.all(np.isfinite(batch)):
        raise InvalidArgumentError("weights must be finite")
    norms = np.linalg.norm(batch, axis=2, keepdims=True)
    # A zero row is non-negative everywhere; it keeps weight 0 and is counted exactly later.
    return np.divide(batch, norms, out=np.zeros_like(batch), where=norms > 0)


def _pull(h, width: float, margin: float, surrogate: str):
    """Derivative of the surrogate count with respect to the fields ``h``."""
    import torch

    if surrogate == "ramp":
        return ((h > -margin) & (h < width - margin)).to(h.dtype) / width
    if surrogate == "sigmoid":
        s = torch.sigmoid((h + margin) / width)
        return s * (1 - s) / width
    return (h > -margin).to(h.dtype) / (width + torch.relu(h + margin))  # log(1 + relu/width)


def _descend(rows, x, settings: SearchSettings, deadline: float | None):
    """Annealed normalised descent; returns the best point of every start (B, S, n)."""
    import torch

    steps = settings.steps
    best_x, best_c = x.clone(), torch.full(x.shape[:2], rows.shape[1] + 1, device=x.device)
    done = 0
    for k in range(steps):
        frac = k / max(steps - 1, 1)
        width = settings.width_start * (settings.width_end / settings.width_start) ** frac
        eta = settings.step_start * (settings.step_end / settings.step_start) ** frac
        h = torch.bmm(x, rows.transpose(1, 2))
        count = (h >= 0).sum(-1)
        better = count < best_c
        best_c = torch.where(better, count, best_c)
        best_x = torch.where(better[..., None], x, best_x)
        grad = torch.bmm(_pull(h, width, settings.margin, settings.surrogate), rows)
        x = sphere_step(x, grad, eta)
        done = k + 1
        if deadline is not None and k % 25 == 24 and time.perf_counter() > deadline:
            break
    h = torch.bmm(x, rows.transpose(1, 2))
    better = (h >= 0).sum(-1) < best_c
    best_x = torch.where(better[..., None], x, best_x)
    return best_x, done


def _amp_channel(p, tp, z0, beta: float):
    """GAMP output function ``g`` and its derivative for the channel ``exp(-beta 1[z > 0])``
    with ``z = z0 + N(p, tp)``: ``g = d/dp log Z``, ``Z = Phi(-u) + e^-beta Phi(u)``,
    ``u = (z0 + p) / sqrt(tp)``; computed in logs so that large ``beta`` and ``|u|`` stay finite."""
    import torch

    sq = tp.sqrt()
    u = (z0 + p) / sq
    log_z = torch.logaddexp(torch.special.log_ndtr(-u), torch.special.log_ndtr(u) - beta)
    g = math.expm1(-beta) * torch.exp(-0.5 * u * u - _LOG_SQRT_2PI - log_z) / sq
    return g, -g * u / sq - g * g


def _amp_stage(a, x0, v, betas, damping: float, noise, deadline: float | None):
    """One AMP stage: the increment (orthogonal to ``x0``, prior variance ``v`` a coordinate)
    for the Gibbs measure ``exp(-beta * #{i : <a_i, x0 + x> > 0})``; ``a`` holds unit rows,
    fields are ``N(0, 1)`` on the sphere of radius ``sqrt(n)``. Shapes: ``a (B, m, n)``,
    ``x0, noise (B, S, n)``, ``v (B, S, 1)``."""
    import torch

    m, n = a.shape[1:]
    at = a.transpose(1, 2)
    z0 = torch.bmm(x0, at)
    e0 = x0 / x0.norm(dim=-1, keepdim=True).clamp_min(1e-300)

    def orth(r):
        return r - (r * e0).sum(-1, keepdim=True) * e0

    xh = orth(noise) * 0.01 * v.sqrt()
    tx, s = v.clone(), torch.zeros_like(z0)
    for t, beta in enumerate(betas):
        p = torch.bmm(xh, at) - tx * s
        g, gp = _amp_channel(p, tx, z0, float(beta))
        s = g if t == 0 else damping * g + (1 - damping) * s
        tr = n / (m * (-gp.mean(-1, keepdim=True)).clamp_min(1e-12))
        r = orth(xh + tr * torch.bmm(s, a))
        # Spherical prior: the shrinkage c solves mean((c r)^2) + c tr = v (stable root).
        c = 2 * v / (tr + torch.sqrt(tr * tr + 4 * (r * r).mean(-1, keepdim=True) * v))
        xh = damping * c * r + (1 - damping) * xh
        tx = (c * tr).clamp_min(1e-12)
        if deadline is not None and t % 25 == 24 and time.perf_counter() > deadline:
            break
    return xh


def amp_starts(unit_rows, starts: int, settings: SearchSettings, gen, deadline=None):
    """End points of the staged AMP, one run per start: a unit ``(B, starts, n)`` tensor.

    Parameters
    ----------
    unit_rows : torch.Tensor
        ``(B, m, n)`` float64 rows of norm 1 (zero rows allowed), on the search device.
    starts : int
    settings : SearchSettings
    gen : torch.Generator
        CPU generator of the stage noise (every device sees the same noise).
    deadline : float, optional
        ``time.perf_counter()`` value after which the stages stop.
    """
    import torch

    batch, _, n = unit_rows.shape
    x0 = torch.zeros(batch, starts, n, dtype=unit_rows.dtype, device=unit_rows.device)
    betas = np.geomspace(3.5, settings.amp_beta_max, settings.amp_stages)
    schedule = [np.linspace(0.1, AMP_FIRST_BETA, AMP_FIRST_ITERS)]
    schedule += [np.full(settings.amp_iters, b) for b in betas]
    for stage_betas in schedule:
        v = (1 - x0.pow(2).mean(-1, keepdim=True)).clamp_min(1e-12)
        if float(v.max()) < AMP_VSTOP:
            break
        noise = torch.randn(x0.shape, generator=gen, dtype=x0.dtype).to(x0.device)
        x0 = x0 + _amp_stage(unit_rows, x0, v, stage_betas, settings.amp_damping, noise, deadline)
        if deadline is not None and time.perf_counter() > deadline:
            break
    return x0 / x0.norm(dim=-1, keepdim=True).clamp_min(1e-300)


def _exact_count(weight: np.ndarray, x: np.ndarray) -> tuple[int, bool]:
    signs = exact_signs(weight, x)
    return int(np.sum(signs >= 0)), bool(np.all(signs != 0))


def search_cells(
    weights, settings: SearchSettings | None = None, *, time_limit: float | None = None
) -> list[CellSearch]:
    """Search low-count cells of a batch of layers of one shape, all at once.

    Parameters
    ----------
    weights : array_like of shape (B, m, n), or a sequence of (m, n) arrays
    settings : SearchSettings, optional
    time_limit : float, optional
        A cap in seconds for the whole batch: AMP, descent and polishing stop early, and
        every result it cut short has ``truncated`` set.

    Returns
    -------
    list of CellSearch
        One per layer, in order; ``count`` is exact.

    Examples
    --------
    >>> import numpy as np
    >>> w = np.random.default_rng(0).standard_normal((60, 20))
    >>> found = search_cells([w], SearchSettings(starts=4, steps=200))[0]
    >>> bool(found.count <= 20)
    True
    """
    import torch

    settings = settings or SearchSettings()
    start = time.perf_counter()
    deadline = None if time_limit is None else start + time_limit
    batch = _stack(weights)
    n = batch.shape[2]
    dev = resolve_device(settings.device)
    gen = torch.Generator().manual_seed(int(settings.seed))
    if settings.init == "amp":
        unit = torch.as_tensor(batch, dtype=torch.float64).to(dev)
        x0 = amp_starts(unit, settings.starts, settings, gen, deadline).float()
    else:
        x0 = torch.randn(batch.shape[0], settings.starts, n, generator=gen)
        x0 = (x0 / x0.norm(dim=-1, keepdim=True)).to(dev)
    # Conservative: a deadline passed by the end of the AMP stages may have cut them.
    init_cut = settings.init == "amp" and _past(deadline)
    init_time = time.perf_counter() - start
    rows = torch.as_tensor(batch * math.sqrt(n), dtype=torch.float32).to(dev)
    best_x, done = _descend(rows, x0, settings, deadline)
    cand = best_x.double().cpu().numpy()
    descent_time = time.perf_counter() - start
    results = []
    for b, w in enumerate(weights):
        counts = np.sum(cand[b] @ batch[b].T >= 0, axis=1)
        x = cand[b][int(np.argmin(counts))]
        result = _finish(np.asarray(w, dtype=np.float64), x, settings, deadline)
        result.truncated = result.truncated or init_cut or done < settings.steps
        result.stats.update(
            starts=settings.starts,
            steps_run=done,
            device=str(dev),
            init=settings.init,
            init_time=init_time,
            descent_time=descent_time,
            start_counts=np.sort(counts).tolist(),
            truncated=result.truncated,
        )
        results.append(result)
    return results


def _past(deadline: float | None) -> bool:
    return deadline is not None and time.perf_counter() >= deadline


def _finish(weight, x, settings: SearchSettings, deadline: float | None) -> CellSearch:
    """Certify the descent's point, then polish it exactly with the budget of LPs."""
    count, open_cell = _exact_count(weight, x)
    descent_count = count
    stats = {"flips": 0, "flips_tried": 0, "polish_time": 0.0}
    if settings.polish_tries == 0 or not open_cell:
        return CellSearch(count, x, open_cell, descent_count, stats)
    if _past(deadline):
        return CellSearch(count, x, open_cell, descent_count, stats, truncated=True)
    t0 = time.perf_counter()
    polished = polish_cell(
        weight, x, max_tries=settings.polish_tries, deadline=deadline, band=settings.polish_band
    )
    stats.update(
        flips=polished.flips,
        flips_tried=polished.tried,
        polish_solves=polished.solves,
        polish_lp_rows=polished.lp_rows,
        polish_time=time.perf_counter() - t0,
    )
    if polished.x is not None:
        new_count, new_open = _exact_count(weight, polished.x)
        if new_open and new_count < count:
            x, count = polished.x, new_count
    return CellSearch(count, x, open_cell, descent_count, stats, truncated=polished.truncated)


def search_layer(
    weight: np.ndarray, settings: SearchSettings | None = None, *, time_limit: float | None = None
) -> CellSearch:
    """:func:`search_cells` for one layer."""
    return search_cells([weight], settings, time_limit=time_limit)[0]


#: Multiply-adds of the default descent (starts x steps x m x n): ~15 s on one loaded
#: core of the 2-core EPYC used here (7.7e9 multiply-adds per second measured at n = 500).
DEFAULT_WORK = 1.2e11


def settings_for(n: int, m: int, **overrides) -> SearchSettings:
    """Default settings sized for one layer of shape ``(m, n)``; they depend on the shape
    only (never on timings), so a seed always gives the same verdict.

    The default start is the staged AMP (``init="amp"``): it measured lower counts than
    random starts at every size tried, n = 20 to 1000 (docs/heuristic.md). ``AMP_STARTS``
    runs where ``m n <= AMP_MULTI_MAX_MN``, one above (more runs gained nothing at n = 500,
    1000), each followed by a 1000-step descent from a narrow window.

    ``init="random"``: 8 uniform starts and ``DEFAULT_WORK / (8 m n)`` steps, clipped to
    [1000, 4000] (longer schedules paid more than more starts).

    Either way, polishing gets ``polish_lp_budget(m, n)`` LPs (a few seconds' worth).
    """
    polish = polish_lp_budget(m, n)
    if overrides.get("init", "amp") == "random":
        steps = int(min(4000, max(1000, DEFAULT_WORK / (8 * m * n))))
        base = SearchSettings(starts=8, steps=steps, polish_tries=polish)
    else:
        # The AMP end point is already a deep minimum: a short descent from a narrow window
        # (a wide one walks away from it).
        runs = AMP_STARTS if m * n <= AMP_MULTI_MAX_MN else 1
        base = SearchSettings(
            starts=runs,
            steps=1000,
            width_start=0.5,
            step_start=0.05,
            polish_tries=polish,
            init="amp",
        )
    return replace(base, **overrides)
