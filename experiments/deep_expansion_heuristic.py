"""Larger n, heuristic: smallest last-layer width at which the deep search finds no rank loss.

Same nets as ``experiments/deep_expansion.py`` (earlier layers ``8n``, the last layer's
weight drawn with ``m_max = 12n`` rows, the net of width ``m`` uses its first ``m`` rows).
The search is the library's (:mod:`injcheck.deep.heuristic`): for a width ``m`` the
annealed window descent of :func:`search_local` (settings of
:func:`injcheck.deep.heuristic_check.settings_for` for that architecture), then the exact LP
improvement :func:`polish_layer` of the best candidate -- of the **last layer only** (the
library polishes every layer; the earlier layers' counts are not what is measured here, so
this experiment turns the library's polishing off and calls :func:`polish_layer` itself,
with the library's time budget and size rule).

**Pooling over the bisection.** Nested rows make one candidate point ``x`` informative at
every width: where every sign of layers ``1..l-1`` and of the first ``w`` rows of layer
``l`` is certified (:func:`injcheck.deep.cell_signs.certified_signs`) and fewer than ``n``
of those rows are positive, ``x`` lies in an open region with a rank loss at every width
``<= w``. ``w(x)`` is the largest such width; ``lo = max_x w(x)`` over all candidates of all
searches so far is monotone in the search, so the bisection over ``m`` (search at
``mid = (lo + hi) // 2``; ``hi`` = smallest searched width above ``lo`` where nothing was
found) is monotone per net by construction. At the end the best point is turned into a
witness at width ``lo`` and verified as the library does
(:func:`injcheck.deep.heuristic_check.local_witness`: the rational snap up to ``n = 24``,
the certified-region proof above), which proves non-injectivity at every width ``<= lo``.
The reported critical width ``lo + 1`` is therefore a proven **lower** bound on the exact
local critical width (the search proves failures, never success).

Records go to ``<out>/heuristic_records.jsonl`` as each net finishes (the run resumes from
it); the old prototype's records (``heuristic_prototype_records.jsonl``, same nets) are
compared when present. ``--quick`` is the CI smoke test.

    nice -n 10 python experiments/deep_expansion_heuristic.py --out results/deep_theory
    python experiments/deep_expansion_heuristic.py --quick --out /tmp/dhq
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from deep_expansion import Config, latest, weights  # noqa: E402

from injcheck.deep.cell_signs import certified_signs  # noqa: E402
from injcheck.deep.heuristic import polish_layer, search_local  # noqa: E402
from injcheck.deep.heuristic_check import local_witness, settings_for  # noqa: E402
from injcheck.networks import as_layers  # noqa: E402

#: (n, depths, nets); nets are seeds 0..nets-1 of ``deep_expansion.weights``.
PLAN = [(16, (1, 2, 3, 4), 12), (32, (1, 2, 3, 4), 12), (64, (1, 2, 3), 12), (128, (1, 2, 3), 8)]
QUICK_PLAN = [(4, (1, 2), 2)]
#: Candidates (best first) tried for a verified witness before lowering ``lo``.
VERIFY_TRIES = 4


@dataclass
class Search:
    """State of one net's bisection: pooled candidates and searched widths."""

    ws: list[np.ndarray]
    n: int
    lo: int
    passes: list[int] = field(default_factory=list)
    best: list[tuple[int, np.ndarray]] = field(default_factory=list)
    checks: list[dict] = field(default_factory=list)
    prefix_counts: list[int] | None = None

    @property
    def m_max(self) -> int:
        return self.ws[-1].shape[0]

    @property
    def hi(self) -> int:
        """Smallest searched width above ``lo`` with nothing found (``m_max + 1``: none)."""
        return min((w for w in self.passes if w > self.lo), default=self.m_max + 1)


def fail_width(layers: list, x: np.ndarray, n: int) -> int:
    """Largest last-layer width ``w`` at which ``x`` proves a rank loss (``-1``: none).

    ``layers`` is the full net (``m_max`` rows). Every sign of the earlier layers must be
    certified; a prefix layer with fewer than ``n`` active units fails at every width.
    """
    signs = certified_signs(layers, x)
    for s in signs[:-1]:
        if not s.all():
            return -1
        if int((s > 0).sum()) < n:
            return len(signs[-1])
    last = signs[-1]
    unsure = np.flatnonzero(last == 0)
    first_unsure = int(unsure[0]) if unsure.size else last.size
    positive = np.flatnonzero(last > 0)
    nth_positive = int(positive[n - 1]) if positive.size >= n else last.size
    return min(first_unsure, nth_positive)


def _candidates(ws: list[np.ndarray], m: int, seed: int, overrides: dict) -> tuple[list, dict]:
    """Points of one library search at last-layer width ``m`` (plus the polished best)."""
    layers = as_layers(ws[:-1] + [ws[-1][:m]])
    arch = [ws[0].shape[1]] + [w.shape[0] for w in ws[:-1]] + [m]
    settings = settings_for(arch, seed=seed, **overrides)
    polish = settings.polish_tries
    found = search_local([layers], replace(settings, polish_tries=0))[0]
    points = list(found.points)
    last = [c[-1] for c in found.point_counts]
    info = {"m": m, "best_count": found.best_counts[-1], "steps": settings.steps}
    ranked = [i for i in range(len(points)) if last[i] is not None]
    if polish > 0 and ranked:
        i = min(ranked, key=lambda j: last[j])
        polished = polish_layer(layers, points[i], len(layers), max_tries=polish)
        info["polish_flips"] = polished.flips
        if polished.x is not None:
            points.append(polished.x / np.linalg.norm(polished.x))
    info["prefix_best_counts"] = found.best_counts[:-1]
    return points, info


def _search_at(state: Search, m: int, seed: int, overrides: dict) -> None:
    """One search at width ``m``; pool its candidates into ``state``."""
    full = as_layers(state.ws)
    points, info = _candidates(state.ws, m, seed, overrides)
    widths = [fail_width(full, x, state.n) for x in points]
    info["best_fail_width"] = max(widths)
    state.checks.append(info)
    state.prefix_counts = info.pop("prefix_best_counts")
    for w, x in zip(widths, points):
        if w > state.lo:
            state.best.append((w, x))
    state.best = sorted(state.best, key=lambda t: -t[0])[:VERIFY_TRIES]
    state.lo = max([state.lo] + widths)
    if state.lo < m:
        state.passes.append(m)


def _verify(state: Search) -> dict:
    """Witness at the best candidate's width, verified by the library; lower ``lo`` to the
    largest verified width if the best candidates fail."""
    for w, x in state.best:
        width = min(w, state.m_max)
        layers = as_layers(state.ws[:-1] + [state.ws[-1][:width]])
        check, layer = local_witness(layers, x)
        if layer is not None:
            return {"verified_width": width, "layer": layer, "exact_check": check.exact_check}
    return {"verified_width": state.n - 1, "layer": None, "exact_check": None}


def critical_width(ws: list[np.ndarray], n: int, seed: int, overrides: dict | None = None) -> dict:
    """Smallest last-layer width with no verified rank loss found (nested rows, bisection).

    Returns a dict with ``critical`` (``verified lo + 1``; ``m_max + 1`` when a failure was
    proven at every width), ``claimed`` (``lo + 1`` before verification), the searches
    (``checks``) and the verification.
    """
    state = Search(ws, n, lo=n - 1)
    while state.hi - state.lo > 1:
        _search_at(state, (state.lo + state.hi) // 2, seed, overrides or {})
    ver = _verify(state) if state.best else {"verified_width": n - 1, "layer": None}
    return {
        "critical": ver["verified_width"] + 1,
        "claimed": state.lo + 1,
        "verification": ver,
        "prefix_best_counts": state.prefix_counts,
        "checks": state.checks,
    }


def run(out: Path, plan: list, overrides: dict) -> None:
    """Every (n, depth, seed) of ``plan`` not yet in the records, smallest n first."""
    out.mkdir(parents=True, exist_ok=True)
    path = out / "heuristic_records.jsonl"
    done = set()
    if path.exists():
        done = {(r["n"], r["depth"], r["seed"]) for r in map(json.loads, open(path))}
    with open(path, "a", encoding="utf-8") as fh:
        for n, depths, nets in plan:
            for seed in range(nets):
                for d in depths:
                    if (n, d, seed) in done:
                        continue
                    cfg = Config(n, d, "local", nets, 0.0)
                    t0 = time.perf_counter()
                    res = critical_width(weights(cfg, seed), n, seed, overrides)
                    rec = {"n": n, "depth": d, "seed": seed, "m_prev": cfg.m_prev}
                    rec.update(m_max=cfg.m_max, **res)
                    rec["seconds"] = round(time.perf_counter() - t0, 2)
                    fh.write(json.dumps(rec) + "\n")
                    fh.flush()
                    print({k: rec[k] for k in ("n", "depth", "seed", "critical", "seconds")})


def _load(path: Path) -> list[dict]:
    return [json.loads(line) for line in open(path)] if path.exists() else []


def bootstrap_median(values: list[float], reps: int = 2000, seed: int = 0) -> tuple:
    """Median and a percentile-bootstrap 95 % interval."""
    rng = np.random.default_rng(seed)
    arr = np.asarray(values, dtype=float)
    meds = np.median(rng.choice(arr, size=(reps, arr.size)), axis=1)
    return float(np.median(arr)), float(np.quantile(meds, 0.025)), float(np.quantile(meds, 0.975))


def ratio_interval(top: list[float], base: list[float], reps: int = 2000) -> tuple:
    """Percentile-bootstrap 95 % interval of ``median(top) / median(base)`` (two
    independent samples: the nets of different depths are different draws)."""
    rng = np.random.default_rng(1)
    t, b = np.asarray(top, float), np.asarray(base, float)
    meds_t = np.median(rng.choice(t, size=(reps, t.size)), axis=1)
    meds_b = np.median(rng.choice(b, size=(reps, b.size)), axis=1)
    ratios = meds_t / meds_b
    return float(np.quantile(ratios, 0.025)), float(np.quantile(ratios, 0.975))


def table_rows(recs: list[dict]) -> list[dict]:
    """Per (n, depth): median critical m_l/m_{l-1} [bootstrap] and m_l,50 / m_1,50 [bootstrap]."""
    rows = []
    for n in sorted({r["n"] for r in recs}):
        base = [r["critical"] for r in recs if r["n"] == n and r["depth"] == 1]
        for d in sorted({r["depth"] for r in recs if r["n"] == n}):
            rs = [r for r in recs if r["n"] == n and r["depth"] == d]
            med, lo, hi = bootstrap_median([r["critical"] / r["m_prev"] for r in rs])
            crit = [r["critical"] for r in rs]
            rel, rel_ci = math.nan, (math.nan, math.nan)
            if d > 1 and base:
                rel = statistics.median(crit) / statistics.median(base)
                rel_ci = ratio_interval(crit, base)
            rows.append(
                {"n": n, "depth": d, "nets": len(rs), "median": med, "lo": lo, "hi": hi}
                | {"rel": rel, "rel_lo": rel_ci[0], "rel_hi": rel_ci[1]}
                | {"verified": sum(_verified(r) for r in rs)}
                | {"seconds": statistics.median(r["seconds"] for r in rs)}
            )
    return rows


def _verified(rec: dict) -> bool:
    return rec["verification"]["layer"] is not None


def comparison(recs: list[dict], old: list[dict]) -> list[str]:
    """Same nets, new (library) against old (prototype) critical widths."""
    old_by = {(r["n"], r["depth"], r["seed"]): r["critical"] for r in old}
    lines = [
        "| n | depth l | nets | median new / old | new lower | equal | new higher |",
        "|---|---|---|---|---|---|---|",
    ]
    for n, d in sorted({(r["n"], r["depth"]) for r in recs}):
        pairs = [
            (r["critical"], old_by[(n, d, r["seed"])])
            for r in recs
            if r["n"] == n and r["depth"] == d and (n, d, r["seed"]) in old_by
        ]
        if not pairs:
            continue
        ratio = statistics.median(a / b for a, b in pairs)
        lower = sum(a < b for a, b in pairs)
        equal = sum(a == b for a, b in pairs)
        lines.append(
            f"| {n} | {d} | {len(pairs)} | {ratio:.3f} | {lower} | {equal} | "
            f"{len(pairs) - lower - equal} |"
        )
    return lines


def summarise(out: Path) -> str:
    recs = _load(out / "heuristic_records.jsonl")
    lines = [
        "Last-layer local critical widths from the library's deep heuristic "
        "(`experiments/deep_expansion_heuristic.py`; verified witnesses, so each width is a "
        "proven lower bound on the exact local one; docs/theory.md section 6c).",
        "",
        "| n | depth l | nets | verified witnesses | median critical m_l / m_{l-1} "
        "[bootstrap 95 %] | m_l,50 / m_1,50 [bootstrap 95 %] | median s / net |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in table_rows(recs):
        rel = ""
        if not math.isnan(row["rel"]):
            rel = f"{row['rel']:.3f} [{row['rel_lo']:.3f}, {row['rel_hi']:.3f}]"
        lines.append(
            f"| {row['n']} | {row['depth']} | {row['nets']} | {row['verified']} | "
            f"{row['median']:.3f} [{row['lo']:.3f}, {row['hi']:.3f}] | {rel} | "
            f"{row['seconds']:.1f} |"
        )
    old = _load(out / "heuristic_prototype_records.jsonl")
    if old:
        lines += ["", "Against the prototype search (same nets):", "", *comparison(recs, old)]
    return "\n".join(lines) + "\n"


def theory(out: Path) -> dict:
    """Local (weak) lines from ``theory_lines.csv`` (``deep_expansion.py --theory``):
    per layer, the needed ``m_l / m_{l-1}`` (1RSB-lifted, the closer to the true one-layer
    threshold) and ``m_l / m_1`` (Gordon chain and kernel widths), keyed by depth."""
    import csv

    path = out / "theory_lines.csv"
    if not path.exists():
        return {}
    rows = [r for r in csv.DictReader(open(path)) if r["notion"] == "weak"]
    first = {r["source"]: float(r["m_over_n"]) for r in rows if r["depth"] == "1"}
    lines: dict = {}
    for r in rows:
        d = lines.setdefault(int(r["depth"]), {})
        d[f"rel_{r['source']}"] = float(r["m_over_n"]) / first[r["source"]]
        if r["source"] == "gordon":
            d["lifted_ratio"] = float(r["lifted_ratio"])
    return lines


def plot(out: Path) -> None:
    """m_l / m_{l-1} and m_l,50 / m_1,50 against n, per depth, with the weak lines."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = table_rows(_load(out / "heuristic_records.jsonl"))
    lines = theory(out)
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.6))
    for d in sorted({r["depth"] for r in rows}):
        rs = [r for r in rows if r["depth"] == d]
        ax = axes[0] if d == 1 else axes[1]
        err = [[r["median"] - r["lo"] for r in rs], [r["hi"] - r["median"] for r in rs]]
        color = f"C{d - 1}"
        ns = [r["n"] for r in rs]
        ax.errorbar(ns, [r["median"] for r in rs], yerr=err, marker="o", capsize=3, color=color)
        ax.plot([], [], color=color, marker="o", label=f"layer {d}, measured")
        if d in lines:
            ax.axhline(lines[d]["lifted_ratio"], color=color, ls=":", label="local line (1RSB)")
        if d > 1:
            rel_err = [[r["rel"] - r["rel_lo"] for r in rs], [r["rel_hi"] - r["rel"] for r in rs]]
            axes[2].errorbar(
                ns,
                [r["rel"] for r in rs],
                yerr=rel_err,
                marker="o",
                capsize=3,
                color=color,
                label=f"layer {d}",
            )
            if d in lines:
                axes[2].axhline(lines[d]["rel_gordon"], color=color, ls="--", lw=0.8)
                axes[2].axhline(lines[d]["rel_kernel"], color=color, ls=":", lw=0.8)
    axes[0].set(xscale="log", xlabel="n", ylabel="median critical m_1 / n")
    axes[1].set(xscale="log", xlabel="n", ylabel="median critical m_l / (8n)")
    axes[2].set(xscale="log", xlabel="n", ylabel="m_l,50 / m_1,50")
    axes[2].plot([], [], color="grey", ls="--", lw=0.8, label="local line, Gordon widths")
    axes[2].plot([], [], color="grey", ls=":", lw=0.8, label="local line, kernel widths")
    ns_all = sorted({r["n"] for r in rows})
    axes[1].set_ylim(0.5, 0.85)
    axes[2].set_ylim(0.65, 1.06)
    for ax, loc in zip(axes, ("lower right", "lower right", "lower left")):
        ax.set_xticks(ns_all, [str(n) for n in ns_all])
        ax.minorticks_off()
        ax.legend(fontsize=6, loc=loc, ncol=1 if ax is axes[0] else 2)
    fig.suptitle(
        "Local critical width of the last layer, library heuristic (lower estimates, "
        "median over nets, bootstrap 95 %)",
        fontsize=9,
    )
    fig.tight_layout()
    for ext in ("png", "pdf"):
        fig.savefig(out / f"heuristic_by_n.{ext}", dpi=130)
    plt.close(fig)


def calibrate(out: Path) -> str:
    """Heuristic against exact critical widths on the nets of ``records.jsonl``.

    Every local record whose exact bisection closed (``hi_pass - lo_fail == 1``) is
    searched again here (same net, same seed); the gap ``exact - heuristic`` per depth says
    how far below the truth the search sits and whether that bias changes with depth.
    """
    exact = [r for r in latest(_load(out / "records.jsonl")) if r["mode"] == "local"]
    lines = [
        "| n | depth l | nets | median heuristic / exact | mean exact - heuristic (rows) "
        "| equal | heuristic above exact (must be 0) |",
        "|---|---|---|---|---|---|---|",
    ]
    for n, d in sorted({(r["n"], r["depth"]) for r in exact}):
        pairs = []
        for r in exact:
            b = r["bisection"]
            if (r["n"], r["depth"]) != (n, d) or b["hi_pass"] is None:
                continue
            if b["hi_pass"] - b["lo_fail"] != 1:
                continue
            ws = weights(Config(n, d, "local", 1, 0.0), r["seed"])
            pairs.append((critical_width(ws, n, r["seed"])["critical"], b["hi_pass"]))
        if not pairs:
            continue
        gaps = [e - h for h, e in pairs]
        lines.append(
            f"| {n} | {d} | {len(pairs)} | {statistics.median(h / e for h, e in pairs):.3f} | "
            f"{statistics.mean(gaps):.2f} | {sum(g == 0 for g in gaps)} | "
            f"{sum(g < 0 for g in gaps)} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="results/deep_theory")
    ap.add_argument("--quick", action="store_true", help="seconds-long smoke test")
    ap.add_argument("--max-n", type=int, default=None, help="only plan rows with n <= this")
    ap.add_argument("--analyse", action="store_true", help="tables and figure from records")
    ap.add_argument(
        "--calibrate", action="store_true", help="against the exact widths of records.jsonl"
    )
    args = ap.parse_args()
    if args.calibrate:
        text = calibrate(Path(args.out))
        (Path(args.out) / "heuristic_calibration.md").write_text(text, encoding="utf-8")
        print(text)
        return
    out = Path(args.out)
    plan = QUICK_PLAN if args.quick else PLAN
    plan = [p for p in plan if args.max_n is None or p[0] <= args.max_n]
    overrides = {"steps": 300, "starts": 4, "polish_tries": 20} if args.quick else {}
    if not args.analyse:
        run(out, plan, overrides)
    text = summarise(out)
    (out / "heuristic_summary.md").write_text(text, encoding="utf-8")
    if not args.quick:
        plot(out)
    print(text)


if __name__ == "__main__":
    main()
