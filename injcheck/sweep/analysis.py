"""Analysis of sweep rows: injective fractions, the 50% crossing, P*/n, finite-size trends.

Conventions
-----------
* ``unknown`` trials are never dropped silently: fractions are over *decided* trials
  (with Wilson intervals) and every table carries the unknown count next to them, plus
  the two extreme fractions (all unknowns non-injective / all injective).
* The 50% crossing ``alpha_50(n)`` comes from a binomial maximum-likelihood logistic fit
  ``P(injective) = 1 / (1 + exp(-b (alpha - alpha_50)))`` with ``b > 0`` (monotone), and
  a profile-likelihood 95% interval (likelihood-ratio test, chi2(1) = 3.84). An interval
  that does not close inside the searched range is reported as open (``inf``).
* Theory lines (:func:`theory_lines`) come from the shipped theory table
  (:mod:`injcheck.theory.tables`: RS, 1RSB and full-RSB ``e*(alpha)`` and capacities),
  read in milliseconds; nothing is solved while a report is made. Outside the table's
  alpha range only values already in the theory cache are used, and
  :attr:`TheoryLines.notes` says so. A table that cannot be read is named in the notes
  and leaves the report without theory; it never stops a report.
* Finite-size extrapolation fits ``y(n) = y_inf + c / n`` by weighted least squares. With
  two sizes the line is exact and its interval only propagates the per-size errors; with
  three or more the standard error is inflated by ``sqrt(chi2/dof)`` when the points scatter
  more than their errors. The ``1/n`` form is an assumption, and small ``n`` is far from
  the limit: read the intercept as a trend, not a measurement of the capacity.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy import optimize, special, stats

from .store import ERRORED

if TYPE_CHECKING:
    from ..theory.tables import TheoryTable

Z95 = float(stats.norm.ppf(0.975))
_CHI2_95 = float(stats.chi2.ppf(0.95, 1))
#: The theory levels drawn with a sweep, and their names in legends and notes.
THEORY_METHODS = {"rs": "RS / plain RDT", "1rsb": "1RSB", "frsb": "full RSB"}
_CURVE_STEP = 0.01  # alpha spacing of the drawn e*(alpha) curves (interpolated)


def wilson_interval(k: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion ``k / n``.

    Returns ``(nan, nan)`` when ``n == 0``.

    Examples
    --------
    >>> lo, hi = wilson_interval(5, 10)
    >>> round(lo, 4), round(hi, 4)
    (0.2366, 0.7634)
    """
    if n <= 0:
        return (math.nan, math.nan)
    p = k / n
    denom = 1.0 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    lo = 0.0 if k == 0 else max(0.0, centre - half)
    hi = 1.0 if k == n else min(1.0, centre + half)
    return (lo, hi)


# -- per point ----------------------------------------------------------------------------
def summarize_points(rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """One summary record per grid point, ordered by ``n`` then ``alpha``.

    Fields: ``n, widths, depth, alpha, alpha_nominal, trials, injective, non_injective,
    unknown, errors`` (unknowns from a failing trial), ``frac_injective, ci_low, ci_high``
    (over decided trials), ``frac_if_unknown_non, frac_if_unknown_inj`` (the extremes),
    ``pstar_count, pstar_over_n_mean, pstar_over_n_sd, pstar_over_n_se`` (trials with an
    exact P*), ``median_time``.
    """
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        groups[row["point_key"]].append(row)
    out = []
    for key, items in groups.items():
        first = items[0]
        status = [r["status"] for r in items]
        inj, non = status.count("injective"), status.count("non-injective")
        unk = len(items) - inj - non
        decided = inj + non
        lo, hi = wilson_interval(inj, decided)
        p = np.array([r["p_star"] for r in items if r.get("p_star") is not None], dtype=float)
        p = p / first["n"]
        times = [r["trial_time"] for r in items if r.get("trial_time") is not None]
        widths = first["widths"]
        out.append(
            {
                "point_key": key,
                "n": first["n"],
                "widths": ",".join(map(str, widths)) if not isinstance(widths, str) else widths,
                "depth": first["depth"],
                "alpha": first["alpha"],
                "alpha_nominal": first.get("alpha_nominal"),
                "trials": len(items),
                "injective": inj,
                "non_injective": non,
                "unknown": unk,
                "errors": sum(
                    1
                    for r in items
                    if r["status"] == "unknown" and r.get("solver_status") == ERRORED
                ),
                "frac_injective": inj / decided if decided else math.nan,
                "ci_low": lo,
                "ci_high": hi,
                "frac_if_unknown_non": inj / len(items),
                "frac_if_unknown_inj": (inj + unk) / len(items),
                "pstar_count": int(p.size),
                "pstar_over_n_mean": float(p.mean()) if p.size else math.nan,
                "pstar_over_n_sd": float(p.std(ddof=1)) if p.size > 1 else math.nan,
                "pstar_over_n_se": float(p.std(ddof=1) / math.sqrt(p.size))
                if p.size > 1
                else math.nan,
                "median_time": float(np.median(times)) if times else math.nan,
            }
        )
    out.sort(key=lambda r: (r["n"], r["alpha"], r["point_key"]))
    return out


# -- logistic crossing --------------------------------------------------------------------
@dataclass
class CrossingFit:
    """Result of :func:`fit_crossing`.

    Attributes
    ----------
    alpha50 : float
        Maximum-likelihood 50% crossing (nan when the data hold no crossing).
    ci_low, ci_high : float
        95% profile-likelihood interval (``-inf``/``inf`` when open on that side).
    slope : float
        Logistic steepness ``b`` (per unit of alpha).
    points, decided : int
        Grid points and decided trials used.
    note : str
        Caveats (separation, open interval, no crossing).
    """

    alpha50: float
    ci_low: float
    ci_high: float
    slope: float
    points: int
    decided: int
    note: str = ""


def _nll(alpha: np.ndarray, k: np.ndarray, m: np.ndarray, a50: float, log_b: float) -> float:
    z = np.exp(log_b) * (alpha - a50)
    # -log p = log(1 + e^-z) = logaddexp(0, -z); -log(1-p) = logaddexp(0, z)
    return float(np.sum(k * np.logaddexp(0.0, -z) + (m - k) * np.logaddexp(0.0, z)))


def fit_crossing(alpha: Sequence[float], k: Sequence[int], m: Sequence[int]) -> CrossingFit:
    """Fit a monotone logistic curve to ``k`` injective out of ``m`` decided trials per alpha.

    Parameters
    ----------
    alpha : sequence of float
        Expansions of the grid points.
    k, m : sequence of int
        Injective and decided trials at each point (points with ``m == 0`` are ignored).

    Returns
    -------
    CrossingFit

    Examples
    --------
    >>> fit = fit_crossing([3, 4, 5, 6, 7], [1, 5, 10, 15, 19], [20] * 5)
    >>> round(fit.alpha50, 1)
    5.0
    """
    a = np.asarray(alpha, float)
    k_arr = np.asarray(k, float)
    m_arr = np.asarray(m, float)
    keep = m_arr > 0
    a, k_arr, m_arr = a[keep], k_arr[keep], m_arr[keep]
    n_pts, decided = int(a.size), int(m_arr.sum())
    degenerate = _degenerate_fit(a, k_arr, m_arr)
    if degenerate is not None:
        return degenerate

    span = float(a.max() - a.min())
    # log b from nearly flat to a step
    profile = _Profile(a, k_arr, m_arr, math.log(0.05 / span), math.log(200.0 / span))
    grid = np.linspace(a.min() - 0.5 * span, a.max() + 0.5 * span, 401)
    prof = np.array([profile(g)[0] for g in grid])
    a50, log_b, nll_min = _refine_optimum(profile, grid, prof)
    ci_low, ci_high = _profile_interval(profile, grid, prof, a50, nll_min)
    notes = []
    if not (math.isfinite(ci_low) and math.isfinite(ci_high)):
        notes.append("interval open within alpha range +- half its span")
    if log_b >= profile.hi_b - 1e-3:
        notes.append("separated data (a step): the crossing is only known to lie in the gap")
    if not (a.min() <= a50 <= a.max()):
        notes.append("crossing extrapolated outside the grid")
    return CrossingFit(a50, ci_low, ci_high, float(np.exp(log_b)), n_pts, decided, "; ".join(notes))


def _degenerate_fit(a: np.ndarray, k: np.ndarray, m: np.ndarray) -> CrossingFit | None:
    """The fit of data that hold no crossing to fit, or None when a logistic fit is possible.

    Parameters
    ----------
    a, k, m : np.ndarray
        Expansions, injective and decided trials of the points with ``m > 0``.

    Returns
    -------
    CrossingFit or None
        Fewer than two distinct expansions: all nan. No injective trial: the crossing lies
        above the grid. All trials injective: it lies below.
    """
    n_pts, decided = int(a.size), int(m.sum())
    if n_pts < 2 or np.unique(a).size < 2:
        return CrossingFit(
            math.nan,
            math.nan,
            math.nan,
            math.nan,
            n_pts,
            decided,
            "fewer than 2 expansions with decided trials",
        )
    if k.sum() == 0:
        return CrossingFit(
            math.nan,
            float(a.max()),
            math.inf,
            math.nan,
            n_pts,
            decided,
            "no injective trial: crossing above the grid",
        )
    if k.sum() == m.sum():
        return CrossingFit(
            math.nan,
            -math.inf,
            float(a.min()),
            math.nan,
            n_pts,
            decided,
            "all trials injective: crossing below the grid",
        )
    return None


@dataclass
class _Profile:
    """The binomial negative log-likelihood, profiled over the slope at a fixed crossing.

    Attributes
    ----------
    a, k, m : np.ndarray
        Expansions, injective and decided trials per point.
    lo_b, hi_b : float
        Bounds of ``log b`` searched.
    """

    a: np.ndarray
    k: np.ndarray
    m: np.ndarray
    lo_b: float
    hi_b: float

    def nll(self, a50: float, log_b: float) -> float:
        """Negative log-likelihood at ``(a50, log_b)``."""
        return _nll(self.a, self.k, self.m, a50, log_b)

    def __call__(self, a50: float) -> tuple[float, float]:
        """``(min over log b of the nll, argmin log b)`` at crossing ``a50``."""
        res = optimize.minimize_scalar(
            lambda lb: self.nll(a50, lb),
            bounds=(self.lo_b, self.hi_b),
            method="bounded",
            options={"xatol": 1e-6},
        )
        return float(res.fun), float(res.x)


def _refine_optimum(
    profile: _Profile, grid: np.ndarray, prof: np.ndarray
) -> tuple[float, float, float]:
    """Refine the optimum jointly, starting at the best grid point.

    Returns
    -------
    a50, log_b, nll_min : float
        The refined optimum and the least nll seen (refined or on the grid).
    """
    best = int(np.argmin(prof))
    lb0 = profile(grid[best])[1]
    res = optimize.minimize(
        lambda th: profile.nll(th[0], th[1]),
        x0=[grid[best], lb0],
        bounds=[(grid[0], grid[-1]), (profile.lo_b, profile.hi_b)],
        method="L-BFGS-B",
    )
    return float(res.x[0]), float(res.x[1]), min(float(res.fun), float(prof[best]))


def _profile_interval(
    profile: _Profile, grid: np.ndarray, prof: np.ndarray, a50: float, nll_min: float
) -> tuple[float, float]:
    """The 95% profile-likelihood interval of the crossing; an open side is ``-+inf``."""
    excess = 2.0 * (prof - nll_min) - _CHI2_95  # <= 0 inside the 95% interval

    def excess_at(g: float) -> float:
        return 2.0 * (profile(g)[0] - nll_min) - _CHI2_95

    # The outermost grid points inside the interval; the refined optimum is inside too (its
    # excess is -chi2), which matters for sharp data whose interval falls between two grid
    # points. Each boundary is then solved on the profile itself: a linear interpolation
    # of the grid is far off when the profile is steep (many trials per point).
    inside = np.flatnonzero(excess <= 0)
    first = min(a50, grid[inside[0]]) if inside.size else a50
    last = max(a50, grid[inside[-1]]) if inside.size else a50
    below, above = grid[grid < first], grid[grid > last]
    ci_low = (
        float(optimize.brentq(excess_at, below[-1], first, xtol=1e-6))
        if below.size and excess_at(below[-1]) > 0
        else -math.inf
    )
    ci_high = (
        float(optimize.brentq(excess_at, last, above[0], xtol=1e-6))
        if above.size and excess_at(above[0]) > 0
        else math.inf
    )
    return ci_low, ci_high


def crossings_by_n(summary: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """``alpha_50`` per input size from a :func:`summarize_points` table.

    Besides the fit on decided trials, reports the crossing with every unknown counted
    as non-injective (``alpha50_unknown_non``) and as injective (``alpha50_unknown_inj``),
    so the effect of unknowns is visible.
    """
    by_n: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for row in summary:
        by_n[row["n"]].append(row)
    out = []
    for n in sorted(by_n):
        rows = by_n[n]
        alpha = [r["alpha"] for r in rows]
        fit = fit_crossing(
            alpha,
            [r["injective"] for r in rows],
            [r["injective"] + r["non_injective"] for r in rows],
        )
        trials = [r["trials"] for r in rows]
        as_non = fit_crossing(alpha, [r["injective"] for r in rows], trials)
        as_inj = fit_crossing(alpha, [r["injective"] + r["unknown"] for r in rows], trials)
        record = {"n": n, **asdict(fit)}
        record["unknown"] = sum(r["unknown"] for r in rows)
        record["alpha50_unknown_non"] = as_non.alpha50
        record["alpha50_unknown_inj"] = as_inj.alpha50
        out.append(record)
    return out


# -- finite-size extrapolation ------------------------------------------------------------
@dataclass
class Extrapolation:
    """``y(n) = value + slope / n`` fitted over ``sizes``; ``ci_*`` is a 95% interval."""

    quantity: str
    value: float
    se: float
    ci_low: float
    ci_high: float
    slope: float
    sizes: str
    chi2_dof: float
    note: str = ""


def extrapolate_inverse_n(
    quantity: str, ns: Sequence[int], values: Sequence[float], errors: Sequence[float]
) -> Extrapolation:
    """Weighted least-squares fit of ``values = y_inf + c / n`` (weights ``1/errors**2``).

    Points with a non-finite value or error are left out (and named in the note).

    Examples
    --------
    >>> ex = extrapolate_inverse_n("y", [2, 4, 8], [1.5, 1.25, 1.125], [0.01, 0.01, 0.01])
    >>> round(ex.value, 6)
    1.0
    """
    ns_a, v, e = (np.asarray(x, float) for x in (ns, values, errors))
    ok = np.isfinite(v) & np.isfinite(e) & (e > 0)
    dropped = [int(x) for x in ns_a[~ok]]
    ns_a, v, e = ns_a[ok], v[ok], e[ok]
    sizes = ",".join(str(int(x)) for x in ns_a)
    note = f"left out n={dropped} (no finite value or error); " if dropped else ""
    if np.unique(ns_a).size < 2:
        return Extrapolation(
            quantity,
            math.nan,
            math.nan,
            math.nan,
            math.nan,
            math.nan,
            sizes,
            math.nan,
            note + "needs two or more sizes",
        )
    x = 1.0 / ns_a
    w = 1.0 / e**2
    design = np.column_stack([np.ones_like(x), x])
    cov = np.linalg.inv(design.T @ (design * w[:, None]))
    coef = cov @ (design.T @ (w * v))
    dof = ns_a.size - 2
    resid = v - design @ coef
    chi2 = float(np.sum(w * resid**2))
    chi2_dof = chi2 / dof if dof > 0 else math.nan
    se = math.sqrt(cov[0, 0])
    if dof > 0 and chi2_dof > 1:
        se *= math.sqrt(chi2_dof)
        note += f"errors scaled by sqrt(chi2/dof)={math.sqrt(chi2_dof):.2f}; "
    if dof == 0:
        note += "two sizes: exact line, no check of the 1/n form; "
    note += "assumes y = y_inf + c/n"
    value = float(coef[0])
    return Extrapolation(
        quantity,
        value,
        se,
        value - Z95 * se,
        value + Z95 * se,
        float(coef[1]),
        sizes,
        chi2_dof,
        note,
    )


def extrapolate_all(
    summary: Sequence[dict[str, Any]], crossings: Sequence[dict[str, Any]]
) -> list[Extrapolation]:
    """Extrapolate ``alpha_50(n)`` and, per grid expansion, mean ``P*/n`` to ``n -> inf``.

    The error of ``alpha_50(n)`` is its profile interval width / (2 * 1.96) (an open
    interval leaves that size out). ``P*/n`` is grouped by the nominal grid expansion; the
    realised ``m/n`` differs slightly between sizes through rounding.
    """
    out = []
    ok = [c for c in crossings if math.isfinite(c["alpha50"])]
    if crossings:
        out.append(
            extrapolate_inverse_n(
                "alpha50",
                [c["n"] for c in ok],
                [c["alpha50"] for c in ok],
                [(c["ci_high"] - c["ci_low"]) / (2 * Z95) for c in ok],
            )
        )
    by_alpha: dict[float, list[dict[str, Any]]] = defaultdict(list)
    for row in summary:
        if row["pstar_count"] > 1:
            nominal = row["alpha_nominal"] if row["alpha_nominal"] is not None else row["alpha"]
            by_alpha[round(float(nominal), 9)].append(row)
    for alpha in sorted(by_alpha):
        rows = by_alpha[alpha]
        if len({r["n"] for r in rows}) < 2:
            continue
        # A point where every trial has the same P* has sd 0; floor the error at 1/(n*sqrt(k)).
        errs = [
            max(r["pstar_over_n_se"], 1.0 / (r["n"] * math.sqrt(r["pstar_count"]))) for r in rows
        ]
        out.append(
            extrapolate_inverse_n(
                f"pstar_over_n@alpha={alpha:g}",
                [r["n"] for r in rows],
                [r["pstar_over_n_mean"] for r in rows],
                errs,
            )
        )
    return out


def logistic(alpha: np.ndarray, alpha50: float, slope: float) -> np.ndarray:
    """The fitted transition curve ``1 / (1 + exp(-slope (alpha - alpha50)))``."""
    return special.expit(slope * (np.asarray(alpha, float) - alpha50))


@dataclass
class TheoryLines:
    """Theory values for a sweep's plots, computed here and handed to :mod:`.plots`.

    Attributes
    ----------
    capacities : dict
        Capacity (the alpha where ``e*(alpha) = 1``) by method of :data:`THEORY_METHODS`.
    curves : dict
        ``(alpha grid, e*(alpha))`` by method; NaN where no value is known.
    notes : list of str
        What could not be drawn, and why, for the report.
    """

    capacities: dict[str, float] = field(default_factory=dict)
    curves: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def missing_label(self) -> str | None:
        """Short legend text naming what could not be drawn."""
        missing = [THEORY_METHODS[m] for m in THEORY_METHODS if m not in self.capacities]
        return f"theory n/a: {', '.join(missing)}" if missing else None


def theory_lines(
    alpha_min: float, alpha_max: float, depth: int = 1, table: TheoryTable | None = None
) -> TheoryLines:
    """Capacities and ``e*(alpha)`` curves for ``alpha_min <= alpha <= alpha_max``.

    Parameters
    ----------
    alpha_min, alpha_max : float
        Range of the ``e*(alpha)`` curves.
    depth : int
        The one-layer theory is only drawn for ``depth == 1``.
    table : TheoryTable, optional
        Default: the shipped table (:func:`injcheck.theory.tables.load_table`).

    Returns
    -------
    TheoryLines
        Empty, with a note, for ``depth != 1`` or an unreadable table.
    """
    lines = TheoryLines()
    if depth != 1:
        lines.notes.append(f"theory lines are for one layer; this sweep has depth {depth}")
        return lines
    from ..theory import tables

    if table is None:
        try:
            table = tables.load_table()
        except tables.TheoryTableError as exc:
            lines.notes.append(f"no theory lines: {exc}")
            return lines
    lines.capacities = {
        m: float(table.capacities[m]) for m in THEORY_METHODS if m in table.capacities
    }
    lo, hi = float(alpha_min), max(float(alpha_max), float(alpha_min) + _CURVE_STEP)
    grid = np.linspace(lo, hi, max(2, int(math.ceil((hi - lo) / _CURVE_STEP)) + 1))
    outside = ~table.covers(grid)
    for method in THEORY_METHODS:
        if method not in table.e_star:
            lines.notes.append(f"the theory table has no {THEORY_METHODS[method]} e*(alpha)")
            continue
        y = table.ground_state(grid, method)
        for i in np.flatnonzero(outside):
            value = tables.cached_ground_state(float(grid[i]), method)
            y[i] = np.nan if value is None else value
        if np.isfinite(y).any():
            lines.curves[method] = (grid, y)
        if outside.any():
            lines.notes.append(
                f"e*(alpha), {THEORY_METHODS[method]}: the shipped table covers alpha in "
                f"[{table.alpha_range[0]:g}, {table.alpha_range[1]:g}]; outside it "
                f"{int(np.isfinite(y[outside]).sum())} of {int(outside.sum())} points "
                "came from the theory cache, the rest are not drawn"
            )
    return lines
