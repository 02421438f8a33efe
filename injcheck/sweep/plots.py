"""Plots of a sweep (PNG and PDF): transition curves, P*/n against theory, alpha_50 vs 1/n.

Theory lines come from :mod:`injcheck.theory` (``capacity(method)`` and
``ground_state(alpha, method)`` for ``method`` in ``rs``, ``1rsb``, ``frsb``), imported
lazily. A missing function or a method that fails is left out of the plot and named in
the legend and in :attr:`TheoryLines.notes`; it never stops a report.
"""

from __future__ import annotations

import importlib
import math
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .analysis import Extrapolation, logistic

THEORY_METHODS = {"rs": "RS / plain RDT", "1rsb": "1RSB", "frsb": "full RSB"}
_THEORY_STYLE = {"rs": ":", "1rsb": "--", "frsb": "-."}
_THEORY_BUDGET_S = 60.0  # per method, for the e*(alpha) curve


@dataclass
class TheoryLines:
    """Theory values available for the plots."""

    capacities: dict[str, float] = field(default_factory=dict)
    curves: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def missing_label(self) -> str | None:
        """Short legend text naming what could not be drawn."""
        missing = [THEORY_METHODS[m] for m in THEORY_METHODS if m not in self.capacities]
        return f"theory n/a: {', '.join(missing)}" if missing else None


def theory_lines(
    alpha_min: float, alpha_max: float, depth: int = 1, n_grid: int = 30
) -> TheoryLines:
    """Capacities and ``e*(alpha)`` curves from :mod:`injcheck.theory`, as far as available.

    Parameters
    ----------
    alpha_min, alpha_max : float
        Range of the ``e*(alpha)`` curves.
    depth : int
        The one-layer theory is only drawn for ``depth == 1``.
    n_grid : int
        Points per curve.
    """
    lines = TheoryLines()
    if depth != 1:
        lines.notes.append(f"theory lines are for one layer; this sweep has depth {depth}")
        return lines
    try:
        # import_module looks in sys.modules first (so a substituted theory module is
        # honoured), while "import injcheck.theory" would read the package attribute.
        theory = importlib.import_module("injcheck.theory")
    except Exception as exc:  # noqa: BLE001 - theory is optional for a report
        lines.notes.append(f"injcheck.theory could not be imported ({type(exc).__name__}: {exc})")
        return lines
    capacity = getattr(theory, "capacity", None)
    ground_state = getattr(theory, "ground_state", None)
    if capacity is None:
        lines.notes.append("injcheck.theory.capacity is missing: no capacity lines")
    if ground_state is None:
        lines.notes.append("injcheck.theory.ground_state is missing: no e*(alpha) curves")
    # e*(alpha) is only meaningful above alpha = 1 (fewer rows than n give P* = 0).
    grid = np.linspace(max(alpha_min, 1.05), max(alpha_max, alpha_min + 1e-3), n_grid)
    for method in THEORY_METHODS:
        if capacity is not None:
            try:
                lines.capacities[method] = float(capacity(method))
            except Exception as exc:  # noqa: BLE001
                lines.notes.append(f"capacity({method!r}) failed: {type(exc).__name__}: {exc}")
        if ground_state is not None:
            values = np.full(grid.size, np.nan)
            start = time.perf_counter()
            failures: list[str] = []
            done = 0
            for i in _coarse_to_fine(grid.size):
                a = grid[i]
                if time.perf_counter() - start > _THEORY_BUDGET_S:
                    lines.notes.append(
                        f"ground_state(alpha, {method!r}) is slow: {done} of {grid.size} points "
                        f"drawn within {_THEORY_BUDGET_S:.0f} s (cached for the next report)"
                    )
                    break
                done += 1
                try:
                    values[i] = float(ground_state(float(a), method))
                except Exception as exc:  # noqa: BLE001 - a failing point leaves a gap
                    failures.append(f"{a:.2f} ({type(exc).__name__}: {exc})")
            if failures:
                lines.notes.append(
                    f"ground_state(alpha, {method!r}) failed at {len(failures)} of {grid.size} "
                    f"alphas, e.g. {failures[0]}"
                )
            if np.isfinite(values).any():
                lines.curves[method] = (grid, values)
    return lines


def _coarse_to_fine(size: int) -> list[int]:
    """Indices ``0, size-1, middle, quarters, ...``: a curve cut short by the time budget
    still spans the whole range."""
    order = [0, size - 1] if size > 1 else [0]
    step = size - 1
    while step > 1:
        half = step // 2
        order += [i + half for i in range(0, size - 1 - half, step)]
        step = half
    seen: set[int] = set()
    return [i for i in order + list(range(size)) if not (i in seen or seen.add(i))]


def _save(fig, out_base: str) -> list[str]:
    paths = []
    for ext in ("png", "pdf"):
        path = f"{out_base}.{ext}"
        fig.savefig(path, dpi=150 if ext == "png" else None, bbox_inches="tight")
        paths.append(path)
    import matplotlib.pyplot as plt

    plt.close(fig)
    return paths


def _by_n(summary: Sequence[dict[str, Any]]) -> dict[int, list[dict[str, Any]]]:
    groups: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for row in summary:
        groups[row["n"]].append(row)
    return dict(sorted(groups.items()))


def _theory_capacity_lines(ax, theory: TheoryLines, *, vertical: bool = True) -> None:
    """The theory capacities as lines across the plot (vertical on an alpha axis)."""
    line = ax.axvline if vertical else ax.axhline
    for method, value in theory.capacities.items():
        line(
            value,
            color="0.3",
            ls=_THEORY_STYLE[method],
            lw=1.0,
            label=f"{THEORY_METHODS[method]} capacity {value:.3f}",
        )
    if theory.missing_label:
        ax.plot([], [], " ", label=theory.missing_label)


def plot_transition(
    summary: Sequence[dict[str, Any]],
    crossings: Sequence[dict[str, Any]],
    theory: TheoryLines,
    out_base: str,
    title: str = "",
) -> list[str]:
    """P(injective) vs alpha, one line per n, Wilson 95% bars, fitted logistic curves,
    unknown counts written next to their points, theory capacities as vertical lines."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7.5, 4.8))
    fits = {c["n"]: c for c in crossings}
    all_alpha = [r["alpha"] for r in summary]
    grid = np.linspace(min(all_alpha), max(all_alpha), 300) if all_alpha else np.array([])
    total_unknown = 0
    for i, (n, rows) in enumerate(_by_n(summary).items()):
        color = f"C{i % 10}"
        a = np.array([r["alpha"] for r in rows])
        f = np.array([r["frac_injective"] for r in rows])
        lo = np.array([r["ci_low"] for r in rows])
        hi = np.array([r["ci_high"] for r in rows])
        ok = np.isfinite(f)
        yerr = np.clip(np.vstack([f[ok] - lo[ok], hi[ok] - f[ok]]), 0.0, None)
        ax.errorbar(
            a[ok], f[ok], yerr=yerr, fmt="o", ms=4, capsize=3, color=color, label=f"n = {n}"
        )
        fit = fits.get(n)
        if fit and math.isfinite(fit["alpha50"]) and grid.size:
            ax.plot(
                grid, logistic(grid, fit["alpha50"], fit["slope"]), color=color, lw=1.2, alpha=0.8
            )
        for r in rows:
            total_unknown += r["unknown"]
            if r["unknown"]:
                y = r["frac_injective"] if math.isfinite(r["frac_injective"]) else 0.5
                ax.annotate(
                    f"u={r['unknown']}",
                    (r["alpha"], y),
                    textcoords="offset points",
                    xytext=(4, -10),
                    fontsize=7,
                    color=color,
                )
    ax.axhline(0.5, color="0.75", lw=0.8, zorder=0)
    _theory_capacity_lines(ax, theory)
    if total_unknown:
        ax.plot([], [], " ", label=f"u=k: k unknown trials ({total_unknown} in all)")
    ax.set_xlabel(_alpha_label(summary))
    ax.set_ylabel("P(injective) (decided trials, 95% Wilson)")
    ax.set_ylim(-0.03, 1.03)
    ax.set_title(title or "Injectivity transition")
    ax.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.01, 0.5))
    ax.grid(alpha=0.3)
    return _save(fig, out_base)


def plot_pstar(
    summary: Sequence[dict[str, Any]], theory: TheoryLines, out_base: str, title: str = ""
) -> list[str]:
    """Mean P*/n +- one standard deviation per n vs alpha, against the e*(alpha) curves."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7.5, 4.8))
    any_data = False
    for i, (n, rows) in enumerate(_by_n(summary).items()):
        rows = [r for r in rows if r["pstar_count"] > 0]
        if not rows:
            continue
        any_data = True
        a = np.array([r["alpha"] for r in rows])
        mean = np.array([r["pstar_over_n_mean"] for r in rows])
        sd = np.nan_to_num(np.array([r["pstar_over_n_sd"] for r in rows]))
        ax.errorbar(
            a,
            mean,
            yerr=sd,
            fmt="o-",
            ms=4,
            lw=0.8,
            capsize=3,
            color=f"C{i % 10}",
            label=f"n = {n} (mean +- sd)",
        )
    for method, (x, y) in theory.curves.items():
        ok = np.isfinite(y)  # gaps (failed or skipped points) are bridged, sparse ones marked
        ax.plot(
            x[ok],
            y[ok],
            marker="." if ok.sum() < 0.8 * ok.size else None,
            color="0.2",
            ls=_THEORY_STYLE[method],
            lw=1.3,
            label=f"e*(alpha), {THEORY_METHODS[method]}",
        )
    missing = [THEORY_METHODS[m] for m in THEORY_METHODS if m not in theory.curves]
    if missing:
        ax.plot([], [], " ", label=f"e* n/a: {', '.join(missing)}")
    ax.axhline(1.0, color="0.6", lw=0.8, ls="-", label="P*/n = 1 (injective above)")
    if not any_data:
        ax.text(
            0.5,
            0.5,
            "no exact P* in this sweep\n(run the sweep with --exact-value)",
            transform=ax.transAxes,
            ha="center",
            va="center",
            color="0.4",
        )
    ax.set_xlabel(_alpha_label(summary))
    ax.set_ylabel("P*/n")
    ax.set_title(title or "Minimal fraction of non-negative pre-activations")
    ax.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.01, 0.5))
    ax.grid(alpha=0.3)
    return _save(fig, out_base)


def plot_alpha50(
    crossings: Sequence[dict[str, Any]],
    extrapolations: Sequence[Extrapolation],
    theory: TheoryLines,
    out_base: str,
    title: str = "",
) -> list[str]:
    """alpha_50(n) with 95% profile intervals vs 1/n, the 1/n extrapolation and its
    interval at 1/n = 0, and theory capacities as horizontal lines."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7.5, 4.8))
    ok = [c for c in crossings if math.isfinite(c["alpha50"])]
    if ok:
        x = np.array([1.0 / c["n"] for c in ok])
        y = np.array([c["alpha50"] for c in ok])
        lo = np.array([c["ci_low"] for c in ok])
        hi = np.array([c["ci_high"] for c in ok])
        span = max(np.ptp(y), 0.5)
        # Open intervals are drawn to the frame edge.
        lo = np.where(np.isfinite(lo), lo, y - 2 * span)
        hi = np.where(np.isfinite(hi), hi, y + 2 * span)
        ax.errorbar(
            x,
            y,
            yerr=[y - lo, hi - y],
            fmt="o",
            capsize=3,
            color="C0",
            label="alpha_50(n), 95% profile CI",
        )
        for c, xi, yi in zip(ok, x, y, strict=True):
            ax.annotate(
                f"n={c['n']}", (xi, yi), textcoords="offset points", xytext=(5, 5), fontsize=8
            )
    ex = next((e for e in extrapolations if e.quantity == "alpha50"), None)
    if ex is not None and math.isfinite(ex.value) and ok:
        xs = np.linspace(0, max(1.0 / c["n"] for c in ok) * 1.05, 50)
        ax.plot(
            xs,
            ex.value + ex.slope * xs,
            color="C1",
            lw=1.2,
            label=f"fit alpha_50 = a + c/n (n = {ex.sizes})",
        )
        ax.errorbar(
            [0.0],
            [ex.value],
            yerr=[[ex.value - ex.ci_low], [ex.ci_high - ex.value]],
            fmt="s",
            color="C1",
            capsize=4,
            label=f"n -> inf: {ex.value:.2f} [{ex.ci_low:.2f}, {ex.ci_high:.2f}]",
        )
    _theory_capacity_lines(ax, theory, vertical=False)
    if not ok:
        ax.text(
            0.5,
            0.5,
            "no 50% crossing inside the grid",
            transform=ax.transAxes,
            ha="center",
            va="center",
            color="0.4",
        )
    ax.set_xlim(left=-0.01)
    ax.set_xlabel("1/n")
    ax.set_ylabel("alpha_50 (50% injective)")
    ax.set_title(title or "Finite-size scaling of the 50% crossing")
    ax.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.01, 0.5))
    ax.grid(alpha=0.3)
    return _save(fig, out_base)


def _alpha_label(summary: Sequence[dict[str, Any]]) -> str:
    depth = max((r["depth"] for r in summary), default=1)
    return "alpha = m/n" if depth == 1 else "alpha (realised expansion per layer)"
