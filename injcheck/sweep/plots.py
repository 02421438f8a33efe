"""Plots of a sweep (PNG and PDF): transition curves, P*/n against theory, alpha_50 vs 1/n.

The functions here only draw: the report hands them the summary, the fits and the theory
lines (:class:`~.analysis.TheoryLines`, computed by :func:`~.analysis.theory_lines` from
the shipped theory table), and nothing here reads a table or a store.

Each ``*_figure`` function builds a figure (for tests and notebooks); the ``plot_*``
functions save it as PNG and PDF and close it.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from .analysis import THEORY_METHODS, Extrapolation, TheoryLines, logistic

if TYPE_CHECKING:
    from matplotlib.figure import Figure

# 1RSB and full RSB differ by 0.3% in capacity: colour and dash both differ so that the
# two stay apart in print and in greyscale.
_THEORY_STYLE = {
    "rs": {"color": "0.35", "ls": ":", "lw": 1.4},
    "1rsb": {"color": "#b2182b", "ls": "--", "lw": 1.2},
    "frsb": {"color": "#2166ac", "ls": "-.", "lw": 1.2},
}
_THEORY_SHORT = {"rs": "RS", "1rsb": "1RSB", "frsb": "fRSB"}
_DODGE = 0.25  # total horizontal spread of the n series, as a share of the alpha spacing
_FIGSIZE = (7.5, 4.6)
ALPHA_LABEL = r"$\alpha = m/n$"


def _save(fig: Figure, out_base: str) -> list[str]:
    import matplotlib.pyplot as plt

    paths = []
    try:
        for ext in ("png", "pdf"):
            path = f"{out_base}.{ext}"
            fig.savefig(path, dpi=150 if ext == "png" else None, bbox_inches="tight")
            paths.append(path)
    finally:
        plt.close(fig)
    return paths


def _by_n(summary: Sequence[dict[str, Any]]) -> dict[int, list[dict[str, Any]]]:
    groups: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for row in summary:
        groups[row["n"]].append(row)
    return dict(sorted(groups.items()))


def dodge_offsets(summary: Sequence[dict[str, Any]]) -> dict[int, float]:
    """Horizontal offset per ``n`` so that series at the same alpha do not hide each other.

    The series spread over ``_DODGE`` of the smallest spacing of the nominal alpha grid,
    centred on the true alpha (fitted curves are drawn at the true alpha).
    """
    ns = sorted({r["n"] for r in summary})
    nominal = sorted(
        {r["alpha_nominal"] if r.get("alpha_nominal") is not None else r["alpha"] for r in summary}
    )
    gaps = np.diff(nominal)
    gaps = gaps[gaps > 1e-9]
    spacing = float(gaps.min()) if gaps.size else 1.0
    if len(ns) < 2:
        return dict.fromkeys(ns, 0.0)
    shifts = np.linspace(-0.5, 0.5, len(ns)) * _DODGE * spacing
    return {n: float(s) for n, s in zip(ns, shifts, strict=True)}


def _new_axes():
    import matplotlib.pyplot as plt

    return plt.subplots(figsize=_FIGSIZE, layout="constrained")


def _legend(ax, **kwargs) -> None:
    from matplotlib.legend_handler import HandlerTuple

    ax.legend(
        fontsize=8,
        loc="center left",
        bbox_to_anchor=(1.01, 0.5),
        handler_map={tuple: HandlerTuple(ndivide=1)},
        **kwargs,
    )


def _theory_capacity_lines(ax, theory: TheoryLines, *, vertical: bool = True) -> None:
    """The theory capacities as lines across the plot (vertical on an alpha axis), each
    with a short tag beside it: the lowest to its left (below), the others to its right
    (above), so that the close 1RSB and full-RSB lines stay readable."""
    line = ax.axvline if vertical else ax.axhline
    order = sorted(theory.capacities, key=theory.capacities.get)
    for rank, method in enumerate(order):
        value = theory.capacities[method]
        style = _THEORY_STYLE[method]
        line(value, **style, label=f"{THEORY_METHODS[method]} capacity {value:.3f}")
        first = rank == 0
        if vertical:
            ax.annotate(
                _THEORY_SHORT[method],
                (value, 0.0),
                xycoords=("data", "axes fraction"),
                xytext=(-3 if first else 3, 4),
                textcoords="offset points",
                ha="right" if first else "left",
                va="bottom",
                fontsize=7,
                color=style["color"],
                annotation_clip=True,
            )
        else:
            ax.annotate(
                _THEORY_SHORT[method],
                (1.0, value),
                xycoords=("axes fraction", "data"),
                xytext=(-4, -2 if first else 2),
                textcoords="offset points",
                ha="right",
                va="top" if first else "bottom",
                fontsize=7,
                color=style["color"],
                annotation_clip=True,
            )
    if theory.missing_label:
        ax.plot([], [], " ", label=theory.missing_label)


def transition_figure(
    summary: Sequence[dict[str, Any]],
    crossings: Sequence[dict[str, Any]],
    theory: TheoryLines,
    title: str = "",
) -> Figure:
    """P(injective) vs alpha, one series per n (dodged), Wilson 95% bars, fitted logistic
    curves (in the legend with their alpha_50), unknown counts next to their points, theory
    capacities as vertical lines."""
    fig, ax = _new_axes()
    fits = {c["n"]: c for c in crossings}
    all_alpha = [r["alpha"] for r in summary]
    grid = np.linspace(min(all_alpha), max(all_alpha), 300) if all_alpha else np.array([])
    shift = dodge_offsets(summary)
    entries: list[tuple[Any, str]] = []  # (handle, label); a tuple handle is drawn overlaid
    total_unknown = 0
    for i, (n, rows) in enumerate(_by_n(summary).items()):
        color = f"C{i % 10}"
        a = np.array([r["alpha"] for r in rows]) + shift[n]
        f = np.array([r["frac_injective"] for r in rows])
        lo = np.array([r["ci_low"] for r in rows])
        hi = np.array([r["ci_high"] for r in rows])
        ok = np.isfinite(f)
        yerr = np.clip(np.vstack([f[ok] - lo[ok], hi[ok] - f[ok]]), 0.0, None)
        points = ax.errorbar(a[ok], f[ok], yerr=yerr, fmt="o", ms=4, capsize=2.5, color=color)
        fit = fits.get(n)
        if fit and math.isfinite(fit["alpha50"]) and grid.size:
            (curve,) = ax.plot(
                grid, logistic(grid, fit["alpha50"], fit["slope"]), color=color, lw=1.2, alpha=0.8
            )
            entries.append(((points, curve), f"n = {n}, logistic fit {_a50(fit['alpha50'])}"))
        else:
            entries.append((points, f"n = {n}, no fit"))
        total_unknown += _unknown_labels(ax, rows, a, color)
    ax.axhline(0.5, color="0.75", lw=0.8, zorder=0)
    _theory_capacity_lines(ax, theory)
    if total_unknown:
        ax.plot([], [], " ", label=f"u=k: k unknown trials ({total_unknown} in all)")
    ax.set_xlabel(_alpha_label(summary))
    ax.set_ylabel("P(injective), decided trials, 95% Wilson CI")
    ax.set_ylim(-0.03, 1.03)
    ax.margins(x=0.07)  # room for the u=k labels right of the last points
    ax.set_title(title or "Injectivity transition")
    handles, labels = ax.get_legend_handles_labels()
    _legend(ax, handles=[h for h, _ in entries] + handles, labels=[t for _, t in entries] + labels)
    ax.grid(alpha=0.3)
    return fig


def _unknown_labels(ax, rows: Sequence[dict[str, Any]], alphas: np.ndarray, color: str) -> int:
    """Write ``u=k`` right of each point with unknown trials; return their total."""
    total = 0
    for r, x in zip(rows, alphas, strict=True):
        total += r["unknown"]
        if r["unknown"]:
            y = r["frac_injective"] if math.isfinite(r["frac_injective"]) else 0.5
            ax.annotate(
                f"u={r['unknown']}",
                (x, y),
                textcoords="offset points",
                xytext=(4, 0),
                ha="left",
                va="center",
                fontsize=7,
                color=color,
            )
    return total


def _a50(value: float) -> str:
    return rf"$\alpha_{{50}}$ = {value:.2f}"


def plot_transition(
    summary: Sequence[dict[str, Any]],
    crossings: Sequence[dict[str, Any]],
    theory: TheoryLines,
    out_base: str,
    title: str = "",
) -> list[str]:
    """:func:`transition_figure` saved as ``out_base``.png/.pdf."""
    return _save(transition_figure(summary, crossings, theory, title), out_base)


def pstar_figure(summary: Sequence[dict[str, Any]], theory: TheoryLines, title: str = "") -> Figure:
    """Mean P*/n +- one standard deviation per n (dodged) vs alpha, against the e*(alpha)
    curves, with an inset zooming on where the 1RSB and full-RSB curves cross P*/n = 1."""
    fig, ax = _new_axes()
    shift = dodge_offsets(summary)
    any_data = False
    for i, (n, rows) in enumerate(_by_n(summary).items()):
        rows = [r for r in rows if r["pstar_count"] > 0]
        if not rows:
            continue
        any_data = True
        a = np.array([r["alpha"] for r in rows]) + shift[n]
        mean = np.array([r["pstar_over_n_mean"] for r in rows])
        sd = np.nan_to_num(np.array([r["pstar_over_n_sd"] for r in rows]))
        ax.errorbar(
            a,
            mean,
            yerr=sd,
            fmt="o-",
            ms=4,
            lw=0.8,
            capsize=2.5,
            color=f"C{i % 10}",
            label=f"n = {n}, mean ± sd",
        )
    _theory_curves(ax, theory)
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
    ax.margins(x=0.04)
    ax.set_title(title or "Minimal fraction of non-negative pre-activations")
    _legend(ax)
    ax.grid(alpha=0.3)
    _capacity_inset(ax, theory)
    return fig


def _theory_curves(ax, theory: TheoryLines) -> None:
    for method, (x, y) in theory.curves.items():
        ax.plot(x, y, **_THEORY_STYLE[method], label=rf"$e^*(\alpha)$, {THEORY_METHODS[method]}")


def _capacity_inset(ax, theory: TheoryLines) -> None:
    """Zoom on e* = 1 around the 1RSB and full-RSB capacities (too close to tell apart at
    full scale); only when both curves cover the window."""
    both = {"1rsb", "frsb"}
    if not (both <= theory.curves.keys() and both <= theory.capacities.keys()):
        return
    c_lo, c_hi = sorted((theory.capacities["1rsb"], theory.capacities["frsb"]))
    pad = max(4 * (c_hi - c_lo), 0.05)
    window = (c_lo - pad, c_hi + pad)
    x = theory.curves["frsb"][0]
    if x[0] > window[0] or x[-1] < window[1]:
        return
    inset = ax.inset_axes((0.05, 0.56, 0.36, 0.38))
    for method in ("1rsb", "frsb"):
        xs, ys = theory.curves[method]
        keep = (xs >= window[0]) & (xs <= window[1])
        inset.plot(xs[keep], ys[keep], **_THEORY_STYLE[method])
        inset.axvline(theory.capacities[method], **{**_THEORY_STYLE[method], "lw": 0.8})
    inset.axhline(1.0, color="0.6", lw=0.8)
    inset.set_xlim(*window)
    ys = np.concatenate(
        [theory.curves[m][1][(x >= window[0]) & (x <= window[1])] for m in ("1rsb", "frsb")]
    )
    ys = ys[np.isfinite(ys)]
    if ys.size:
        inset.set_ylim(ys.min(), ys.max())
    inset.tick_params(labelsize=6)
    inset.set_title(r"zoom: capacities, $e^* = 1$", fontsize=7)
    inset.grid(alpha=0.3)
    ax.indicate_inset_zoom(inset, edgecolor="0.5", alpha=0.6)


def plot_pstar(
    summary: Sequence[dict[str, Any]], theory: TheoryLines, out_base: str, title: str = ""
) -> list[str]:
    """:func:`pstar_figure` saved as ``out_base``.png/.pdf."""
    return _save(pstar_figure(summary, theory, title), out_base)


def alpha50_figure(
    crossings: Sequence[dict[str, Any]],
    extrapolations: Sequence[Extrapolation],
    theory: TheoryLines,
    title: str = "",
) -> Figure:
    """alpha_50(n) with 95% profile intervals vs 1/n, the 1/n extrapolation and its
    interval at 1/n = 0, and theory capacities as horizontal lines."""
    fig, ax = _new_axes()
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
            label=r"$\alpha_{50}(n)$, 95% profile CI",
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
            label=rf"fit $\alpha_{{50}} = a + c/n$ (n = {ex.sizes})",
        )
        ax.errorbar(
            [0.0],
            [ex.value],
            yerr=[[ex.value - ex.ci_low], [ex.ci_high - ex.value]],
            fmt="s",
            color="C1",
            capsize=4,
            label=f"n → ∞: {ex.value:.2f} [{ex.ci_low:.2f}, {ex.ci_high:.2f}]",
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
    ax.margins(x=0.08)
    ax.set_xlabel("1/n")
    ax.set_ylabel(r"$\alpha_{50}$, 50% injective")
    ax.set_title(title or "Finite-size scaling of the 50% crossing")
    _legend(ax)
    ax.grid(alpha=0.3)
    return fig


def plot_alpha50(
    crossings: Sequence[dict[str, Any]],
    extrapolations: Sequence[Extrapolation],
    theory: TheoryLines,
    out_base: str,
    title: str = "",
) -> list[str]:
    """:func:`alpha50_figure` saved as ``out_base``.png/.pdf."""
    return _save(alpha50_figure(crossings, extrapolations, theory, title), out_base)


def _alpha_label(summary: Sequence[dict[str, Any]]) -> str:
    depth = max((r["depth"] for r in summary), default=1)
    return ALPHA_LABEL if depth == 1 else r"$\alpha$ (realised expansion per layer)"
