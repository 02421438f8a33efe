"""Study, part 3: P*/n against alpha -- exact at small n, heuristic upper bounds at large n,
and the replica / RDT predictions e*(alpha).

* Exact: mean P*/n per (n, alpha) over the trials of sweep stores with ``exact_value``
  (default: the study store), through ``injcheck.sweep.analysis.summarize_points``; and the
  exact small-n points of the large-n experiment (``results/large_n/exact_small_n.csv``)
  when present.
* Heuristic: the best count / n of ``experiments/large_n.py`` (issue 13;
  ``results/large_n/summary.csv``), an upper bound on P*/n per layer, and its algorithmic
  threshold per n (``thresholds.csv``: the alpha where the share of layers with a verified
  witness crosses 1/2). Read, never recomputed; when absent the script says so.
* Theory: RS, 1RSB and full-RSB e*(alpha) from the shipped table
  (``injcheck.theory.tables``) or, without it, from ``injcheck.theory`` and its cache.

Commands::

    python experiments/study_pstar.py
    python experiments/study_pstar.py --quick --out /tmp/q     # CI smoke test

Outputs (``--out``, default ``results/study``): ``pstar_exact.csv``, ``pstar_heuristic.csv``,
``pstar_report.md``, ``pstar_vs_alpha.{png,pdf}``.
"""

from __future__ import annotations

import argparse
import csv
import math
import sys
from pathlib import Path

import numpy as np
import study_common as sc  # experiments/study_common.py

from injcheck.sweep.analysis import summarize_points

LARGE_N = sc.ROOT / "results" / "large_n"


def exact_points(stores: list[Path], settings: dict | None) -> list[dict]:
    """Mean P*/n per (n, alpha) over every store's trials that carry an exact P*."""
    rows = []
    for store in stores:
        rows.extend(r for r in sc.load_rows(store, settings) if r.get("p_star") is not None)
    out = []
    for s in summarize_points(rows):
        if s["pstar_count"]:
            se = s["pstar_over_n_se"]
            if not math.isfinite(se):  # one trial, or all equal: a floor of 1/(n sqrt(k))
                se = 1.0 / (s["n"] * math.sqrt(s["pstar_count"]))
            out.append(
                {"source": "sweep store", "n": s["n"], "alpha": s["alpha"],
                 "count": s["pstar_count"], "mean": s["pstar_over_n_mean"], "se": se}
            )  # fmt: skip
    return out


def _read_csv(path: Path) -> list[dict]:
    if not path.is_file():
        return []
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def _num(x) -> float:
    try:
        return float(x)
    except (TypeError, ValueError):
        return math.nan


def large_n_points(folder: Path) -> tuple[list[dict], list[dict], list[dict], list[str]]:
    """(heuristic points, exact small-n points, thresholds, notes) from ``large_n.py``'s CSVs."""
    notes = []
    heur = []
    shown = folder.relative_to(sc.ROOT) if folder.is_relative_to(sc.ROOT) else folder
    for r in _read_csv(folder / "summary.csv"):
        nets = _num(r.get("nets"))
        heur.append(
            {"source": "large_n.py heuristic", "init": r.get("init") or "random",
             "n": int(_num(r["n"])), "alpha": _num(r["alpha"]),
             "count": int(nets), "mean": _num(r["mean_count_over_n"]),
             "se": _num(r.get("sd")) / math.sqrt(nets) if nets > 0 else math.nan,
             "witness_fraction": _num(r.get("witness_fraction"))}
        )  # fmt: skip
    exact = []
    for r in _read_csv(folder / "exact_small_n.csv"):
        known = _num(r.get("nets")) - _num(r.get("timed_out"))
        if math.isfinite(_num(r.get("mean_p_star_over_n"))) and known > 0:
            exact.append(
                {"source": "large_n.py exact", "n": int(_num(r["n"])), "alpha": _num(r["alpha"]),
                 "count": int(known), "mean": _num(r["mean_p_star_over_n"]),
                 "se": _num(r.get("sd")) / math.sqrt(known)}
            )  # fmt: skip
    thresh = [
        {"init": r.get("init") or "random", "n": int(_num(r["n"])),
         "alpha_alg": _num(r.get("alpha_alg")),
         "lo": _num(r.get("bracket_lo")), "hi": _num(r.get("bracket_hi")),
         "largest": _num(r.get("largest_alpha_with_witness"))}
        for r in _read_csv(folder / "thresholds.csv")
    ]  # fmt: skip
    if not heur:
        notes.append(
            f"no heuristic large-n results ({shown / 'summary.csv'} absent): only the exact "
            "part is drawn; run experiments/large_n.py (issue 13)"
        )
    if heur and not thresh:
        notes.append(f"no algorithmic thresholds ({shown / 'thresholds.csv'} absent)")
    return heur, exact, thresh, notes


#: Markers of the heuristic start families (``large_n.py`` records ``init``): the AMP
#: starts, the better family, filled; the random starts open and faint.
HEURISTIC_STYLE = {
    "amp": {"fmt": "^"},
    "random": {"fmt": "v", "mfc": "none", "alpha": 0.5},
}


def _heuristic_series(heur: list[dict]):
    """``((init, n), points sorted by alpha)`` per heuristic series."""
    for key in sorted({(p["init"], p["n"]) for p in heur}, key=lambda k: (k[0] != "random", k[1])):
        yield key, sorted((p for p in heur if (p["init"], p["n"]) == key), key=lambda p: p["alpha"])


def best_thresholds(thresh: list[dict]) -> list[dict]:
    """Per n, the threshold of the start family that finds witnesses furthest (a witness
    is a proof whichever search found it, so the best family's threshold is the measured
    algorithmic threshold); families without a crossing are skipped."""
    best: dict[int, dict] = {}
    for t in (t for t in thresh if math.isfinite(t["alpha_alg"])):
        if t["n"] not in best or t["alpha_alg"] > best[t["n"]]["alpha_alg"]:
            best[t["n"]] = t
    return [best[n] for n in sorted(best)]


def figure(exact: list[dict], heur: list[dict], thresh: list[dict], theory: sc.Theory, title: str):
    plt = sc.setup_matplotlib()
    fig, ax = plt.subplots(figsize=(8.4, 5.0))
    for m, (x, y) in theory.curves.items():
        ax.plot(x, y, label=f"e*($\\alpha$), {sc.THEORY_NAMES[m]}", **sc.THEORY_STYLE[m])
    ns_exact = sorted({p["n"] for p in exact})
    colors = sc.n_colors(ns_exact)
    offsets = sc.dodge(ns_exact, 0.12)
    for n in ns_exact:
        pts = sorted((p for p in exact if p["n"] == n), key=lambda p: p["alpha"])
        ax.errorbar([p["alpha"] + offsets[n] for p in pts], [p["mean"] for p in pts],
                    yerr=[p["se"] for p in pts], fmt="o", ms=3, lw=0.8, capsize=1.5,
                    color=colors[n], label=f"exact mean P*/n, n = {n}")  # fmt: skip
    ns_heur = sorted({p["n"] for p in heur})
    hcol = dict(zip(ns_heur, plt.get_cmap("autumn")(np.linspace(0.0, 0.75, max(len(ns_heur), 1)))))
    hoff = sc.dodge(ns_heur, 0.08)
    for (init, n), pts in _heuristic_series(heur):
        style = HEURISTIC_STYLE.get(init, HEURISTIC_STYLE["random"])
        ax.errorbar([p["alpha"] + hoff[n] for p in pts], [p["mean"] for p in pts],
                    yerr=[p["se"] for p in pts], ms=5, lw=0.8, capsize=1.5, color=hcol[n],
                    label=f"heuristic, {init} starts: best count/n (upper bound), n = {n}",
                    **style)  # fmt: skip
    shown = best_thresholds(thresh)
    for t in shown:
        ax.axvline(t["alpha_alg"], color=hcol.get(t["n"], "0.3"), lw=1.0, ls=(0, (1, 2)))
    if shown:  # one label for all: the thresholds of different n lie close together
        text = "algorithmic threshold (dotted; best start family):\n" + "\n".join(
            f"n = {t['n']}: {t['alpha_alg']:.2f} ({t['init']} starts)" for t in shown
        )
        ax.text(0.98, 0.03, text, transform=ax.transAxes, ha="right", va="bottom", fontsize=8,
                bbox={"facecolor": "white", "edgecolor": "0.8", "alpha": 0.9})  # fmt: skip
    if not heur:
        ax.text(0.98, 0.03, "heuristic large n and algorithmic threshold:\nnot available yet (issue 13)",
                transform=ax.transAxes, ha="right", va="bottom", fontsize=8, color="0.3")  # fmt: skip
    ax.axhline(1.0, color="0.6", lw=0.8)
    ax.text(1.6, 1.02, "P*/n = 1: injectivity", fontsize=8, color="0.4", va="bottom")
    ax.set_xlim(1.5, 9.3)
    tops = [p["mean"] + p["se"] for p in exact + heur if math.isfinite(p["mean"] + p["se"])]
    ax.set_ylim(0, max([1.9] + tops) + 0.05)
    ax.set_xlabel(r"$\alpha = m/n$")
    ax.set_ylabel(r"$P^*/n$  (mean $\pm$ s.e.)")
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.25)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    return fig


def run(stores, out: Path, settings, large_n: Path, label: str, solve: bool = True) -> None:
    exact = exact_points(stores, settings)
    heur, exact_ln, thresh, notes = large_n_points(large_n)
    theory = sc.load_theory(1.0, 10.0, curves=True, solve=solve)
    out.mkdir(parents=True, exist_ok=True)
    cols = ["source", "n", "alpha", "count", "mean", "se"]
    sc.write_csv(out / "pstar_exact.csv", exact + exact_ln, cols)
    sc.write_csv(out / "pstar_heuristic.csv", heur, cols + ["init", "witness_fraction"])
    # The title names the sizes the data hold (the label is the caller's and may be stale).
    title = (
        f"P*/n: exact (n = {_sizes(exact + exact_ln)}), heuristic upper bounds "
        f"(n = {_sizes(heur)}), theory"
    )
    sc.save_figure(figure(exact + exact_ln, heur, thresh, theory, title), out / "pstar_vs_alpha")
    md = _markdown(label, stores, exact, exact_ln, heur, thresh, notes, theory)
    (out / "pstar_report.md").write_text(md)
    print(md)


def _sizes(points: list[dict]) -> str:
    return sc.sizes_text(int(p["n"]) for p in points)


def _markdown(label, stores, exact, exact_ln, heur, thresh, notes, theory) -> str:
    drawn = ", ".join(sc.THEORY_NAMES[m] for m in theory.curves) or "none"
    L = [f"# P*/n against alpha ({label})", "", f"* made {sc.now()}; theory: {theory.source}"]
    L.append(
        f"* sizes: exact P* at n = {_sizes(exact + exact_ln)}, heuristic at n = {_sizes(heur)}"
    )
    L.append(f"* e*(alpha) curves drawn: {drawn}")
    L.append(f"* exact P*: {sum(p['count'] for p in exact)} trials at {len(exact)} points from "
             + ", ".join(f"`{s.name}`" for s in stores)
             + (f"; {len(exact_ln)} points from results/large_n/exact_small_n.csv" if exact_ln else ""))  # fmt: skip
    L.append(
        f"* heuristic: {len(heur)} points from results/large_n/summary.csv"
        if heur
        else "* heuristic: none"
    )
    L += [f"* note: {x}" for x in notes]
    if thresh:
        L += [
            "",
            "| n | start family | algorithmic threshold | bracket | largest alpha with a witness |",
            "|---|---|---|---|---|",
        ]
        for t in sorted(thresh, key=lambda t: (t["n"], t["init"])):
            L.append(
                f"| {t['n']} | {t['init']} | {t['alpha_alg']:.3f} | [{t['lo']}, {t['hi']}] | "
                f"{t['largest']} |"
            )
    L += ["", "Exact mean P*/n next to e*(alpha) (interpolated on the theory curves):", "",
          "| n | alpha | trials | mean P*/n | s.e. | e* RS | e* 1RSB | e* full RSB |", "|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for p in sorted(exact + exact_ln, key=lambda p: (p["n"], p["alpha"])):
        es = []
        for m in ("rs", "1rsb", "frsb"):
            x, y = theory.curves.get(m, (np.array([]), np.array([])))
            ok = np.isfinite(y)
            inside = ok.any() and x[ok].min() <= p["alpha"] <= x[ok].max()
            es.append(f"{np.interp(p['alpha'], x[ok], y[ok]):.3f}" if inside else "")
        L.append(
            f"| {p['n']} | {p['alpha']:.3f} | {p['count']} | {p['mean']:.3f} | {p['se']:.3f} | "
            + " | ".join(es)
            + " |"
        )
    return "\n".join(L) + "\n"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument(
        "--store", action="append", default=None, help="sweep store(s) with exact P* (repeatable)"
    )
    p.add_argument("--large-n", default=None, help=f"large_n.py output folder (default {LARGE_N})")
    p.add_argument("--out", default=None, help=f"output folder (default {sc.RESULTS})")
    p.add_argument("--label", default="see the report for completeness")
    p.add_argument("--quick", action="store_true", help="CI smoke test on the quick store in --out")
    args = p.parse_args(argv)
    out = Path(args.out) if args.out else sc.RESULTS
    settings, label = None, args.label
    stores = [Path(s) for s in args.store] if args.store else [sc.STORE]
    large_n = Path(args.large_n) if args.large_n else LARGE_N
    if args.quick:
        out = Path(args.out) if args.out else Path("/tmp/injcheck_study_quick")
        stores = [Path(s) for s in args.store] if args.store else [out / "quick.sqlite"]
        large_n = Path(args.large_n) if args.large_n else out / "large_n"
        label = "QUICK smoke test, not a result"
    missing = [s for s in stores if not s.is_file()]
    for s in missing:
        print(f"note: no store at {s}", file=sys.stderr)
    # The quick mode solves no 1RSB equation when the shipped table is missing (CI time).
    run([s for s in stores if s.is_file()], out, settings, large_n, label, solve=not args.quick)
    return 0


if __name__ == "__main__":
    sys.exit(main())
