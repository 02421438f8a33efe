"""Figures of ``experiments/deep_expansion.py`` (PNG + PDF), from records and shipped lines."""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from deep_expansion_report import curve  # noqa: E402

COLORS = {"weak": "tab:blue", "strong": "tab:red"}


def _theory(lines: list[dict], depth: int, source: str = "gordon") -> dict[str, float]:
    """Theory ratio per notion for the experiment's architecture (earlier layers at 8n)."""
    out = {}
    for r in lines:
        if int(r["depth"]) == depth and r["source"] == source:
            out[r["notion"]] = r["ratio"]
    return out


def _save(fig, out: Path, name: str) -> None:
    fig.tight_layout()
    fig.savefig(out / f"{name}.png", dpi=130)
    fig.savefig(out / f"{name}.pdf")
    plt.close(fig)


def _draw_curve(ax, rows, label, style="-o", color=None):
    """Share injective with its Wilson 95 % band (unknown seeds left out of the share)."""
    rs = [r for r in rows if not math.isnan(r["p"])]
    xs = [r["ratio"] for r in rs]
    (line,) = ax.plot(xs, [r["p"] for r in rs], style, ms=3, label=label, color=color)
    ax.fill_between(
        xs, [r["lo"] for r in rs], [r["hi"] for r in rs], alpha=0.15, color=line.get_color(), lw=0
    )


def _theory_vlines(ax, lines, depth):
    for notion, x in _theory(lines, depth).items():
        ax.axvline(x, color=COLORS[notion], ls=":", lw=1.2, label=f"theory {notion} (n->inf)")


def plot_transitions(groups, lines, out: Path, mode: str) -> None:
    keys = [k for k in groups if k.startswith(mode + ":")]
    depths = sorted({groups[k][0]["depth"] for k in keys})
    fig, axes = plt.subplots(1, len(depths), figsize=(4.2 * len(depths), 3.6), squeeze=False)
    for ax, d in zip(axes[0], depths, strict=True):
        for k in keys:
            recs = groups[k]
            if recs[0]["depth"] != d:
                continue
            n = recs[0]["n"]
            nseeds = sum(1 for r in recs if "bisection" in r)
            exact = sum(1 for r in recs if "bisection" in r and not r["bisection"]["unknown_at"])
            _draw_curve(ax, curve(recs), f"n={n} ({nseeds} nets, {exact} without unknowns)")
            if mode == "global":
                _draw_curve(ax, curve(recs, "local_bisection"), f"n={n} local", style="--x")
        _theory_vlines(ax, lines, d)
        ax.set_xlabel("m_1 / n" if d == 1 else f"m_{d} / m_{d - 1}  (earlier layers 8n)")
        ax.set_ylabel("P(injective | earlier layers injective)")
        ax.set_title(f"{mode}, depth {d}")
        ax.set_ylim(-0.03, 1.03)
        ax.legend(fontsize=7)
    _save(fig, out, f"transition_{mode}")


#: Brackets of alpha_50 wider than this (in m_k / m_{k-1}) say nothing and are not drawn.
MAX_BAR = 0.4


def plot_alpha50(summary, lines, out: Path) -> None:
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 4))
    base = {(s["mode"], s["n"]): s["alpha50"] for s in summary if s["depth"] == 1}
    for mode, mk in (("local", "o-"), ("global", "s-")):
        for n in sorted({s["n"] for s in summary if s["mode"] == mode}):
            rows = sorted(
                (s for s in summary if s["mode"] == mode and s["n"] == n and s["depth"] > 1),
                key=lambda s: s["depth"],
            )
            if not rows:
                continue
            ks = [s["depth"] for s in rows]
            (line,) = a1.plot(ks, [s["alpha50"] for s in rows], mk, label=f"{mode} n={n}")
            b = base.get((mode, n), math.nan)
            scale = [s["m_prev"] / (b * n) for s in rows]
            a2.plot(ks, [s["alpha50"] * c for s, c in zip(rows, scale)], mk, label=f"{mode} n={n}")
            # undecided checks: the bracket (counted injective .. non-injective) as a bar
            for s, c in zip(rows, scale):
                lo, hi = (
                    s.get("alpha50_bracket_lo", math.nan),
                    s.get("alpha50_bracket_hi", math.nan),
                )
                if s["undecided_nets"] and hi - lo <= MAX_BAR:  # False for NaN
                    for ax, f in ((a1, 1.0), (a2, c)):
                        ax.vlines(
                            s["depth"], lo * f, hi * f, color=line.get_color(), lw=3, alpha=0.4
                        )
    b1 = _theory(lines, 1).get("weak", math.nan)
    for notion in ("weak", "strong"):
        ks = [k for k in range(2, 5) if notion in _theory(lines, k)]
        r = [_theory(lines, k)[notion] for k in ks]
        a1.plot(ks, r, ":", color=COLORS[notion], lw=2, label=f"theory {notion} (n->inf)")
        a2.plot(
            ks, [x * 8 / b1 for x in r], ":", color=COLORS[notion], lw=2, label=f"theory {notion}"
        )
    a1.axhline(1.0, color="grey", lw=0.8)
    a1.set_ylabel("alpha_50 = m_k / m_{k-1} at P = 1/2")
    a2.set_ylabel("m_k,50 / m_1,50 (one layer, same n, same notion)")
    a1.set_title(
        "needed m_k / m_{k-1}, measured at small n\n"
        "(bars: undecided checks counted either way; <= 0.4 wide)",
        fontsize=10,
    )
    a2.set_title("relative to a first layer at the same n")
    for ax in (a1, a2):
        ax.set_xlabel("layer k (earlier layers at 8n)")
        ax.set_xticks([2, 3, 4])
        ax.legend(fontsize=7)
    _save(fig, out, "alpha50_by_layer")


def plot_all(groups, summary, lines, out: Path) -> None:
    for mode in ("local", "global"):
        if any(k.startswith(mode + ":") for k in groups):
            plot_transitions(groups, lines, out, mode)
    plot_alpha50(summary, lines, out)


def plot_sandwich(rows, lines, out: Path) -> None:
    """n = 2: count >= n (local), global injectivity, count >= 2n (sufficient), per depth."""
    depths = sorted({r["depth"] for r in rows if r["depth"] > 1})
    fig, axes = plt.subplots(1, len(depths), figsize=(4.2 * len(depths), 3.6), squeeze=False)
    style = {
        "count_n": ("tab:blue", "count >= n (local, necessary)"),
        "global": ("black", "global (exact check)"),
        "count_2n": ("tab:red", "count >= 2n (sufficient)"),
    }
    for ax, d in zip(axes[0], depths, strict=True):
        for notion, (color, label) in style.items():
            rs = [r for r in rows if r["depth"] == d and r["notion"] == notion]
            xs = [r["ratio"] for r in rs]
            ax.errorbar(
                xs,
                [r["p"] for r in rs],
                yerr=[[r["p"] - r["lo"] for r in rs], [r["hi"] - r["p"] for r in rs]],
                fmt="-o",
                ms=3,
                capsize=2,
                color=color,
                label=f"{label} ({rs[0]['seeds']} nets)",
            )
        _theory_vlines(ax, lines, d)
        ax.set_xlabel(f"m_{d} / m_{d - 1}  (n = 2, earlier layers 8n)")
        ax.set_ylabel("P(last layer passes)")
        ax.set_title(f"depth {d}: the sandwich at n = 2")
        ax.set_ylim(-0.03, 1.03)
        ax.legend(fontsize=7)
    _save(fig, out, "sandwich_n2")
