"""Tables and figures of ``experiments/deep_expansion.py`` from its records only.

Per seed the bisection brackets the critical width ``m*`` of the last layer:
``lo_fail < m* <= hi_pass``. At a width ``m`` a seed counts as injective when
``hi_pass <= m``, non-injective when ``lo_fail >= m`` and unknown otherwise (an undecided
check stopped its bisection). Curves: share injective among decided seeds with Wilson
95 % intervals; ``alpha_50``: first width where that share reaches 1/2, over
``m_{l-1}``. Theory lines come from ``theory_lines.csv`` (written by
``python experiments/deep_expansion.py --theory``), never recomputed here.
"""

from __future__ import annotations

import csv
import math
import statistics
from collections import defaultdict
from pathlib import Path

from injcheck.sweep.analysis import wilson_interval


def _state(b: dict, m: int) -> str:
    if b["hi_pass"] is not None and b["hi_pass"] <= m:
        return "inj"
    if b["lo_fail"] >= m:
        return "non"
    return "unk"


def group(records: list[dict]) -> dict[str, list[dict]]:
    out = defaultdict(list)
    for r in records:
        out[r["key"]].append(r)
    return dict(sorted(out.items()))


def curve(recs: list[dict], which: str = "bisection", unknown_as: str | None = None) -> list[dict]:
    """P(injective) at each width of the last layer, over seeds with an injective prefix.

    ``unknown_as="inj"`` or ``"non"`` counts a width left undecided as that outcome. A
    seed's widths are monotone (nested rows), so its undecided widths lie between its last
    failing and first passing width, and the two choices bound every curve consistent
    with the data: the bracket of alpha_50 (``summary_rows``).
    """
    valid = [r[which] for r in recs if which in r]
    if not valid:
        return []
    r0 = recs[0]
    rows = []
    for m in range(r0["n"], r0["m_max"] + 1):
        states = [_state(b, m) for b in valid]
        if unknown_as is not None:
            states = [unknown_as if st == "unk" else st for st in states]
        inj, non, unk = states.count("inj"), states.count("non"), states.count("unk")
        dec = inj + non
        lo, hi = wilson_interval(inj, dec) if dec else (math.nan, math.nan)
        rows.append(
            {
                "m": m,
                "ratio": m / r0["m_prev"],
                "injective": inj,
                "non_injective": non,
                "unknown": unk,
                "p": inj / dec if dec else math.nan,
                "lo": lo,
                "hi": hi,
            }
        )
    return rows


def alpha50(rows: list[dict]) -> float:
    """First ratio with P >= 1/2 (linear interpolation from the point before)."""
    prev = None
    for r in rows:
        if not math.isnan(r["p"]) and r["p"] >= 0.5:
            if prev is None or prev["p"] == r["p"]:
                return r["ratio"]
            t = (0.5 - prev["p"]) / (r["p"] - prev["p"])
            return prev["ratio"] + t * (r["ratio"] - prev["ratio"])
        if not math.isnan(r["p"]):
            prev = r
    return math.nan


def alpha50_interval(
    recs: list[dict], reps: int = 400, seed: int = 0, censored: bool = False
) -> tuple[float, float]:
    """Bootstrap 95 % interval of alpha_50 over nets (resampled with replacement).

    ``censored``: the low end from the curves with undecided widths counted injective,
    the high end with them counted non-injective (same resamples), so the interval holds
    both the sampling error and the undecided checks.
    """
    import numpy as np

    valid = [r for r in recs if "bisection" in r]
    if len(valid) < 3:
        return math.nan, math.nan
    rng = np.random.default_rng(seed)
    lows, highs = [], []
    for _ in range(reps):
        pick = [valid[i] for i in rng.integers(0, len(valid), len(valid))]
        if censored:
            lows.append(alpha50(curve(pick, unknown_as="inj")))
            highs.append(alpha50(curve(pick, unknown_as="non")))
        else:
            lows.append(alpha50(curve(pick)))
    highs = highs or lows
    lows = [v for v in lows if not math.isnan(v)]
    highs = [v for v in highs if not math.isnan(v)]
    if min(len(lows), len(highs)) < reps * 0.9:  # resamples that never reach 1/2
        return math.nan, math.nan
    return float(np.percentile(lows, 2.5)), float(np.percentile(highs, 97.5))


def binding(recs: list[dict]) -> dict:
    """Global seeds: does a fold (global > local critical width) or rank loss bind?"""
    fold = rank = open_ = 0
    gaps = []
    for r in recs:
        g, loc = r.get("bisection"), r.get("local_bisection")
        if not g or not loc:
            continue
        exact = g["hi_pass"] is not None and g["hi_pass"] - g["lo_fail"] == 1
        exact_l = loc["hi_pass"] is not None and loc["hi_pass"] - loc["lo_fail"] == 1
        if not (exact and exact_l):
            # a fold is still certain when the global check fails where the local one passes
            if loc["hi_pass"] is not None and g["lo_fail"] >= loc["hi_pass"]:
                fold += 1
            else:
                open_ += 1
            continue
        gaps.append(g["hi_pass"] - loc["hi_pass"])
        if g["hi_pass"] > loc["hi_pass"]:
            fold += 1
        else:
            rank += 1
    return {"fold": fold, "rank_loss": rank, "undecided": open_, "gaps": gaps}


def summary_rows(groups: dict[str, list[dict]]) -> list[dict]:
    out = []
    for key, recs in groups.items():
        r0 = recs[0]
        prefix_bad = sum(1 for r in recs if "bisection" not in r)
        cur = curve(recs)
        valid = [r for r in recs if "bisection" in r]
        undecided = sum(1 for r in valid if r["bisection"]["unknown_at"])
        # the share among decided nets is biased when many are undecided: no point
        # estimate then, only the bracket (undecided widths counted either way)
        trusted = bool(valid) and undecided <= len(valid) / 4
        ci = alpha50_interval(recs, censored=undecided > 0)
        row = {
            "key": key,
            "mode": r0["mode"],
            "n": r0["n"],
            "depth": r0["depth"],
            "m_prev": r0["m_prev"],
            "seeds": len(recs),
            "prefix_not_injective": prefix_bad,
            "checks": sum(len(r.get("bisection", {}).get("checks", [])) for r in recs),
            "unknown_checks": sum(len(r.get("bisection", {}).get("unknown_at", [])) for r in recs),
            "undecided_nets": undecided,
            "alpha50": alpha50(cur) if trusted else math.nan,
            "alpha50_bracket_lo": alpha50(curve(recs, unknown_as="inj")),
            "alpha50_bracket_hi": alpha50(curve(recs, unknown_as="non")),
            "alpha50_lo": ci[0],
            "alpha50_hi": ci[1],
            "median_seconds": statistics.median(r["wall"] for r in recs),
        }
        if r0["mode"] == "global":
            b = binding(recs)
            row.update(
                local_alpha50=alpha50(curve(recs, "local_bisection")),
                fold_binds=b["fold"],
                rank_loss_binds=b["rank_loss"],
                binding_undecided=b["undecided"],
            )
        out.append(row)
    return out


def write_csv(path: Path, rows: list[dict]) -> None:
    keys: list[str] = []
    for r in rows:
        keys += [k for k in r if k not in keys]
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=keys)
        w.writeheader()
        for r in rows:
            w.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in r.items()})


def read_theory(path: Path) -> list[dict]:
    if not path.exists():
        return []
    with open(path, encoding="utf-8") as fh:
        return [
            {k: (v if k in ("notion", "source") else float(v)) for k, v in r.items()}
            for r in csv.DictReader(fh)
        ]


def sandwich_rows(records: list[dict]) -> list[dict]:
    """n = 2 global seeds: critical widths for count >= n, global injectivity, count >= 2n.

    The counts come from the circle walk (``circle_counts.py``, milliseconds per net) on the
    same weights; the global width from the exact check's bisection.
    """
    from circle_counts import critical_width, min_counts
    from deep_expansion import Config, weights

    rows = []
    for r in records:
        if r["mode"] != "global" or r["n"] != 2 or "bisection" not in r:
            continue
        cfg = Config(
            r["n"], r["depth"], r["mode"], r["seeds"], r["time_limit"], r.get("method", "auto")
        )
        counts = min_counts(weights(cfg, r["seed"]))
        g = r["bisection"]
        exact = g["hi_pass"] is not None and g["hi_pass"] - g["lo_fail"] == 1
        rows.append(
            {
                "depth": r["depth"],
                "seed": r["seed"],
                "m_prev": r["m_prev"],
                "count_n": critical_width(counts, 2),
                "global": g["hi_pass"] if exact else None,
                "count_2n": critical_width(counts, 4),
                "exact_local": r["local_bisection"]["hi_pass"],
            }
        )
    return rows


def sandwich_curves(rows: list[dict], m_max: int) -> list[dict]:
    """P(critical width <= m) per depth and notion (None = not reached up to m_max)."""
    out = []
    for d in sorted({r["depth"] for r in rows}):
        rs = [r for r in rows if r["depth"] == d]
        for notion in ("count_n", "global", "count_2n"):
            vals = [r[notion] for r in rs]
            for m in range(2, m_max + 1):
                k = sum(1 for v in vals if v is not None and v <= m)
                lo, hi = wilson_interval(k, len(vals))
                out.append(
                    {
                        "depth": d,
                        "notion": notion,
                        "m": m,
                        "ratio": m / rs[0]["m_prev"],
                        "p": k / len(vals),
                        "lo": lo,
                        "hi": hi,
                        "seeds": len(vals),
                    }
                )
    return out


def _f(x, fmt=".3f") -> str:
    return "" if x is None or (isinstance(x, float) and math.isnan(x)) else format(x, fmt)


def summary_markdown(summary: list[dict], sandwich: list[dict]) -> str:
    """The tables quoted in the docs (results/deep_theory/summary.md)."""
    base = {(s["mode"], s["n"]): s["alpha50"] for s in summary if s["depth"] == 1}
    from machine import cpu_model  # experiments/machine.py

    lines = [
        "Command: `nice -n 5 python experiments/deep_expansion.py --out results/deep_theory`",
        "",
        f"Machine: {cpu_model()}, 2 workers, shared with other jobs.",
        "",
        "| notion | n | depth l | nets (prefix injective) | prefix not injective / undecided | "
        "nets with an undecided check | alpha_50 = m_l/m_{l-1} [bootstrap 95 %] (with "
        "undecided checks: its values with them counted injective / not, and an interval "
        "holding both) | m_l,50 / m_1,50 | local alpha_50, same nets "
        "| fold / rank loss / undecided |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for s in summary:
        b = base.get((s["mode"], s["n"]), math.nan)
        rel = s["alpha50"] * s["m_prev"] / (b * s["n"]) if s["depth"] > 1 else math.nan
        fold = (
            f"{s['fold_binds']} / {s['rank_loss_binds']} / {s['binding_undecided']}"
            if s["mode"] == "global" and s["depth"] > 1
            else ""
        )
        ci = f"[{_f(s['alpha50_lo'])}, {_f(s['alpha50_hi'])}]"
        if s["undecided_nets"] == 0:
            a50 = f"{_f(s['alpha50'])} {ci}"
        else:  # undecided widths counted injective / non-injective, and the 95 % interval
            point = "" if math.isnan(s["alpha50"]) else f"{s['alpha50']:.3f}, "
            a50 = (
                f"{point}between {_f(s['alpha50_bracket_lo'])} and "
                f"{_f(s['alpha50_bracket_hi'])}, {ci}"
            )
        lines.append(
            f"| {s['mode']} | {s['n']} | {s['depth']} | {s['seeds'] - s['prefix_not_injective']} | "
            f"{s['prefix_not_injective']} | {s['undecided_nets']} | {a50} | "
            f"{_f(rel)} | {_f(s.get('local_alpha50'))} | {fold} |"
        )
    if sandwich:
        lines += [
            "",
            "n = 2, per net: critical widths of the last layer for count >= n (local), global "
            "injectivity (exact) and count >= 2n (sufficient), over m_{l-1} = 16 (medians); "
            "where the global width sits: equal to the local one (rank loss binds), equal to "
            "the 2n one, strictly between; mean position (global - local)/(2n - local).",
            "",
            "| depth l | nets | local | global | count 2n | global = local | global = 2n | "
            "between | mean position | global > 2n (must be 0) |",
            "|---|---|---|---|---|---|---|---|---|---|",
        ]
        for d in sorted({r["depth"] for r in sandwich if r["depth"] > 1}):
            rs = [r for r in sandwich if r["depth"] == d and r["global"] is not None]
            rs = [r for r in rs if r["count_2n"] is not None]
            med = {
                k: statistics.median(r[k] for r in rs) / rs[0]["m_prev"]
                for k in ("count_n", "global", "count_2n")
            }
            eq_l = sum(1 for r in rs if r["global"] == r["count_n"])
            eq_2 = sum(
                1 for r in rs if r["global"] == r["count_2n"] and r["count_2n"] > r["count_n"]
            )
            bad = sum(1 for r in rs if r["global"] > r["count_2n"])
            pos = [
                (r["global"] - r["count_n"]) / (r["count_2n"] - r["count_n"])
                for r in rs
                if r["count_2n"] > r["count_n"]
            ]
            lines.append(
                f"| {d} | {len(rs)} | {med['count_n']:.3f} | {med['global']:.3f} | "
                f"{med['count_2n']:.3f} | {eq_l} | {eq_2} | {len(rs) - eq_l - eq_2} | "
                f"{statistics.mean(pos):.2f} | {bad} |"
            )
    return "\n".join(lines) + "\n"


def report(records: list[dict], out: Path, figures: bool = True) -> list[dict]:
    """Write ``curves.csv``, ``summary.csv`` (and figures); return the summary rows."""
    groups = group(records)
    curves = []
    for key, recs in groups.items():
        for which in ("bisection", "local_bisection"):
            for row in curve(recs, which):
                curves.append({"key": key, "notion_checked": which, **row})
    summary = summary_rows(groups)
    write_csv(out / "curves.csv", curves)
    write_csv(out / "summary.csv", summary)
    sandwich = sandwich_rows(records)
    (out / "summary.md").write_text(summary_markdown(summary, sandwich), encoding="utf-8")
    if sandwich:
        write_csv(out / "sandwich_n2.csv", sandwich)
        m_max = max(r["m_max"] for r in records if r["mode"] == "global" and r["n"] == 2)
        write_csv(out / "sandwich_n2_curves.csv", sandwich_curves(sandwich, m_max))
    if figures and summary:
        from deep_expansion_plots import plot_all  # experiments/deep_expansion_plots.py

        plot_all(groups, summary, read_theory(out / "theory_lines.csv"), out)
        if sandwich:
            from deep_expansion_plots import plot_sandwich

            plot_sandwich(
                sandwich_curves(sandwich, m_max), read_theory(out / "theory_lines.csv"), out
            )
    return summary
