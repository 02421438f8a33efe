"""Minimal active counts of the last layer over the image of the circle (input dimension 2).

For ``n = 2`` the input sphere is a circle and every unit's pre-activation is, inside a
linear region, ``c . (cos t, sin t)``. Walking around the circle from one zero crossing to
the next (of any unit of any layer) visits every open arc of the arrangement; on each arc
the activation pattern is constant, read at its midpoint. For the last layer, drawn with
``m_max`` nested rows, the count of positive rows among its first ``m`` rows is a cumulative
sum, so one walk gives ``min_count(m)`` for every ``m``.

Uses (section 6c of docs/theory.md): per seed, the smallest ``m`` with ``min_count >= n``
(local injectivity of the last layer, to be compared with the exact local check) and with
``min_count >= 2n`` (the *sufficient* count of the strong condition): the exact global
critical width must lie between the two. Float64 arithmetic, not a certified check.
"""

from __future__ import annotations

import math

import numpy as np

_EPS = 1e-10


def _coefficients(ws: list[np.ndarray], x: np.ndarray) -> list[np.ndarray]:
    """Per layer, the rows ``C_k`` with ``z_k = C_k x`` in the region containing ``x``."""
    out, c, z = [], np.eye(2), x
    for w in ws:
        c = w @ c
        z = c @ x
        out.append(c)
        c = c * (z > 0)[:, None]
    return out


def _next_crossing(coeffs: list[np.ndarray], t: float) -> float:
    """Smallest angle > t where some pre-activation of the current region vanishes."""
    c = np.vstack(coeffs)
    roots = np.arctan2(-c[:, 0], c[:, 1])  # c0 cos + c1 sin = 0 at these angles (mod pi)
    best = t + math.pi
    for shift in (0.0, math.pi, 2 * math.pi, 3 * math.pi, -math.pi):
        r = roots + shift
        r = r[r > t + _EPS]
        if r.size:
            best = min(best, float(r.min()))
    return best


def min_counts(ws: list[np.ndarray]) -> np.ndarray:
    """``out[m]`` = min over open arcs of the positive rows among the last layer's first m."""
    m_max = ws[-1].shape[0]
    best = np.arange(m_max + 1, dtype=float)  # count <= m trivially
    t = 0.0
    steps = 0
    while t < 2 * math.pi:
        probe = np.array([math.cos(t + 1e-7), math.sin(t + 1e-7)])
        nxt = _next_crossing(_coefficients(ws, probe), t)
        mid = 0.5 * (t + min(nxt, t + math.pi))
        x = np.array([math.cos(mid), math.sin(mid)])
        z = _coefficients(ws, x)[-1] @ x
        counts = np.concatenate([[0], np.cumsum(z > 0)])
        best = np.minimum(best, counts)
        t = nxt
        steps += 1
        if steps > 10**6:
            raise RuntimeError("circle walk did not terminate")
    return best.astype(int)


def critical_width(counts: np.ndarray, need: int) -> int | None:
    """Smallest ``m`` with ``counts[m] >= need`` (None if none)."""
    ok = np.nonzero(counts >= need)[0]
    return int(ok[0]) if ok.size else None
