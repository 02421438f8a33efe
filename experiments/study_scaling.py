"""Study, part 2: finite-size scaling of the 50% crossing alpha_50(n), and a check against
published exact counts.

* alpha_50(n) with 95% profile-likelihood intervals from the study store
  (``injcheck.sweep.analysis.crossings_by_n``), for our trials and, through the same
  analysis, for the published counts (gamma1398/Testing-injectivity-of-ReLU-layers,
  1000 layers per (n, m), n = 2..6; ``experiments/data/published_counts_gamma1398.json``).
* Fits of alpha_50(n) with several finite-size forms (``study_fits.FORMS``: 1/n, n^-2/3, n^-1/2,
  1/n + 1/n^2; each on all sizes and without the smallest); the union of their 95%
  intervals is the extrapolation interval, and the verdict (6.70 full RSB / lifted RDT,
  7.65 plain RDT, or cannot tell) is computed from it.
* Agreement of our injective fractions with the published ones at every shared (n, m):
  two-proportion z-tests and their chi-square.

Commands::

    python experiments/study_scaling.py                 # from results/study/one_layer.sqlite
    python experiments/study_scaling.py --quick --out /tmp/q   # CI smoke test

Outputs (``--out``, default ``results/study``): ``scaling_crossings.csv``,
``scaling_fits.csv``, ``scaling_published_check.csv``, ``scaling_report.md``,
``scaling_alpha50.{png,pdf}``, ``scaling_published_check.{png,pdf}``.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from dataclasses import asdict
from pathlib import Path

import numpy as np
import study_common as sc  # experiments/study_common.py
import study_fits as sf

from injcheck.sweep.analysis import Z95, crossings_by_n, summarize_points, wilson_interval

PUBLISHED = Path(__file__).resolve().parent / "data" / "published_counts_gamma1398.json"
SOURCES = {"ours": "injcheck (exact)", "published": "gamma1398 (exact, 1000/point)"}


def published_summary(path: Path = PUBLISHED) -> tuple[list[dict], dict]:
    """Summary records (as ``summarize_points`` makes them) from the published counts."""
    if not path.is_file():
        return [], {}
    data = json.loads(path.read_text())
    out = []
    for n, m, k, t in data["rows"]:
        lo, hi = wilson_interval(k, t)
        out.append(
            {"n": n, "m": m, "alpha": m / n, "trials": t, "injective": k,
             "non_injective": t - k, "unknown": 0, "frac_injective": k / t,
             "ci_low": lo, "ci_high": hi}
        )  # fmt: skip
    return out, data["source"]


def crossings_table(summary: list[dict], source: str) -> list[dict]:
    """alpha_50 per n with its standard error (interval width / 3.92)."""
    out = []
    window = sc.informative_window(summary)
    for c in crossings_by_n(window):
        width = c["ci_high"] - c["ci_low"]
        se = width / (2 * Z95) if math.isfinite(width) else math.nan
        rows = [r for r in window if r["n"] == c["n"]]
        interp = sf.interpolated_crossing(
            [r["alpha"] for r in rows],
            [r["injective"] for r in rows],
            [r["injective"] + r["non_injective"] for r in rows],
        )
        out.append({"source": source, **c, "se": se, "alpha50_interp": interp})
    return out


def _usable(crossings: list[dict]) -> tuple[list, list, list]:
    ok = [c for c in crossings if math.isfinite(c["alpha50"]) and math.isfinite(c["se"])]
    return [c["n"] for c in ok], [c["alpha50"] for c in ok], [c["se"] for c in ok]


def fits_for(crossings: list[dict]) -> list[sf.FormFit]:
    return sf.fit_all(*_usable(crossings))


def holdouts_for(crossings: list[dict]) -> list[sf.Holdout]:
    """Each form fitted without the largest size, predicting it (none with < 4 sizes)."""
    ns, y, err = _usable(crossings)
    return sf.holdout(ns, y, err) if len(set(ns)) >= 4 else []


def count_checks(ours: list[dict], pub: list[dict]) -> list[sf.CountCheck]:
    mine = {
        (r["n"], int(round(r["alpha"] * r["n"]))): (
            r["injective"],
            r["injective"] + r["non_injective"],
        )
        for r in ours
    }
    theirs = {(r["n"], r["m"]): (r["injective"], r["trials"]) for r in pub}
    return sf.compare_counts(mine, theirs)


# -- figures ------------------------------------------------------------------------------
_MARK = {"ours": ("o", "k"), "published": ("s", "#e08214")}
_FORM_LS = {"1/n": "-", "n^-2/3": "--", "n^-1/2": "-.", "1/n + 1/n^2": ":"}


def alpha50_figure(crossings: dict, fits: dict, spreads: dict, theory: sc.Theory, title: str):
    """(a) alpha_50 vs 1/n per source with the fitted forms extended to n = inf;
    (b) the extrapolated alpha_inf of every usable fit, the spread per source, capacities."""
    plt = sc.setup_matplotlib()
    fig, (ax, axb) = plt.subplots(
        1, 2, figsize=(11.0, 4.9), gridspec_kw={"width_ratios": [3, 2.2]}, layout="constrained"
    )
    dx = {"ours": -0.004, "published": 0.004}
    xs = np.linspace(0, 0.55, 200)
    for src, rows in crossings.items():
        rows = [c for c in rows if math.isfinite(c["alpha50"])]
        if not rows:
            continue
        x = np.array([1 / c["n"] for c in rows]) + dx[src]
        y = np.array([c["alpha50"] for c in rows])
        lo = np.array([c["ci_low"] for c in rows])
        hi = np.array([c["ci_high"] for c in rows])
        lo, hi = np.where(np.isfinite(lo), lo, y), np.where(np.isfinite(hi), hi, y)
        marker, color = _MARK[src]
        sizes = ",".join(str(c["n"]) for c in rows)
        ax.errorbar(x, y, yerr=[y - lo, hi - y], fmt=marker, color=color, ms=4.5, capsize=2,
                    label=f"{SOURCES[src]}: n = {sizes}")  # fmt: skip
        for f in fits.get(src, []):
            if not f.usable or len(f.sizes) != len(rows):
                continue  # the all-sizes fits; panel (b) shows every fit
            with np.errstate(divide="ignore"):
                ys = f.predict(np.where(xs > 0, 1 / np.maximum(xs, 1e-12), np.inf))
            ax.plot(xs, ys, color=color, ls=_FORM_LS[f.form], lw=0.9, alpha=0.8)
    for form, ls in _FORM_LS.items():
        ax.plot([], [], color="0.3", ls=ls, lw=0.9, label=f"fit {form}")
    sc.capacity_lines(ax, theory, vertical=False)
    ax.set_xlim(-0.01, 0.56)
    ax.set_xlabel("1/n")
    ax.set_ylabel(r"$\alpha_{50}(n)$  (95% profile-likelihood interval)")
    ax.set_title("(a) " + title, fontsize=10, loc="left")
    ax.grid(alpha=0.25)
    ax.legend(loc="upper right", fontsize=7.5, frameon=True, framealpha=0.9)
    _extrapolation_panel(axb, fits, spreads, theory)
    return fig


def _extrapolation_panel(ax, fits: dict, spreads: dict, theory: sc.Theory) -> None:
    labels, k = [], 0
    for src, fl in fits.items():
        use = [f for f in fl if f.usable]
        if not use:
            continue
        _, color = _MARK[src]
        sp = spreads[src]
        ax.axvspan(sp.low, sp.high, ymin=0, ymax=1, color=color, alpha=0.08)
        for f in use:
            ax.errorbar([f.value], [k], xerr=[[f.value - f.ci_low], [f.ci_high - f.value]],
                        fmt=_MARK[src][0], color=color, ms=4, capsize=2)  # fmt: skip
            who = "ours" if src == "ours" else "publ."
            labels.append(f"{who}: {f.form}, n={min(f.sizes)}..{max(f.sizes)}")
            k += 1
    sc.capacity_lines(ax, theory, vertical=True, labels=False)
    ax.set_yticks(range(k), labels, fontsize=7.5)
    ax.invert_yaxis()
    ax.set_xlabel(r"extrapolated $\alpha_{\infty}$ (95% interval); band: spread per source")
    ax.set_title("(b) every usable fit", fontsize=10, loc="left")
    ax.grid(alpha=0.25, axis="x")
    if not k:
        ax.text(0.5, 0.5, "no usable fit yet", transform=ax.transAxes, ha="center")


def published_check_figure(ours: list[dict], pub: list[dict], checks, title: str):
    """P(injective) vs alpha, ours (points) on the published (steps), and the z-scores."""
    plt = sc.setup_matplotlib()
    fig, (ax, az) = plt.subplots(
        2, 1, figsize=(8.0, 6.4), sharex=True, gridspec_kw={"height_ratios": [3, 1.3]}
    )
    ns = sorted({r["n"] for r in pub} | {r["n"] for r in ours})
    colors = sc.n_colors(ns)
    offsets = sc.dodge(ns, 0.1)
    for n in ns:
        p = sorted((r for r in pub if r["n"] == n), key=lambda r: r["alpha"])
        if p:
            ax.step([r["alpha"] for r in p], [r["frac_injective"] for r in p], where="mid",
                    color=colors[n], lw=1.0, alpha=0.75)  # fmt: skip
        o = [r for r in ours if r["n"] == n and r["injective"] + r["non_injective"] > 0]
        if o:
            a = np.array([r["alpha"] for r in o]) + offsets[n]
            f = np.array([r["frac_injective"] for r in o])
            lo, hi = np.array([r["ci_low"] for r in o]), np.array([r["ci_high"] for r in o])
            ax.errorbar(a, f, yerr=[f - lo, hi - f], fmt="o", ms=3, color=colors[n],
                        capsize=1.5, lw=0.8)  # fmt: skip
        ax.plot([], [], color=colors[n], lw=2.5, label=f"n = {n}")
    ax.plot([], [], color="0.4", lw=1.0, label="steps: published")
    ax.errorbar([], [], yerr=[], fmt="o", ms=3, color="0.4", label="points: injcheck (95% Wilson)")
    ax.set_ylabel("P(injective)")
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.25)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    for n in ns:
        c = [k for k in checks if k.n == n and math.isfinite(k.z)]
        az.plot([k.m / k.n + offsets[n] for k in c], [k.z for k in c], "o", ms=3, color=colors[n])
    az.axhspan(-Z95, Z95, color="0.9", zorder=0, label="|z| < 1.96")
    az.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    az.axhline(0, color="0.5", lw=0.7)
    az.set_ylabel("z (ours - published)")
    az.set_xlabel(r"$\alpha = m/n$")
    az.grid(alpha=0.25)
    ax.set_xlim(1.8, 9.3)
    return fig


# -- main ---------------------------------------------------------------------------------
def run(store: Path, out: Path, settings: dict, label: str | None, ns=None) -> dict:
    """Crossings, fits, checks, figures and report; ``ns``: the input sizes to use (all)."""
    rows, _ = sc.load_study_rows(store, settings)
    if ns is not None:  # e.g. leave out a size whose run is still partial
        rows = [r for r in rows if r["n"] in set(ns)]
    ours = summarize_points(rows) if rows else []
    pub, citation = published_summary()
    crossings = {
        "ours": crossings_table(ours, "ours"),
        "published": crossings_table(pub, "published"),
    }
    fits = {src: fits_for(c) for src, c in crossings.items()}
    label = label or f"n = {sc.sizes_text(r['n'] for r in rows)}"
    holds = {src: holdouts_for(c) for src, c in crossings.items()}
    theory = sc.load_theory(curves=False)
    lifted, plain = theory.capacities["frsb"], theory.capacities["rs"]
    verdicts = {src: sf.verdict(sf.spread(f), lifted, plain) for src, f in fits.items()}
    checks = count_checks(ours, pub)
    agree = sf.agreement(checks)
    out.mkdir(parents=True, exist_ok=True)
    _write_tables(out, crossings, fits, checks)
    hcols = ["source", "form", "fitted_sizes", "n", "predicted", "predicted_se", "measured",
             "measured_se", "z"]  # fmt: skip
    hrows = [
        {**asdict(h), "source": src, "fitted_sizes": ",".join(map(str, h.fitted_sizes))}
        for src, hs in holds.items()
        for h in hs
    ]
    sc.write_csv(out / "scaling_holdout.csv", hrows, hcols)
    title = f"Finite-size scaling of the 50% crossing ({label})"
    spreads = {src: sf.spread(f) for src, f in fits.items()}
    sc.save_figure(alpha50_figure(crossings, fits, spreads, theory, title), out / "scaling_alpha50")
    t2 = f"Our exact fractions against the published counts ({label})"
    sc.save_figure(published_check_figure(ours, pub, checks, t2), out / "scaling_published_check")
    md = _markdown(label, store, rows, crossings, fits, verdicts, agree, checks, citation, theory)
    md += _holdout_markdown(holds)
    (out / "scaling_report.md").write_text(md)
    print(md)
    return {"verdicts": verdicts, "agreement": agree, "fits": fits, "crossings": crossings}


def _write_tables(out: Path, crossings, fits, checks) -> None:
    cols = ["source", "n", "alpha50", "ci_low", "ci_high", "se", "alpha50_interp", "slope", "points", "decided",
            "unknown", "alpha50_unknown_non", "alpha50_unknown_inj", "note"]  # fmt: skip
    sc.write_csv(out / "scaling_crossings.csv", [c for v in crossings.values() for c in v], cols)
    frows = []
    for src, fl in fits.items():
        for f in fl:
            d = asdict(f)
            d.update(
                source=src,
                sizes=",".join(map(str, f.sizes)),
                coef=" ".join(f"{c:.5g}" for c in f.coef),
            )
            frows.append(d)
    fcols = [
        "source",
        "form",
        "sizes",
        "value",
        "se",
        "ci_low",
        "ci_high",
        "coef",
        "chi2_dof",
        "usable",
        "note",
    ]
    sc.write_csv(out / "scaling_fits.csv", frows, fcols)
    ccols = ["n", "m", "ours_k", "ours_total", "pub_k", "pub_total", "z", "p_value"]
    sc.write_csv(out / "scaling_published_check.csv", [asdict(c) for c in checks], ccols)


def _markdown(
    label, store, rows, crossings, fits, verdicts, agree, checks, citation, theory
) -> str:
    L = [f"# Finite-size scaling of alpha_50(n) ({label})", ""]
    L.append(
        f"* made {sc.now()}; our data: {len(rows)} trials from `{store.name}`; theory: {theory.source}"
    )
    if citation:
        L.append(
            f"* published counts: {citation['repository']}, `{citation['file']}`, commit {citation['commit']} ({citation['where']})"
        )
    else:
        L.append("* published counts: data file missing; comparison left empty")
    L += [
        "",
        "## alpha_50(n)",
        "",
        "| source | n | alpha_50 (logistic) | 95% CI | alpha_50 (isotonic, no model) | decided | unknown | note |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for src, cs in crossings.items():
        for c in cs:
            L.append(
                f"| {src} | {c['n']} | {c['alpha50']:.3f} | [{c['ci_low']:.3f}, {c['ci_high']:.3f}] | {c['alpha50_interp']:.3f} | {c['decided']} | {c['unknown']} | {c['note']} |"
            )
    L += [
        "",
        "## Extrapolation n -> inf",
        "",
        "| source | form | sizes | alpha_inf | 95% CI | chi2/dof | used | note |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for src, fl in fits.items():
        for f in fl:
            L.append(
                f"| {src} | {f.form} | {','.join(map(str, f.sizes))} | {f.value:.3f} | [{f.ci_low:.3f}, {f.ci_high:.3f}] | {f.chi2_dof:.2f} | {'yes' if f.usable else 'no'} | {f.note} |"
            )
    L += ["", "**Verdict (computed from the spread of the usable fits):**", ""]
    for src, v in verdicts.items():
        L.append(f"* {SOURCES[src]}: {v.text}")
    L += ["", "## Our fractions against the published counts", ""]
    if agree["points"]:
        L.append(
            f"{agree['points']} informative (n, m) points in common: {agree['flagged']} with "
            f"Fisher p < 0.05 (expected by chance: {agree['expected_flagged']:.1f}); sum of z^2 = "
            f"{agree['chi2']:.1f} over the {agree['chi2_points']} points with every expected count "
            f">= 5 (chi-square, {agree['chi2_points']} dof), p = {agree['p_value']:.3f}."
        )
        worst = sorted((c for c in checks if math.isfinite(c.z)), key=lambda c: -abs(c.z))[:5]
        L += [
            "",
            "Largest deviations:",
            "",
            "| n | m | ours | published | z | Fisher p |",
            "|---|---|---|---|---|---|",
        ]
        for c in worst:
            L.append(
                f"| {c.n} | {c.m} | {c.ours_k}/{c.ours_total} | {c.pub_k}/{c.pub_total} | {c.z:+.2f} | {c.p_value:.3f} |"
            )
    else:
        L.append(
            "No (n, m) point in common yet (or no published data file): the comparison is empty."
        )
    return "\n".join(L) + "\n"


def _holdout_markdown(holds: dict[str, list[sf.Holdout]]) -> str:
    L = [
        "",
        "## Each form against the size it did not see",
        "",
        "Every form fitted without the largest size, its prediction there and the measured "
        "crossing (z: the miss over the combined standard error; |z| > 2 disfavours the form).",
        "",
        "| source | form | fitted on | n | predicted | measured | z |",
        "|---|---|---|---|---|---|---|",
    ]
    for src, hs in holds.items():
        for h in hs:
            sizes = f"{h.fitted_sizes[0]}..{h.fitted_sizes[-1]}"
            L.append(
                f"| {src} | {h.form} | {sizes} | {h.n} | {h.predicted:.3f} +- "
                f"{h.predicted_se:.3f} | {h.measured:.3f} +- {h.measured_se:.3f} | {h.z:+.2f} |"
            )
    return "\n".join(L) + "\n"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--store", default=None, help=f"study store (default {sc.STORE})")
    p.add_argument("--out", default=None, help=f"output folder (default {sc.RESULTS})")
    p.add_argument("--label", default=None, help="label in titles, e.g. 'partial run'")
    p.add_argument("--quick", action="store_true", help="CI smoke test on the quick store in --out")
    p.add_argument("--n", default=None, help="input sizes to use, e.g. 2:13 (default: all)")
    args = p.parse_args(argv)
    from injcheck.sweep.spec import parse_int_list

    try:
        ns = parse_int_list(args.n, "n") if args.n else None
    except Exception as exc:  # noqa: BLE001 - one clear line, exit 2
        p.error(f"bad argument: {exc}")
    settings = dict(sc.STUDY_SETTINGS)
    out = Path(args.out) if args.out else sc.RESULTS
    store = Path(args.store) if args.store else sc.STORE
    label = args.label  # None: the sizes the data hold
    if args.quick:
        out = Path(args.out) if args.out else Path("/tmp/injcheck_study_quick")
        store = Path(args.store) if args.store else out / "quick.sqlite"
        settings, label = dict(sc.QUICK_SETTINGS), "QUICK smoke test, not a result"
    if not store.is_file():
        print(f"note: no store at {store}; only the published counts are analysed", file=sys.stderr)
    run(store, out, settings, label, ns)
    return 0


if __name__ == "__main__":
    sys.exit(main())
