"""Independent re-verification of collision witnesses.

Two facts are checked separately from any solver:

1. **Float check.** A float64 forward pass gives ``f(x) == f(y)`` to a relative
   tolerance ``rtol`` while ``|x - y|`` is not small relative to ``|x|, |y|``.
2. **Exact check.** In rational arithmetic (every float64 is a rational), the
   activation patterns of x and y define affine maps ``f = J_x x + c_x`` and
   ``f = J_y y + c_y``. We snap (x, y) to the exact solution set of
   ``J_x x' - J_y y' = c_y - c_x`` (free coordinates kept at their float values,
   the others solved exactly), then run an exact rational forward pass and require
   ``f(x') == f(y')`` and ``x' != y'``. Success is a proof that the network is not
   injective, whatever the solver's tolerances were.

The reported witness is the float64 rounding of the exact pair ``(x', y')``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np
import scipy.linalg

from .layers import Layer, activation_pattern, forward

#: Relative tolerance of the float64 forward check, ``|f(x)-f(y)| <= RTOL * max(|f(x)|, |f(y)|)``.
FLOAT_RTOL = 1e-9
#: Minimal relative separation ``|x-y| / max(|x|, |y|)`` of a witness.
MIN_SEPARATION = 1e-9
#: Largest relative move allowed when snapping a float pair to the exact collision:
#: the exact check proves the solver's pair, it does not repair a wrong one.
MAX_SNAP = 1e-6


@dataclass
class WitnessCheck:
    """What the verification of one candidate pair found."""

    float_ok: bool
    exact_ok: bool
    residual: float
    separation: float
    x: np.ndarray
    y: np.ndarray
    reason: str = ""
    patterns: dict = field(default_factory=dict)
    #: What the exact check proved: an exact rational collision, or (one layer, any
    #: size) exact signs of an open cell with fewer than ``n`` non-negative rows.
    exact_check: str = "rational collision"

    @property
    def ok(self) -> bool:
        return self.float_ok and self.exact_ok

    def to_dict(self) -> dict:
        return {
            "float_ok": self.float_ok,
            "exact_ok": self.exact_ok,
            "relative_residual": self.residual,
            "relative_separation": self.separation,
            "float_rtol": FLOAT_RTOL,
            "min_separation": MIN_SEPARATION,
            "max_snap": MAX_SNAP,
            "reason": self.reason,
            "exact_check": self.exact_check,
        }


def float_check(layers: Sequence[Layer], x: np.ndarray, y: np.ndarray) -> tuple[bool, float, float]:
    """Float64 forward check; returns ``(ok, relative residual, relative separation)``."""
    fx, fy = forward(layers, x), forward(layers, y)
    scale = max(np.linalg.norm(fx), np.linalg.norm(fy), 1e-300)
    residual = float(np.linalg.norm(fx - fy) / scale)
    if not np.any(fx) and not np.any(fy):
        residual = 0.0
    sep_scale = max(np.linalg.norm(x), np.linalg.norm(y), 1e-300)
    separation = float(np.linalg.norm(x - y) / sep_scale)
    return residual <= FLOAT_RTOL and separation >= MIN_SEPARATION, residual, separation


# ---------------------------------------------------------------- rational helpers
def _q_vec(v) -> list[Fraction]:
    return [Fraction(float(a)) for a in np.ravel(v)]


def _q_mat(a) -> list[list[Fraction]]:
    return [_q_vec(row) for row in np.atleast_2d(a)]


def exact_forward(layers_q, x_q: list[Fraction]) -> list[Fraction]:
    """Exact forward pass of rational weights ``[(W_q, b_q or None), ...]``."""
    h = x_q
    for w_q, b_q in layers_q:
        pre = [sum((wij * hj for wij, hj in zip(row, h) if wij and hj), Fraction(0)) for row in w_q]
        if b_q is not None:
            pre = [p + b for p, b in zip(pre, b_q)]
        h = [p if p > 0 else Fraction(0) for p in pre]
    return h


def exact_layers(layers: Sequence[Layer]):
    return [
        (_q_mat(layer.weight), _q_vec(layer.bias) if layer.has_bias else None) for layer in layers
    ]


def _affine_map(layers_q, pattern: Sequence[np.ndarray], n: int):
    """Exact ``(J, c)`` with ``f(x) = J x + c`` on the region of ``pattern``."""
    jac = [[Fraction(int(i == j)) for j in range(n)] for i in range(n)]
    off = [Fraction(0)] * n
    for (w_q, b_q), active in zip(layers_q, pattern):
        new_j, new_c = [], []
        for i, row in enumerate(w_q):
            if not active[i]:
                new_j.append([Fraction(0)] * n)
                new_c.append(Fraction(0))
                continue
            nz = [(wik, k) for k, wik in enumerate(row) if wik]
            new_j.append([sum((wik * jac[k][j] for wik, k in nz), Fraction(0)) for j in range(n)])
            c = sum((wik * off[k] for wik, k in nz), Fraction(0))
            new_c.append(c + (b_q[i] if b_q is not None else 0))
        jac, off = new_j, new_c
    return jac, off


def solve_square(a: list[list[Fraction]], b: list[Fraction]) -> list[Fraction] | None:
    """Solve the square system ``a x = b`` exactly, by Gaussian elimination in fractions.

    Used by the witness check here and by the one-layer geometry and brute force, which
    need the same exact solve.

    Parameters
    ----------
    a : list of list of Fraction
        Square matrix, one list per row (not modified).
    b : list of Fraction
        Right-hand side, one entry per row.

    Returns
    -------
    list of Fraction or None
        The unique solution, or None when ``a`` is singular.
    """
    size = len(a)
    aug = [row[:] + [rhs] for row, rhs in zip(a, b)]
    for col in range(size):
        piv = next((r for r in range(col, size) if aug[r][col] != 0), None)
        if piv is None:
            return None
        aug[col], aug[piv] = aug[piv], aug[col]
        inv = 1 / aug[col][col]
        for r in range(size):
            if r != col and aug[r][col] != 0:
                fac = aug[r][col] * inv
                aug[r] = [vr - fac * vc for vr, vc in zip(aug[r], aug[col])]
    return [aug[i][size] / aug[i][i] for i in range(size)]


def exact_collision(
    layers: Sequence[Layer],
    x: np.ndarray,
    y: np.ndarray,
    *,
    fix_x: bool = False,
    box: tuple[np.ndarray, np.ndarray] | None = None,
) -> tuple[bool, list[Fraction], list[Fraction], str]:
    """Snap ``(x, y)`` to an exact rational collision and prove it.

    Parameters
    ----------
    fix_x : bool
        Keep ``x`` exactly as given (pointwise checks: x is the user's point).
    box : (lo, hi), optional
        The exact pair must also lie in this input box.

    Returns
    -------
    ok, x_q, y_q, reason
    """
    n = len(x)
    layers_q = exact_layers(layers)
    jx, cx = _affine_map(layers_q, activation_pattern(layers, x), n)
    jy, cy = _affine_map(layers_q, activation_pattern(layers, y), n)
    # Unknowns v = (x', y'); equations M v = rhs with M = [J_x, -J_y].
    m_q = [rx + [-v for v in ry] for rx, ry in zip(jx, jy)]
    rhs = [b - a for a, b in zip(cx, cy)]
    if fix_x:
        x_fixed = _q_vec(x)
        m_q = [row[n:] for row in m_q]
        rhs = [
            r - sum((a * b for a, b in zip(row[:n], x_fixed)), Fraction(0))
            for r, row in zip(rhs, jx)
        ]
        v_float = np.asarray(y, dtype=np.float64)
    else:
        v_float = np.concatenate([x, y]).astype(np.float64)
    m_f = np.array([[float(v) for v in row] for row in m_q])
    keep_rows = [i for i, row in enumerate(m_q) if any(row)]
    v_q = _q_vec(v_float)
    if keep_rows:
        # Pivot choice from floats (column-pivoted QR), then an exact solve.
        sub = m_f[keep_rows]
        _, r_fac, col_perm = scipy.linalg.qr(sub, pivoting=True, mode="economic")
        diag = np.abs(np.diag(r_fac))
        rank = int(np.sum(diag > diag[0] * 1e-10)) if diag.size and diag[0] > 0 else 0
        pivots = list(col_perm[:rank])
        if rank:
            _, _, row_perm = scipy.linalg.qr(sub[:, pivots].T, pivoting=True, mode="economic")
            rows = [keep_rows[i] for i in row_perm[:rank]]
            a = [[m_q[r][c] for c in pivots] for r in rows]
            b = [
                rhs[r]
                - sum((m_q[r][c] * v_q[c] for c in range(len(v_q)) if c not in pivots), Fraction(0))
                for r in rows
            ]
            sol = solve_square(a, b)
            if sol is None:
                return False, [], [], "exact pivot block is singular"
            for c, val in zip(pivots, sol):
                v_q[c] = val
        for r in keep_rows:
            if sum((a * b for a, b in zip(m_q[r], v_q) if a), Fraction(0)) != rhs[r]:
                return False, [], [], "the two activation regions have no exact common output here"
    x_q = _q_vec(x) if fix_x else v_q[:n]
    y_q = v_q if fix_x else v_q[n:]
    if x_q == y_q:
        return False, x_q, y_q, "the exact pair has x == y"
    if box is not None:
        lo, hi = _q_vec(box[0]), _q_vec(box[1])
        if any(not (a <= v <= b) for v, a, b in zip(x_q + y_q, lo + lo, hi + hi)):
            return False, x_q, y_q, "the exact pair leaves the input box"
    if exact_forward(layers_q, x_q) != exact_forward(layers_q, y_q):
        return False, x_q, y_q, "exact outputs differ (activation pattern changed when snapping)"
    return True, x_q, y_q, ""


def verify_witness(
    layers: Sequence[Layer],
    x: np.ndarray,
    y: np.ndarray,
    *,
    fix_x: bool = False,
    box: tuple[np.ndarray, np.ndarray] | None = None,
) -> WitnessCheck:
    """Run both checks on a candidate collision ``(x, y)``.

    The returned ``x, y`` are the float64 rounding of the exact pair when the exact
    check succeeds (and the inputs otherwise); the float check is run on them.
    """
    x = np.asarray(x, dtype=np.float64).ravel()
    y = np.asarray(y, dtype=np.float64).ravel()
    if x.shape != y.shape or x.size != layers[0].weight.shape[1]:
        return WitnessCheck(False, False, np.inf, 0.0, x, y, "witness has the wrong shape")
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
        return WitnessCheck(False, False, np.inf, 0.0, x, y, "witness is not finite")
    exact_ok, x_q, y_q, reason = exact_collision(layers, x, y, fix_x=fix_x, box=box)
    if exact_ok:
        x_snap = np.array([float(v) for v in x_q])
        y_snap = np.array([float(v) for v in y_q])
        scale = max(np.linalg.norm(x), np.linalg.norm(y), 1e-300)
        moved = max(np.linalg.norm(x_snap - x), np.linalg.norm(y_snap - y)) / scale
        if moved > MAX_SNAP:
            exact_ok = False
            reason = f"the pair is not a collision (an exact one is {moved:.2g} away, relative)"
        else:
            x, y = x_snap, y_snap
    float_ok, residual, separation = float_check(layers, x, y)
    if exact_ok and not float_ok:
        reason = "float64 forward pass disagrees beyond the tolerance or x is too close to y"
    return WitnessCheck(float_ok, exact_ok, residual, separation, x, y, reason)


# ---------------------------------------------------------------- one layer, any size
def exact_signs(weight: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Exact signs (-1, 0, 1) of ``W x`` for float64 ``W`` and ``x`` (read as rationals).

    A float64 product is accepted where it exceeds a rigorous bound on its rounding
    error, ``|fl(w.x) - w.x| <= gamma_n |w|.|x|`` (``gamma_n = n u / (1 - n u)``, any
    summation order, FMA or not; Higham, *Accuracy and Stability*, section 3.1), doubled
    to cover the rounding of the bound itself, plus a term for underflow. The few rows
    left undecided are summed exactly in rational arithmetic. Cost: one extra product.
    """
    w = np.asarray(weight, dtype=np.float64)
    x = np.asarray(x, dtype=np.float64).ravel()
    n = x.size
    u = 2.0**-53
    gamma = (n + 2) * u / (1 - (n + 2) * u)
    with np.errstate(all="ignore"):
        approx = w @ x
        bound = 2.0 * gamma * (np.abs(w) @ np.abs(x)) + (n + 1) * 2.0**-1073
        sure = np.isfinite(approx) & np.isfinite(bound) & (np.abs(approx) > bound)
    signs = np.where(sure, np.sign(approx), 0).astype(np.int8)
    x_q = _q_vec(x)
    for i in np.flatnonzero(~sure):
        value = sum((Fraction(float(a)) * b for a, b in zip(w[i], x_q) if a and b), Fraction(0))
        signs[i] = (value > 0) - (value < 0)
    return signs


def verify_cell_witness(weight: np.ndarray, x: np.ndarray, y: np.ndarray) -> WitnessCheck:
    """Verify a one-layer collision built from a cell point, at any size.

    Exact part: the signs of ``W x`` are certified (:func:`exact_signs`); none is zero
    and fewer than ``n`` are positive. Then ``A = {i : <w_i, x> > 0}`` has ``|A| < n``
    rows, ``W_A`` has a non-zero null vector ``d``, and ``x + t d`` collides with ``x``
    for small ``t > 0`` (THEORY.md section 2): a proof of non-injectivity that needs no
    genericity and no rational linear algebra (the full rational snap of
    :func:`verify_witness` grows like ``n^4``: 0.4 s at n = 20, 54 s at n = 80).
    Float part: the given pair passes :func:`float_check`.
    """
    from .networks import Layer

    weight = np.asarray(weight, dtype=np.float64)
    x = np.asarray(x, dtype=np.float64).ravel()
    y = np.asarray(y, dtype=np.float64).ravel()
    n = weight.shape[1]
    if x.shape != (n,) or y.shape != (n,) or not np.all(np.isfinite(np.r_[x, y])):
        return WitnessCheck(False, False, np.inf, 0.0, x, y, "witness has the wrong shape")
    signs = exact_signs(weight, x)
    positive = int(np.sum(signs > 0))
    exact_ok, reason = True, ""
    if np.any(signs == 0):
        exact_ok, reason = False, "x lies on a hyperplane of W (not in an open cell)"
    elif positive >= n:
        exact_ok, reason = False, f"x has {positive} >= n = {n} positive rows"
    float_ok, residual, separation = float_check([Layer(weight)], x, y)
    if exact_ok and not float_ok:
        reason = "float64 forward pass disagrees beyond the tolerance or x is too close to y"
    return WitnessCheck(
        float_ok, exact_ok, residual, separation, x, y, reason, exact_check="cell signs"
    )
