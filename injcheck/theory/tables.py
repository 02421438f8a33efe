"""Shipped theory tables: ``e*(alpha)`` for RS, 1RSB and full RSB on a fine grid, and capacities.

Solving the k-RSB equations costs seconds per ``alpha`` (full RSB: five levels and an
extrapolation), too slow for a plot. The values are therefore computed once, by
``experiments/make_theory_tables.py`` with the functions of :mod:`injcheck.theory`, and
shipped as ``injcheck/data/theory_tables.json``. Between grid points they are
interpolated (monotone cubic, PCHIP); outside the grid :func:`cached_ground_state` reads
the theory cache and never solves anything.

Examples
--------
>>> from injcheck.theory.tables import load_table
>>> table = load_table()
>>> round(table.capacities["1rsb"], 4)
6.7157
>>> round(float(table.ground_state(5.0, "1rsb")), 4)
0.5419
"""

from __future__ import annotations

import functools
import json
import math
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..exceptions import InjcheckError

__all__ = [
    "TABLE_FORMAT",
    "TABLE_METHODS",
    "DEFAULT_PATH",
    "TheoryTableError",
    "TheoryTable",
    "load_table",
    "build_table",
    "write_table",
    "cached_ground_state",
]

TABLE_FORMAT = "injcheck-theory-table/1"
#: Methods in the table, from the loosest to the sharpest prediction.
TABLE_METHODS = ("rs", "1rsb", "frsb")
DEFAULT_PATH = Path(__file__).resolve().parent.parent / "data" / "theory_tables.json"


class TheoryTableError(InjcheckError, ValueError):
    """A theory table file is missing, unreadable or not in :data:`TABLE_FORMAT`."""


@dataclass(frozen=True)
class TheoryTable:
    """``e*(alpha)`` per method on an increasing grid (NaN where a method was not solvable).

    Attributes
    ----------
    alpha : ndarray
        Strictly increasing grid of ``alpha = m/n``.
    e_star : mapping of str to ndarray
        ``e*(alpha)`` per method in :data:`TABLE_METHODS`, same length as ``alpha``.
    capacities : mapping of str to float
        ``alpha`` with ``e*(alpha) = 1`` per method.
    meta : mapping
        Everything else in the file (provenance, error bars, failures).
    """

    alpha: np.ndarray
    e_star: Mapping[str, np.ndarray]
    capacities: Mapping[str, float]
    meta: Mapping[str, Any]

    @property
    def alpha_range(self) -> tuple[float, float]:
        """First and last grid point."""
        return float(self.alpha[0]), float(self.alpha[-1])

    @property
    def step(self) -> float:
        """Largest spacing of the grid."""
        return float(np.max(np.diff(self.alpha)))

    def covers(self, alpha) -> np.ndarray:
        """Whether each ``alpha`` lies inside the grid (interpolation, no extrapolation)."""
        a = np.asarray(alpha, dtype=float)
        lo, hi = self.alpha_range
        return (a >= lo) & (a <= hi)

    def ground_state(self, alpha, method: str) -> np.ndarray:
        """Interpolated ``e*(alpha)``; NaN outside the grid and next to unsolved grid points.

        Raises
        ------
        KeyError
            If ``method`` is not in the table.
        """
        y = self.e_star[method]
        a = np.atleast_1d(np.asarray(alpha, dtype=float))
        out = np.full(a.shape, np.nan)
        ok = np.isfinite(y)
        if ok.sum() >= 2:
            from scipy.interpolate import PchipInterpolator

            out = PchipInterpolator(self.alpha[ok], y[ok], extrapolate=False)(a)
        # Never bridge a point that could not be solved: both neighbours must be known.
        right = np.clip(np.searchsorted(self.alpha, a, side="left"), 0, self.alpha.size - 1)
        left = np.clip(np.searchsorted(self.alpha, a, side="right") - 1, 0, self.alpha.size - 1)
        known = ok[left] & ok[right] & self.covers(a)
        out = np.where(known, out, np.nan)
        return out if np.ndim(alpha) else out[0]


def load_table(path: str | os.PathLike | None = None) -> TheoryTable:
    """Read a theory table (default: the shipped one, read once per process).

    Raises
    ------
    TheoryTableError
        If the file is missing, not JSON, or not a table of :data:`TABLE_FORMAT`.
    """
    if path is None:
        return _load_default()
    return _parse(Path(path))


@functools.lru_cache(maxsize=1)
def _load_default() -> TheoryTable:
    return _parse(DEFAULT_PATH)


def _parse(path: Path) -> TheoryTable:
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except (OSError, ValueError) as exc:
        raise TheoryTableError(f"theory table {path}: cannot be read ({exc})") from exc
    if not isinstance(data, dict) or data.get("format") != TABLE_FORMAT:
        raise TheoryTableError(f"theory table {path}: not in format {TABLE_FORMAT!r}")
    try:
        alpha = np.asarray(data["alpha"], dtype=float)
        e_star = {m: np.asarray(v, dtype=float) for m, v in data["e_star"].items()}
        caps = {m: float(v) for m, v in data["capacities"].items()}
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise TheoryTableError(f"theory table {path}: malformed ({exc!r})") from exc
    # json gives None for an unsolved point; float arrays read it as nan above.
    if alpha.ndim != 1 or alpha.size < 2 or not np.all(np.diff(alpha) > 0):
        raise TheoryTableError(f"theory table {path}: alpha is not an increasing grid")
    if any(v.shape != alpha.shape for v in e_star.values()):
        raise TheoryTableError(f"theory table {path}: e_star columns differ in length from alpha")
    meta = {k: v for k, v in data.items() if k not in ("alpha", "e_star", "capacities")}
    return TheoryTable(alpha, e_star, caps, meta)


def build_table(
    alphas: Iterable[float],
    use_cache: bool = True,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Compute a table with :mod:`injcheck.theory` (minutes: seconds per full-RSB point).

    Full-RSB values use the cached k-RSB levels (:func:`injcheck.theory.ground_state_levels`),
    so an interrupted run resumes where it stopped. A point that cannot be solved is stored
    as ``null`` with the reason under ``failures``.

    Returns
    -------
    dict
        JSON-serialisable; :func:`write_table` writes it, :func:`load_table` reads it.
    """
    from .. import __version__, theory
    from .cache import CODE_VERSION
    from .parisi import extrapolate_frsb

    alphas = [float(a) for a in alphas]
    e_star: dict[str, list[float | None]] = {m: [] for m in TABLE_METHODS}
    frsb_err: list[float | None] = []
    failures: list[dict[str, Any]] = []
    for a in alphas:
        for m in TABLE_METHODS:
            try:
                e_star[m].append(_rounded(theory.ground_state(a, m, use_cache)))
            except Exception as exc:  # noqa: BLE001 - record the gap and go on
                e_star[m].append(None)
                failures.append({"alpha": a, "method": m, "error": f"{type(exc).__name__}: {exc}"})
        levels = theory.ground_state_levels(a, use_cache=use_cache) if a > 2.0 else []
        err = extrapolate_frsb(range(1, len(levels) + 1), levels)[1] if len(levels) >= 3 else None
        frsb_err.append(_rounded(err))
        if progress:
            progress(f"alpha {a:.3f}: " + ", ".join(f"{m} {e_star[m][-1]}" for m in TABLE_METHODS))
    caps = {m: theory.capacity(m, use_cache) for m in TABLE_METHODS}
    levels = theory.capacity_levels(use_cache=use_cache)
    cap_err = extrapolate_frsb([r["k"] for r in levels], [r["alpha"] for r in levels])[1]
    return {
        "format": TABLE_FORMAT,
        "quantity": "e*(alpha) = lim P*(W)/n for one ReLU layer, W Gaussian m x n, alpha = m/n",
        "generated_by": "experiments/make_theory_tables.py",
        "injcheck_version": __version__,
        "cache_version": CODE_VERSION,
        "methods": {"rs": "RS / plain RDT", "1rsb": "1RSB", "frsb": "full RSB (extrapolated)"},
        "capacities": {m: _rounded(v) for m, v in caps.items()},
        "capacity_frsb_err": _rounded(cap_err),
        "alpha": alphas,
        "e_star": e_star,
        "frsb_err": frsb_err,
        "failures": failures,
    }


def write_table(data: Mapping[str, Any], path: str | os.PathLike = DEFAULT_PATH) -> Path:
    """Write a table made by :func:`build_table` (compact JSON, one array per line)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    parts = [f"  {json.dumps(k)}: {json.dumps(v, separators=(',', ':'))}" for k, v in data.items()]
    path.write_text("{\n" + ",\n".join(parts) + "\n}\n", encoding="utf-8")
    return path


def _rounded(x: float | None) -> float | None:
    """12 significant digits (the solvers' tolerance is ~1e-11); None for missing/nan."""
    if x is None or not math.isfinite(x):
        return None
    return float(f"{x:.12g}")


def cached_ground_state(alpha: float, method: str) -> float | None:
    """``e*(alpha)`` for a point outside the table, without solving anything.

    RS is a one-dimensional root (microseconds) and is computed; 1RSB and full RSB are
    read from the k-RSB levels in the theory cache (:mod:`injcheck.theory.cache`) if a
    previous run stored them at exactly this ``alpha``, else ``None``.
    """
    from .. import theory
    from .parisi import extrapolate_frsb

    if method == "rs" or alpha <= 2.0:  # e* = 0 below 2 is closed form (Wendel)
        return float(theory.ground_state(alpha, method))
    levels = _cached_levels(alpha)
    if not levels:
        return None
    if method == "1rsb":
        return float(levels[0])
    return float(extrapolate_frsb(range(1, len(levels) + 1), levels)[0])


def _cached_levels(alpha: float) -> list[float] | None:
    """The cache entry that :func:`injcheck.theory.ground_state_levels` writes, if present."""
    from .. import theory
    from . import cache

    # Same key as ground_state_levels (a test pins the agreement).
    params = {
        "alpha": round(float(alpha), 12),
        "kmax": theory.FRSB_KMAX_GROUND_STATE,
        "L": theory.GRID.L,
        "dx": theory.GRID.dx,
    }
    entry = cache.lookup("ground_state_levels", params)
    levels = entry.get("levels") if isinstance(entry, dict) else None
    return [float(v) for v in levels] if isinstance(levels, list) and levels else None
