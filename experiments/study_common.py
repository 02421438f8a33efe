"""Shared pieces of the validation study (issue 17): grid, store, theory lines, figure style.

The three study scripts (``study_one_layer.py``, ``study_scaling.py``, ``study_pstar.py``)
read one resumable sweep store, ``results/study/one_layer.sqlite``. Every trial of the
study uses the settings of :data:`STUDY_SETTINGS` (:func:`settings_for` adds the node
limit from n = 15), so every run, whatever its grid or number of trials, adds rows to the
same sweep (the grid and the trial count are not part of the spec hash; see
``docs/sweeps.md``).
"""

from __future__ import annotations

import math
import os
import platform
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from injcheck.sweep.store import write_csv as store_csv

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "results" / "study"
STORE = RESULTS / "one_layer.sqlite"

#: Settings of every study trial: they fix the spec hash, so rows from all runs share it.
#: The time limit is generous (600 s) so that a trial is unknown only when it is hard,
#: not because the shared machine was loaded.
STUDY_SETTINGS: dict[str, Any] = {
    "mode": "global",
    "method": "auto",
    "time_limit": 600.0,
    "exact_value": True,
    "node_limit": None,
    "seed": 17,
}
QUICK_SETTINGS: dict[str, Any] = {**STUDY_SETTINGS, "time_limit": 60.0}

#: From n = 15 the 600 s limit begins to bind, and where a wall-clock limit binds the stored
#: verdict depends on the machine's load: the one n = 15 time-out of the first 224 trials
#: had visited 1.24M nodes in 600 s on a loaded machine (2,000 nodes a second) and was
#: decided injective in 107 s (1.51M nodes) later. So from there a trial is bounded by nodes
#: of the exact search, a limit that stops the same trials on any machine, and the time
#: limit is raised to a safety net that should never bind: 5 million nodes (2.4x the most
#: any injective n = 15 layer of those trials needed) take 185-330 s at the 15,000-28,000
#: nodes a second measured at n = 15 on this 2-core machine with both cores busy, a tenth
#: of the hour. Sizes below keep their sweeps (600 s, no node limit; their unknowns are
#: counted and shown: 1 of 5,400 at n = 14).
NODE_LIMIT_FROM_N = 15
NODE_LIMIT = 5_000_000
NODE_LIMITED_TIME_LIMIT = 3600.0


def settings_for(n: int, settings: dict[str, Any]) -> dict[str, Any]:
    """The settings of size ``n``'s sweep: ``settings``, with the node limit (and the time
    limit raised to a safety net) from :data:`NODE_LIMIT_FROM_N` on."""
    if n < NODE_LIMIT_FROM_N:
        return {**settings, "node_limit": None}
    return {**settings, "node_limit": NODE_LIMIT, "time_limit": NODE_LIMITED_TIME_LIMIT}


def decision_only(settings: dict[str, Any]) -> dict[str, Any]:
    """The same settings without exact P* (``--decision-only``): about 3x cheaper for
    injective layers at n = 11 (measured), a sweep of its own in the same store."""
    return {**settings, "exact_value": False}


#: Where the 50% crossing is expected per n, to centre the grid: the logistic crossings of
#: the published exact counts (n = 2..6, 1000 layers a point; study_scaling.py). Beyond
#: n = 6 a guess, 6.7 - 7.7 / n, that meets them at n = 6 and rises towards 6.7.
EXPECTED_CROSSING = {2: 3.78, 3: 4.55, 4: 4.95, 5: 5.23, 6: 5.41}
#: Half-width of the inner window around the expected crossing: the requirement is +-1
#: around the measured crossing, and 0.2 more absorbs an error of the guess.
HALF_WIDTH = 1.2

#: Theory capacities used when no table or cache can be read (docs/theory.md values).
FALLBACK_CAPACITIES = {"rs": 7.647695, "1rsb": 6.715697, "frsb": 6.698048}
THEORY_NAMES = {"rs": "RS / plain RDT", "1rsb": "1RSB (1-lifted RDT)", "frsb": "full RSB"}
THEORY_STYLE = {
    "rs": {"color": "0.35", "ls": ":", "lw": 1.5},
    "1rsb": {"color": "#b2182b", "ls": "--", "lw": 1.3},
    "frsb": {"color": "#2166ac", "ls": "-.", "lw": 1.3},
}


# -- the grid -----------------------------------------------------------------------------
def expected_crossing(n: int) -> float:
    """Expected ``alpha_50(n)``, used only to centre the grid (see :data:`EXPECTED_CROSSING`)."""
    if n in EXPECTED_CROSSING:
        return EXPECTED_CROSSING[n]
    return 6.7 - 7.7 / n


@dataclass(frozen=True)
class Grid:
    """Widths of one ``n``: ``inner`` within :data:`HALF_WIDTH` of the expected crossing, ``outer`` the tails."""

    n: int
    inner: tuple[int, ...]
    outer: tuple[int, ...]


#: From this n on, the inner window is sampled every 0.4 in alpha instead of 0.2: an exact
#: trial costs 6 s on average at n = 14 and 27 s at n = 15 (9 trials; injective layers
#: 47-71 s in the store), so 6 points at 400 trials (about 25 core-hours) instead of 12.
COARSE_FROM_N = 15


def inner_step(n: int) -> int:
    """Width step of the inner points: alpha steps of about 0.2 or finer, 0.4 from n = 15.

    Examples
    --------
    >>> [inner_step(n) for n in (2, 7, 10, 14, 15, 16)]
    [1, 1, 2, 3, 6, 6]
    """
    return max(1, round(n / 5)) if n < COARSE_FROM_N else round(0.4 * n)


def grid_for(
    n: int, half_width: float = HALF_WIDTH, alpha_lo: float = 2.0, alpha_hi: float = 9.0
) -> Grid:
    """Grid of widths ``m`` for input size ``n``.

    Inner points: every ``step``-th width with ``|m/n - a0| <= half_width`` (``a0`` from
    :func:`expected_crossing`, ``step =`` :func:`inner_step`, so alpha steps of about 0.2
    or finer up to n = 14, 0.4 beyond). Outer points: ``alpha = alpha_lo .. alpha_hi`` in
    steps of 0.5, rounded to widths, outside the inner window; they show the whole
    transition at fewer trials.

    Examples
    --------
    >>> g = grid_for(2)
    >>> [m / 2 for m in g.inner]
    [3.0, 3.5, 4.0, 4.5]
    >>> g.outer[:3]
    (4, 5, 10)
    """
    a0 = expected_crossing(n)
    step = inner_step(n)
    lo = math.ceil((a0 - half_width) * n - 1e-9)
    hi = math.floor((a0 + half_width) * n + 1e-9)
    inner = tuple(range(lo, hi + 1, step))
    outer_alpha = np.arange(alpha_lo, alpha_hi + 1e-9, 0.5)
    outer = sorted(
        {
            int(math.floor(a * n + 0.5))
            for a in outer_alpha
            if not (lo <= math.floor(a * n + 0.5) <= hi)
        }
    )
    return Grid(n, inner, tuple(m for m in outer if m >= n))


# -- reading the store --------------------------------------------------------------------
def study_hashes(store, settings: dict[str, Any] | None = None) -> list[str]:
    """Hashes of the sweeps in ``store`` that are one-layer sweeps with exact P*.

    With ``settings`` only the sweep with exactly those settings is returned.
    """
    out = []
    for h in store.spec_hashes():
        spec = store.get_spec(h)
        if spec.depth != 1 or spec.mode != "global":
            continue
        if settings is not None and any(getattr(spec, k) != v for k, v in settings.items()):
            continue
        out.append(h)
    return out


def load_rows(path: str | os.PathLike, settings: dict[str, Any] | None = None) -> list[dict]:
    """All one-layer rows of the study sweep(s) in the store at ``path`` (read-only).

    Returns an empty list when the file does not exist.
    """
    from injcheck.sweep import Store

    if not os.path.isfile(path):
        return []
    with Store(path, readonly=True) as store:
        rows: list[dict] = []
        for h in study_hashes(store, settings):
            rows.extend(store.rows(h))
    return rows


def load_study_rows(path: str | os.PathLike, settings: dict[str, Any]) -> tuple[list[dict], int]:
    """Rows of the study sweep and of its decision-only twin, one row per trial.

    Both sweeps draw the same network for the same (point, trial) (seeds do not depend
    on ``exact_value``), so a trial present in both is counted once: a decided row wins
    over an unknown one, and a row with P* over one without. Each size's rows come from
    its own settings (:func:`settings_for`: with the node limit from n = 15; rows of a
    sweep of the other kind at that size are left out). Returns the rows and the number
    of conflicts (a trial decided differently by the two sweeps: must be 0).
    """
    best: dict[tuple[str, int], dict] = {}
    conflicts = 0
    for s in (settings, decision_only(settings)):
        by_kind = {False: settings_for(0, s), True: settings_for(NODE_LIMIT_FROM_N, s)}
        rows = [
            r
            for limited, kind in by_kind.items()
            for r in load_rows(path, kind)
            if (r["n"] >= NODE_LIMIT_FROM_N) == limited
        ]
        for r in rows:
            key = (r["point_key"], r["trial"])
            old = best.get(key)
            if old is None:
                best[key] = r
                continue
            decided = {old["status"], r["status"]} - {"unknown"}
            if len(decided) > 1:
                conflicts += 1
            if old["status"] == "unknown" and r["status"] != "unknown":
                best[key] = r
    return list(best.values()), conflicts


# -- theory -------------------------------------------------------------------------------
@dataclass
class Theory:
    """Capacities, e*(alpha) curves and where they came from."""

    capacities: dict[str, float]
    curves: dict[str, tuple[np.ndarray, np.ndarray]]
    source: str


def load_theory(
    alpha_lo: float = 1.0, alpha_hi: float = 10.0, curves: bool = True, solve: bool = True
) -> Theory:
    """Theory from the shipped table (``injcheck.theory.tables``) if present, else injcheck.theory.

    The fallback computes RS on a fine grid (closed form) and, with ``solve``, 1RSB on a
    0.25 grid (about 0.4 s a point, then cached on disk by injcheck.theory); full RSB is
    drawn only where its values are cached.
    """
    grid = np.linspace(alpha_lo, alpha_hi, int(round((alpha_hi - alpha_lo) / 0.02)) + 1)
    try:
        from injcheck.theory import tables

        table = tables.load_table()
        caps = {m: float(table.capacities[m]) for m in THEORY_NAMES if m in table.capacities}
        cur = {}
        if curves:
            inside = table.covers(grid)
            for m in THEORY_NAMES:
                if m in table.e_star:
                    cur[m] = (grid[inside], np.asarray(table.ground_state(grid[inside], m)))
        return Theory(caps, cur, "shipped table injcheck/data/theory_tables.json")
    except Exception as exc:  # noqa: BLE001 - any missing/bad table: fall back, and say so
        reason = f"{type(exc).__name__}: {exc}"
    return _theory_fallback(grid, curves, solve, reason)


def _theory_fallback(grid: np.ndarray, curves: bool, solve: bool, reason: str) -> Theory:
    from injcheck import theory

    caps = {}
    for m in THEORY_NAMES:
        try:
            caps[m] = float(theory.capacity(m))
        except Exception:  # noqa: BLE001 - fall back to the documented values
            caps[m] = FALLBACK_CAPACITIES[m]
    cur: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    if curves:
        cur["rs"] = (grid, np.array([theory.ground_state(float(a), "rs") for a in grid]))
        coarse = np.arange(math.ceil(grid[0] * 4) / 4, grid[-1] + 1e-9, 0.25)
        if solve:
            vals = [theory.ground_state(float(a), "1rsb") for a in coarse]
            cur["1rsb"] = (coarse, np.array(vals))
        try:
            from injcheck.theory.tables import cached_ground_state

            vals = [cached_ground_state(float(a), "frsb") for a in coarse]
            keep = [i for i, v in enumerate(vals) if v is not None]
            if keep:
                cur["frsb"] = (coarse[keep], np.array([vals[i] for i in keep]))
        except Exception:  # noqa: BLE001 - no cache reader: no full-RSB curve
            pass
    return Theory(caps, cur, f"injcheck.theory (no shipped table: {reason})")


# -- figures ------------------------------------------------------------------------------
def setup_matplotlib():
    """Non-interactive backend and paper-sized fonts; returns pyplot."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update(
        {
            "font.size": 10,
            "axes.labelsize": 11,
            "legend.fontsize": 8.5,
            "xtick.labelsize": 9.5,
            "ytick.labelsize": 9.5,
        }
    )
    return plt


def save_figure(fig, base: Path) -> list[str]:
    """Save ``base.png`` (150 dpi) and ``base.pdf`` with a tight box; close the figure."""
    import matplotlib.pyplot as plt

    paths = []
    for ext in ("png", "pdf"):
        path = f"{base}.{ext}"
        fig.savefig(path, dpi=150 if ext == "png" else None, bbox_inches="tight")
        paths.append(path)
    plt.close(fig)
    return paths


def n_colors(ns: Sequence[int]) -> dict[int, Any]:
    """One colour per input size, dark (small n) to light (large n)."""
    import matplotlib

    cmap = matplotlib.colormaps["viridis"]
    ns = sorted(set(ns))
    if len(ns) == 1:
        return {ns[0]: cmap(0.3)}
    return {n: cmap(0.85 * i / (len(ns) - 1)) for i, n in enumerate(ns)}


def dodge(ns: Sequence[int], spread: float) -> dict[int, float]:
    """Horizontal offsets per n, evenly over ``[-spread/2, spread/2]`` (series do not overlap)."""
    ns = sorted(set(ns))
    if len(ns) == 1:
        return {ns[0]: 0.0}
    return {n: spread * (i / (len(ns) - 1) - 0.5) for i, n in enumerate(ns)}


def capacity_lines(ax, theory: Theory, *, vertical: bool = True, labels: bool = True) -> None:
    """The theory capacities as vertical (or horizontal) reference lines."""
    for m, cap in theory.capacities.items():
        style = THEORY_STYLE[m]
        label = f"{THEORY_NAMES[m]}: {cap:.3f}" if labels else None
        if vertical:
            ax.axvline(cap, label=label, **style)
        else:
            ax.axhline(cap, label=label, **style)


# -- provenance ---------------------------------------------------------------------------
def machine_line() -> str:
    """CPU model, core count and load average, for the notes next to timings."""
    model = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        model = platform.processor() or model
    try:
        load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        load = "n/a"
    return f"{model}, {os.cpu_count()} cores, load average {load} (shared machine)"


def sizes_text(ns: Iterable[int]) -> str:
    """Input sizes as text: ``2..10`` when consecutive, else a list (``none`` if empty)."""
    ns = sorted(set(ns))
    if not ns:
        return "none"
    if len(ns) > 2 and ns == list(range(ns[0], ns[-1] + 1)):
        return f"{ns[0]}..{ns[-1]}"
    return ", ".join(map(str, ns))


def now() -> str:
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())


def write_csv(path: Path, rows: Iterable[dict[str, Any]], columns: Sequence[str]) -> None:
    """CSV with fixed columns; floats with 6 significant digits, NaN and None empty."""
    store_csv(str(path), ({c: _fmt(r.get(c)) for c in columns} for r in rows), columns)


def _fmt(v):
    if isinstance(v, float):
        return "" if math.isnan(v) else f"{v:.6g}"
    return "" if v is None else v


def informative_window(summary: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per n, the points from the last all-non-injective one to the first all-injective one.

    Points deeper in the tails carry no information on the crossing, and leaving them out
    keeps ``fit_crossing``'s profile grid (401 points over the alpha range +- half its
    span) fine enough for sharp transitions: with 1000 trials per point over alpha 2.5-22
    the whole 95% interval fell between two grid points and the fit failed.
    """
    by_n: dict[int, list[dict[str, Any]]] = {}
    for r in summary:
        by_n.setdefault(r["n"], []).append(r)
    out: list[dict[str, Any]] = []
    for n in sorted(by_n):
        rows = sorted(by_n[n], key=lambda r: r["alpha"])
        some_inj = [i for i, r in enumerate(rows) if r["injective"] > 0]
        some_non = [i for i, r in enumerate(rows) if r["non_injective"] > 0]
        if not some_inj or not some_non:
            out.extend(rows)
            continue
        lo = max(min(some_inj) - 1, 0)
        hi = min(max(some_non) + 1, len(rows) - 1)
        out.extend(rows[lo : hi + 1])
    return out
