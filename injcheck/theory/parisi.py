"""k-step RSB (k-step lifting) at zero temperature: Parisi recursion with FFT convolutions.

Parameters of level k (derivation in ``docs/theory.md``): overlaps
``0 < q_0 < q_1 < ... < q_{k-1} < q_k = 1``, the zero-temperature susceptibility ``chi``
of the last step and Parisi parameters ``0 < c_1 <= ... <= c_k`` (``x_i = c_i / beta``).
With ``D_k = chi``, ``D_{i-1} = D_i + c_i (q_i - q_{i-1})``:

    f = -1/2 sum_i ln(D_{i-1}/D_i) / c_i - q_0 / (2 D_0) + alpha E_z g_0(sqrt(q_0) z),
    g_{k-1}(h) = -(1/c_k) ln E_z exp(-c_k M(h + sqrt(1 - q_{k-1}) z)),
    g_{i-1}(h) = -(1/c_i) ln E_z exp(-c_i g_i(h + sqrt(q_i - q_{i-1}) z)),

where ``M(h) = min_y [(y - h)^2 / (2 chi) + 1(y >= 0)]`` is 0 for ``h < 0``,
``h^2/(2 chi)`` on ``[0, sqrt(2 chi)]`` and 1 above: in the rescaled field
``h / sqrt(2 chi)`` the row cost 0, ``h^2``, 1 of the brief. The innermost average is
done in closed form (the 1RSB integrals), the other ``k - 1`` by FFT on a uniform grid,
and the prediction is ``f`` at its stationary point. For ``k = 1`` this is exactly the
1RSB functional of :mod:`injcheck.theory.rsb`.

Derivatives come from torch autograd (float64), the stationary point from Newton's
method; the full-RSB limit from extrapolating ``k = 1..K`` in ``1/k``.
"""

from __future__ import annotations

import contextlib
import functools
import math
from dataclasses import dataclass, field

import numpy as np
import torch
from scipy import optimize

__all__ = [
    "KRSBPoint",
    "Grid",
    "energy_krsb",
    "solve_krsb",
    "capacity_krsb",
    "capacity_sequence",
    "extrapolate_frsb",
    "ground_state_sequence",
]

_DT = torch.float64


@contextlib.contextmanager
def _single_thread():
    """Run torch on one thread: the arrays are small (~4k points) and multi-threaded
    kernels are up to 100x slower on a loaded machine. Restores the setting afterwards."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(n)


def _one_thread(fn):
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with _single_thread():
            return fn(*args, **kwargs)

    return wrapper


@dataclass(frozen=True)
class Grid:
    """Uniform field grid ``h in [-L, L]`` with spacing ``dx``.

    Beyond ``|h| = L`` every ``g_i`` is constant to ~1e-20 (0 on the left, 1 on the
    right), so convolutions extend the arrays by their edge values instead of wrapping.
    """

    L: float = 10.0
    dx: float = 0.01

    @property
    def h(self) -> torch.Tensor:
        n = int(round(self.L / self.dx))
        return torch.arange(-n, n + 1, dtype=_DT) * self.dx


def _ndtr(x):
    return torch.special.ndtr(x)


def _phi_diff(a, b):
    """``Phi(b) - Phi(a)`` with no cancellation when both are close to 1."""
    return torch.where(a > 0, _ndtr(-a) - _ndtr(-b), _ndtr(b) - _ndtr(a))


def _innermost(h, chi, c, v, lam):
    """``N(h) = E_z exp(-c M_lam(h + sqrt(v) z))`` in closed form (1RSB integrals).

    ``lam`` scales the unit cost of a non-negative row; ``d f / d lam`` at ``lam = 1`` is
    the second (counting) expression of the energy.
    """
    s = torch.sqrt(v)
    d = chi + c * v
    a = torch.sqrt(chi / d)
    top = torch.sqrt(2.0 * chi * lam)
    i_neg = _ndtr(-h / s)
    i_top = _ndtr((h - top) / s)
    # middle: Gaussian in y times exp(-c y^2/(2 chi)) over [0, top]
    mu = h * chi / d
    sig = s * a
    i_mid = a * torch.exp(-c * h * h / (2.0 * d)) * _phi_diff(-mu / sig, (top - mu) / sig)
    return i_neg + torch.exp(-c * lam) * i_top + i_mid


def _pad_width(var: float, dx: float, n_sig: float = 9.0) -> int:
    return int(math.ceil(n_sig * math.sqrt(max(var, 0.0)) / dx)) + 2


def _gauss_conv(f, var, dx, pad: int):
    """Convolve samples ``f`` with N(0, var) by FFT, extending ``f`` by its edge values.

    ``pad`` (from :func:`_pad_width`, computed on plain floats so that the function can
    be traced by ``torch.func``) must cover ~9 standard deviations.
    """
    fp = torch.cat([f[:1].expand(pad), f, f[-1:].expand(pad)])
    n = fp.shape[0]
    nfft = 1 << (n - 1).bit_length()
    omega = 2.0 * math.pi * torch.fft.rfftfreq(nfft, d=dx, dtype=_DT)
    # Multiply by the exact characteristic function of N(0, var): spectral accuracy for
    # smooth f. Zero padding to nfft only touches the far ends, which are cropped.
    spec = torch.fft.rfft(fp, n=nfft) * torch.exp(-0.5 * var * omega**2)
    out = torch.fft.irfft(spec, n=nfft)[:n]
    return out[pad : pad + f.shape[0]]


def _unpack(theta: torch.Tensor, k: int):
    q = theta[:k]
    chi = theta[k]
    c = theta[k + 1 :]
    return q, chi, c


def _pads(theta: np.ndarray, k: int, grid: Grid) -> list[int]:
    qs = list(np.asarray(theta, dtype=float)[:k]) + [1.0]
    return [_pad_width(qs[i] - qs[i - 1], grid.dx) for i in range(k)]  # index i: (q_{i-1}, q_i)


def energy_parts(theta: torch.Tensor, k: int, grid: Grid, lam=None, pads=None):
    """Return ``(S, E)`` with ``f = S + alpha E`` (entropic and per-row parts)."""
    if pads is None:
        pads = _pads(theta.detach().numpy(), k, grid)
    q, chi, c = _unpack(theta, k)
    lam = torch.ones((), dtype=_DT) if lam is None else lam
    one = torch.ones((), dtype=_DT)
    qs = torch.cat([q, one[None]])  # q_0..q_{k-1}, q_k = 1
    # entropic term
    d = chi
    s_term = torch.zeros((), dtype=_DT)
    for i in range(k, 0, -1):  # i = k..1 uses c_i = c[i-1]
        d_prev = d + c[i - 1] * (qs[i] - qs[i - 1])
        s_term = s_term - 0.5 * torch.log(d_prev / d) / c[i - 1]
        d = d_prev
    s_term = s_term - q[0] / (2.0 * d)
    # energetic term by the Parisi recursion on the grid
    h = grid.h
    n_k = _innermost(h, chi, c[k - 1], 1.0 - q[k - 1], lam)
    g = -torch.log(n_k) / c[k - 1]  # g_{k-1}
    for i in range(k - 1, 0, -1):  # g_{i-1} from g_i with c_i = c[i-1]
        conv = _gauss_conv(torch.exp(-c[i - 1] * g), qs[i] - qs[i - 1], grid.dx, pads[i])
        g = -torch.log(conv) / c[i - 1]
    # E_z g_0(sqrt(q_0) z): trapezoid against the N(0, q_0) density on the grid
    w = torch.exp(-0.5 * h * h / q[0]) / torch.sqrt(2.0 * math.pi * q[0]) * grid.dx
    return s_term, torch.sum(w * g)


@_one_thread
def energy_krsb(theta, alpha: float, k: int, grid: Grid | None = None) -> float:
    """The k-RSB functional ``f`` at parameters ``theta = (q_0..q_{k-1}, chi, c_1..c_k)``."""
    grid = grid or Grid()
    t = torch.as_tensor(np.asarray(theta, dtype=float))
    s, e = energy_parts(t, k, grid)
    return float(s + alpha * e)


def _derivs(theta: np.ndarray, k: int, grid: Grid, alpha: float, hessian: bool = True):
    """S, E, grad S, grad E, Hessian of S + alpha E, and the counting energy d f/d lam."""
    pads = _pads(theta, k, grid)
    t = torch.tensor(theta, dtype=_DT, requires_grad=True)
    lam = torch.ones((), dtype=_DT, requires_grad=True)
    s, e = energy_parts(t, k, grid, lam, pads)
    gs, gsl = torch.autograd.grad(s, (t, lam), allow_unused=True)
    ge, gel = torch.autograd.grad(e, (t, lam))
    hess = None
    if hessian:
        # reverse-over-reverse Hessian, vectorised over rows by torch.func (fastest here)
        def f(th):
            s_, e_ = energy_parts(th, k, grid, None, pads)
            return s_ + alpha * e_

        hess = torch.func.jacrev(torch.func.jacrev(f))(t.detach()).numpy()
        hess = 0.5 * (hess + hess.T)
    count = alpha * float(gel.detach())  # S does not depend on lam
    s, e = s.detach(), e.detach()
    return (float(s), float(e), gs.detach().numpy(), ge.detach().numpy(), hess, count)


@dataclass
class KRSBPoint:
    """Stationary point of the k-RSB functional (``alpha`` fixed or at the threshold)."""

    k: int
    alpha: float
    q: list[float]
    chi: float
    c: list[float]
    energy: float
    energy_count: float
    grad_norm: float
    grid: dict = field(default_factory=dict)

    @property
    def theta(self) -> np.ndarray:
        return np.array(self.q + [self.chi] + self.c)

    def is_ordered(self) -> bool:
        """Overlaps increase in ``(0, 1)``, ``chi > 0`` and Parisi parameters increase."""
        q, c = np.array(self.q), np.array(self.c)
        return bool(
            np.all(np.diff(q) > 0)
            and q[0] > 0
            and q[-1] < 1
            and self.chi > 0
            and np.all(c > 0)
            and np.all(np.diff(c) >= -1e-9)
        )


def _valid(theta: np.ndarray, k: int) -> bool:
    q, chi, c = theta[:k], theta[k], theta[k + 1 :]
    return bool(q[0] > 0 and q[-1] < 1 and np.all(np.diff(q) > 0) and chi > 0 and np.all(c > 0))


def _newton(fun_jac, x0, valid, tol=1e-11, maxiter=80):
    x = np.array(x0, dtype=float)
    r, j = fun_jac(x)
    for _ in range(maxiter):
        nr = np.linalg.norm(r)
        if nr < tol:
            return x, nr
        try:
            step = np.linalg.solve(j, -r)
        except np.linalg.LinAlgError:
            step = np.linalg.lstsq(j, -r, rcond=None)[0]
        t = 1.0
        while t > 1e-8:
            xn = x + t * step
            if valid(xn):
                rn, jn = fun_jac(xn)
                if np.all(np.isfinite(rn)) and np.linalg.norm(rn) < (1 - 1e-4 * t) * nr:
                    break
            t *= 0.5
        else:
            raise RuntimeError(f"k-RSB Newton stalled at |grad| = {nr:.2e}")
        x, r, j = xn, rn, jn
    nr = np.linalg.norm(r)
    if nr > 1e-7:
        raise RuntimeError(f"k-RSB Newton did not converge: |grad| = {nr:.2e}")
    return x, nr


def _point(theta, k, alpha, grid) -> KRSBPoint:
    s, e, gs, ge, _, count = _derivs(theta, k, grid, alpha, hessian=False)
    return KRSBPoint(
        k=k,
        alpha=float(alpha),
        q=[float(v) for v in theta[:k]],
        chi=float(theta[k]),
        c=[float(v) for v in theta[k + 1 :]],
        energy=s + alpha * e,
        energy_count=count,
        grad_norm=float(np.linalg.norm(gs + alpha * ge)),
        grid={"L": grid.L, "dx": grid.dx},
    )


def _maximize(
    alpha: float, k: int, theta0, grid: Grid, gtol: float = 1e-10, maxiter: int = 200
) -> np.ndarray:
    """Local maximum of ``f`` over ``theta`` by saddle-free Newton with a line search.

    The physical k-RSB stationary point is a local maximum of the zero-temperature
    functional in all ``2k + 1`` parameters (checked on the Hessian in the tests), so
    an ascent method cannot slide into the degenerate saddles where two overlaps
    coincide, which is where plain Newton from a (k-1)-level guess goes. The step is
    ``V |Lambda|^-1 V^T grad`` (the Newton step once the Hessian is negative definite);
    the Hessian is badly conditioned at large k (flat directions of the Parisi profile).
    """
    theta = np.asarray(theta0, dtype=float)
    s, e, gs, ge, hess, _ = _derivs(theta, k, grid, alpha)
    f, g = s + alpha * e, gs + alpha * ge
    for _ in range(maxiter):
        if np.linalg.norm(g) < gtol:
            return theta
        w, v = np.linalg.eigh(hess)
        aw = np.maximum(np.abs(w), 1e-12 * np.max(np.abs(w)))
        step = v @ ((v.T @ g) / aw)
        # flat directions give huge steps: cap the relative move at 20% per iteration
        big = np.max(np.abs(step) / np.maximum(1.0, np.abs(theta)))
        if big > 0.2:
            step *= 0.2 / big
        slope = float(g @ step)
        t = 1.0
        while t > 1e-10:
            tn = theta + t * step
            if _valid(tn, k):
                sn, en, gsn, gen, _, _ = _derivs(tn, k, grid, alpha, hessian=False)
                fn = sn + alpha * en
                if fn >= f + 1e-4 * t * slope or (
                    np.linalg.norm(gsn + alpha * gen) < 0.5 * np.linalg.norm(g) and fn >= f - 1e-14
                ):
                    break
            t *= 0.5
        else:
            break  # no progress possible at this precision
        theta = tn
        s, e, gs, ge, hess, _ = _derivs(theta, k, grid, alpha)
        f, g = s + alpha * e, gs + alpha * ge
    if np.linalg.norm(g) > max(1e3 * gtol, 1e-7):
        raise RuntimeError(
            f"k-RSB maximisation failed (k={k}, alpha={alpha}): |grad| = {np.linalg.norm(g):.2e}"
        )
    return theta


@_one_thread
def solve_krsb(alpha: float, k: int, theta0, grid: Grid | None = None) -> KRSBPoint:
    """Stationary point (local maximum) of the k-RSB functional at fixed ``alpha``."""
    grid = grid or Grid()
    theta = _maximize(alpha, k, theta0, grid)
    return _point(theta, k, alpha, grid)


@_one_thread
def capacity_krsb(k: int, theta0, alpha0: float, grid: Grid | None = None) -> KRSBPoint:
    """k-RSB threshold: stationary point of ``f`` with ``f = 1`` (unknowns theta, alpha).

    ``theta0`` should be close (e.g. the maximiser at ``alpha0``); Newton then solves
    the ``2k + 2`` equations ``grad f = 0``, ``f = 1``.
    """
    grid = grid or Grid()
    m = 2 * k + 1

    def fun_jac(x):
        th, alpha = x[:m], x[m]
        s, e, gs, ge, hess, _ = _derivs(th, k, grid, alpha)
        g = gs + alpha * ge
        r = np.append(g, s + alpha * e - 1.0)
        j = np.zeros((m + 1, m + 1))
        j[:m, :m] = hess
        j[:m, m] = ge
        j[m, :m] = g
        j[m, m] = e
        return r, j

    x, _ = _newton(fun_jac, np.append(theta0, alpha0), lambda x: _valid(x[:m], k) and x[m] > 2)
    return _point(x[:m], k, x[m], grid)


def _split_interval(p: KRSBPoint, i: int) -> np.ndarray:
    """Level-(k+1) parameters equal in value to ``p``: interval ``i`` (1-based, between
    ``q_{i-1}`` and ``q_i``, ``q_k = 1``) is cut at its midpoint and both halves keep
    ``c_i``. Same ``c`` on adjacent intervals composes to one Gaussian convolution and
    the entropic sum telescopes, so the energy is unchanged (a degenerate point)."""
    q = list(p.q) + [1.0]
    mid = 0.5 * (q[i - 1] + q[i])
    qn = q[:i] + [mid] + q[i:-1]
    cn = list(p.c[: i - 1]) + [p.c[i - 1], p.c[i - 1]] + list(p.c[i:])
    return np.array(qn + [p.chi] + cn)


def _geometric_extension(p: KRSBPoint, prev: KRSBPoint | None) -> np.ndarray | None:
    """Guess for level k+1 continuing the observed profile: at the solutions ``1 - q_i``
    and ``c_i`` are close to geometric in ``i`` near ``q = 1``, so a new innermost level is
    appended with the last ratios (and ``chi`` scaled as from ``prev`` to ``p``)."""
    if p.k < 2:
        return None
    q, c = list(p.q), list(p.c)
    r_q = (1.0 - q[-1]) / (1.0 - q[-2])
    r_c = c[-1] / c[-2]
    r_chi = p.chi / prev.chi if prev is not None else 0.95
    # shift the existing levels a little towards the old profile's outer part
    qn = q + [1.0 - (1.0 - q[-1]) * r_q]
    cn = c + [c[-1] * r_c]
    return np.array(qn + [p.chi * r_chi] + cn)


def _eigen_step(
    theta: np.ndarray, k: int, grid: Grid, alpha: float, i_new: int, step: float
) -> np.ndarray:
    """Move a degenerate level-k point along the Hessian's top eigenvector (where ``f``
    grows), oriented so that overlap ``i_new`` moves up."""
    hess = _derivs(theta, k, grid, alpha)[4]
    w, v = np.linalg.eigh(hess)
    d = v[:, -1]
    if d[i_new] < 0:
        d = -d
    d = d / np.max(np.abs(d) / np.maximum(1.0, np.abs(theta)))
    t = step
    while not _valid(theta + t * d, k) and t > 1e-8:
        t *= 0.5
    return theta + t * d


def _next_level_guesses(p: KRSBPoint, grid: Grid, prev: KRSBPoint | None = None):
    """Starting points for level k+1 from the level-k solution ``p`` (tried in order).

    1. the innermost interval split at zero width (same energy: a saddle of the larger
       functional) and moved along the Hessian eigenvector in which ``f`` increases;
    2. the geometric continuation of the profile (:func:`_geometric_extension`);
    3. each interval split at its midpoint with equal ``c`` (:func:`_split_interval`,
       also energy-preserving) and moved the same way.
    """
    k = p.k
    q, c = list(p.q), list(p.c)
    zero_width = np.array(q + [q[-1]] + [p.chi] + c[:-1] + [0.97 * c[-1], c[-1]])
    yield _eigen_step(zero_width, k + 1, grid, p.alpha, k, 0.02)
    geo = _geometric_extension(p, prev)
    if geo is not None and _valid(geo, k + 1):
        yield geo
    for i in range(k, 0, -1):
        yield _eigen_step(_split_interval(p, i), k + 1, grid, p.alpha, i, 0.05)


def _next_level(
    p: KRSBPoint, grid: Grid, alpha: float, prev: KRSBPoint | None = None
) -> np.ndarray:
    """Maximiser at level k+1 (fixed ``alpha``) from the first starting point that gives a
    non-degenerate, ordered solution with a higher energy than level k."""
    k = p.k + 1
    last = None
    # a short budget per start first (a good start converges in ~10 steps), then a long one
    starts = list(_next_level_guesses(p, grid, prev))
    for theta0, budget in [(t, 30) for t in starts] + [(t, 300) for t in starts]:
        try:
            theta = _maximize(alpha, k, theta0, grid, maxiter=budget)
        except (RuntimeError, np.linalg.LinAlgError) as exc:
            last = exc
            continue
        s, e, *_ = _derivs(theta, k, grid, alpha, hessian=False)
        c = theta[k + 1 :]
        distinct = np.all(np.diff(theta[:k]) > 1e-5) and np.all(np.diff(c) > 1e-5)
        f_prev = energy_krsb(p.theta, alpha, p.k, grid)
        if distinct and theta[k - 1] < 1 - 1e-9 and s + alpha * e > f_prev:
            return theta
        last = RuntimeError("degenerate or unordered solution")
    raise RuntimeError(f"no level-{k} solution found from the level-{k - 1} one: {last}")


_ONE_RSB_START = np.array([0.777231, 0.0533007, 3.286661])


@_one_thread
def capacity_sequence(kmax: int, grid: Grid | None = None, verbose: bool = False):
    """Thresholds for ``k = 1..kmax`` by continuation in ``k`` (list of KRSBPoint)."""
    grid = grid or Grid()
    out: list[KRSBPoint] = []
    for k in range(1, kmax + 1):
        if k == 1:
            p = capacity_krsb(1, _ONE_RSB_START, 6.7157, grid)
        else:
            prev = out[-1]
            theta = _next_level(prev, grid, prev.alpha, out[-2] if k > 2 else None)
            p = capacity_krsb(k, theta, prev.alpha, grid)
        if verbose:
            print(
                f"k={k} alpha={p.alpha:.8f} q={np.round(p.q, 5)} chi={p.chi:.5g} "
                f"c={np.round(p.c, 4)} |g|={p.grad_norm:.1e}",
                flush=True,
            )
        out.append(p)
    return out


def _power_fit(ks, vals):
    """Exact fit of ``v_k = v_inf + a k^(-p)`` through three points; returns (v_inf, p)."""
    (k1, k2, k3), (v1, v2, v3) = ks, vals
    d12, d23 = v1 - v2, v2 - v3
    if d12 == 0 or d23 == 0 or d12 * d23 < 0:
        return float(v3), float("nan")  # not monotone: no tail model, keep the last value
    r = d12 / d23

    def eq(p):
        return (k1**-p - k2**-p) - r * (k2**-p - k3**-p)

    lo, hi = 1e-3, 40.0
    if eq(lo) * eq(hi) > 0:
        return float(v3), float("nan")
    p = optimize.brentq(eq, lo, hi, xtol=1e-12)
    amp = d23 / (k2**-p - k3**-p)
    return float(v3 - amp * k3**-p), float(p)


def extrapolate_frsb(ks, values) -> tuple[float, float, float]:
    """Extrapolate a k-RSB sequence to ``k -> inf`` with a power-law tail.

    Fits ``v_k = v_inf + a k^(-p)`` exactly through the last three levels (the
    differences between levels decay like ``k^-(p+1)``, ``p ~ 3.5`` here: an empirical
    observation, not a theorem). Returns ``(v_inf, err, p)`` with ``err`` the larger of
    the change of ``v_inf`` when the window is moved down by one level and of the
    distance from the last computed level scaled by 0.1: a crude but honest error bar.
    """
    ks = [int(k) for k in ks]
    v = [float(x) for x in values]
    if len(ks) < 3:
        return v[-1], float("nan"), float("nan")
    lim, p = _power_fit(ks[-3:], v[-3:])
    err = 0.1 * abs(lim - v[-1])
    if len(ks) >= 4:
        lim_prev, _ = _power_fit(ks[-4:-1], v[-4:-1])
        err = max(err, abs(lim - lim_prev))
    return lim, err, p


@_one_thread
def ground_state_sequence(
    alpha: float, kmax: int, grid: Grid | None = None, theta1=None, truncate: bool = False
) -> list[KRSBPoint]:
    """k-RSB predictions ``e_k(alpha)``, ``k = 1..kmax``, by continuation in ``k``.

    With ``truncate=True`` a level that cannot be solved (e.g. very close to
    ``alpha = 2``, where ``chi`` and ``c`` become large) ends the sequence instead of
    raising; the caller sees fewer than ``kmax`` levels.
    """
    from .rsb import solve_1rsb

    grid = grid or Grid()
    start = solve_1rsb(alpha, theta1)
    out = [solve_krsb(alpha, 1, np.array([start.q, start.chi, start.c]), grid)]
    for k in range(2, kmax + 1):
        prev = out[-2] if k > 2 else None
        try:
            out.append(_point(_next_level(out[-1], grid, alpha, prev), k, alpha, grid))
        except (RuntimeError, np.linalg.LinAlgError, ValueError):
            if not truncate:
                raise
            break
    return out
