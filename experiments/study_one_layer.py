"""Study, part 1: P(injective) against alpha = m/n for one Gaussian ReLU layer, exact checks.

For each input size n the grid holds every (or every few) width m within +-1 of the
expected crossing (``study_common.grid_for``), run to ``--trials`` trials per point, and
tails from alpha = 2 to 9 at ``--outer-trials``. Trials are run in rounds of increasing
size (``--rounds``), so an interrupted run leaves every point with about the same number
of trials. Everything goes through the sweep machinery (``injcheck.sweep``): one resumable
SQLite store (default ``results/study/one_layer.sqlite``), same seeds whatever the
workers or executor, and the analysis of ``injcheck.sweep.analysis``.

Commands::

    # run (resumes; starts no new trial after --until, UTC: trials in flight finish)
    nice -n 5 python experiments/study_one_layer.py --n 2:6 --workers 1 --until 11:50
    # tables and figure from whatever is stored
    python experiments/study_one_layer.py --report-only
    # cost per trial per n on this machine (for the plan)
    python experiments/study_one_layer.py --measure 6 --n 2:12
    # CI smoke test (< 1 min, its own store in --out)
    python experiments/study_one_layer.py --quick --out /tmp/study_quick

Outputs (``--out``, default ``results/study``): ``one_layer_summary.csv``,
``one_layer_crossings.csv``, ``one_layer_transition.{png,pdf}``, ``one_layer_report.md``.
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import study_common as sc  # experiments/study_common.py

from injcheck.sweep import SweepSpec, next_utc_time, run_sweep
from injcheck.sweep.analysis import crossings_by_n, logistic, summarize_points
from injcheck.sweep.report import CROSSING_COLUMNS
from injcheck.sweep.report import SUMMARY_COLUMNS as SUMMARY_COLUMNS_ALL

#: The sweep report's columns, less those constant in a one-layer study (depth, the nominal
#: alpha) and the spread of P*/n (its standard error is what the study uses).
SUMMARY_COLUMNS = [
    c for c in SUMMARY_COLUMNS_ALL if c not in ("depth", "alpha_nominal", "pstar_over_n_sd")
]


# -- running ------------------------------------------------------------------------------
def _spec(n: int, widths, trials: int, settings: dict) -> SweepSpec:
    # Widths given as the expansions m/n (they round back to m), as the committed store was
    # made: an explicit-widths spec would hash differently and not resume it.
    spec = SweepSpec(n=(n,), alpha=tuple(m / n for m in widths), trials=trials, **settings)
    assert [p.widths[0] for p in spec.points()] == list(widths)
    return spec


def _past(deadline: float | None) -> bool:
    return deadline is not None and time.time() >= deadline


def run_study(args, store: Path, settings: dict, ns, grids) -> int:
    """Run the rounds; returns the number of trials run now."""
    ran = 0
    rounds = sorted({min(r, args.trials) for r in args.rounds} | {args.trials})
    for r in rounds:
        for n in ns:
            g = grids[n]
            for widths, cap in ((g.inner, args.trials), (g.outer, args.outer_trials)):
                if not widths or cap <= 0:
                    continue
                if _past(args.deadline):
                    print(f"stopped at {sc.now()}: past --until {args.until}", flush=True)
                    return ran
                res = run_sweep(
                    _spec(n, widths, min(r, cap), sc.settings_for(n, settings)),
                    str(store),
                    workers=args.workers,
                    executor=args.executor,
                    address=args.address,
                    progress=False,
                    stop_at=args.deadline,  # no trial starts after --until
                )
                ran += res.ran
                if res.ran:
                    print(f"[{sc.now()}] round {r}, n={n}: {res.summary()}", flush=True)
    return ran


# -- reporting ----------------------------------------------------------------------------
def analyse(rows):
    """Per-point summary and per-n crossings (``injcheck.sweep.analysis``)."""
    summary = summarize_points(rows)
    crossings = crossings_by_n(sc.informative_window(summary))
    return summary, crossings


def completeness(summary, crossings, target: int) -> dict[int, dict]:
    """Per n: inner points (within +-1 of the fitted or expected crossing) and their trials."""
    centre = {
        c["n"]: c["alpha50"] if math.isfinite(c["alpha50"]) else sc.expected_crossing(c["n"])
        for c in crossings
    }
    out: dict[int, dict] = {}
    for row in summary:
        n = row["n"]
        rec = out.setdefault(
            n, {"points": 0, "trials": 0, "unknown": 0, "inner": 0, "inner_min": None}
        )
        rec["points"] += 1
        rec["trials"] += row["trials"]
        rec["unknown"] += row["unknown"]
        if abs(row["alpha"] - centre.get(n, sc.expected_crossing(n))) <= 1.0:
            rec["inner"] += 1
            prev = rec["inner_min"]
            rec["inner_min"] = row["trials"] if prev is None else min(prev, row["trials"])
    for rec in out.values():
        rec["full"] = rec["inner_min"] is not None and rec["inner_min"] >= target
    return out


def transition_figure(summary, crossings, theory: sc.Theory, title: str):
    """P(injective) vs alpha per n: Wilson 95% bars, logistic fits, unknown counts, capacities."""
    plt = sc.setup_matplotlib()
    by_n: dict[int, list] = {}
    for r in summary:
        by_n.setdefault(r["n"], []).append(r)
    ns = sorted(by_n)
    colors = sc.n_colors(ns)
    offsets = sc.dodge(ns, 0.24)
    fits = {c["n"]: c for c in crossings}
    fig, ax = plt.subplots(figsize=(8.4, 4.9))
    amin = min(r["alpha"] for r in summary)
    amax = max(r["alpha"] for r in summary)
    for n in ns:
        rows = by_n[n]
        a = np.array([r["alpha"] for r in rows]) + offsets[n]
        p = np.array([r["frac_injective"] for r in rows])
        lo = np.array([r["ci_low"] for r in rows])
        hi = np.array([r["ci_high"] for r in rows])
        unk = sum(r["unknown"] for r in rows)
        trials = sum(r["trials"] for r in rows)
        c = fits.get(n, {})
        a50 = c.get("alpha50", math.nan)
        label = f"n={n}: " + (f"$\\alpha_{{50}}$={a50:.2f}" if math.isfinite(a50) else "no fit")
        label += f", {trials} trials, {unk} unknown"
        ax.errorbar(
            a, p, yerr=[p - lo, hi - p], fmt="o", ms=3.2, color=colors[n], lw=0.9,
            capsize=1.5, label=label,
        )  # fmt: skip
        if math.isfinite(a50) and math.isfinite(c.get("slope", math.nan)):
            xs = np.linspace(amin, amax, 300)
            ax.plot(xs, logistic(xs, a50, c["slope"]), color=colors[n], lw=1.0, alpha=0.8)
        for r, x, y in zip(rows, a, p):
            if r["unknown"]:
                ax.annotate(
                    f"u={r['unknown']}", (x, y), xytext=(3, 4), textcoords="offset points",
                    fontsize=7, color=colors[n],
                )  # fmt: skip
    sc.capacity_lines(ax, theory)
    ax.axhline(0.5, color="0.75", lw=0.7, zorder=0)
    ax.set_xlim(min(amin, 2.0) - 0.2, max(amax, theory.capacities.get("rs", 7.65)) + 0.3)
    ax.set_ylim(-0.03, 1.03)
    ax.set_xlabel(r"$\alpha = m/n$")
    ax.set_ylabel("P(injective)  (decided trials, 95% Wilson)")
    ax.set_title(title, fontsize=10)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    ax.grid(alpha=0.25)
    return fig


def report(
    store: Path,
    out: Path,
    settings: dict,
    target: int,
    elapsed: float | None,
    quick: bool = False,
    ns: tuple[int, ...] | None = None,
) -> dict:
    """Write the CSV tables, figure and markdown report; returns the completeness table.

    ``ns`` restricts the report to those input sizes (default: every size in the store).
    """
    rows, conflicts = sc.load_study_rows(store, settings)
    if ns is not None:
        rows = [r for r in rows if r["n"] in ns]
    out.mkdir(parents=True, exist_ok=True)
    if not rows:
        print(f"no study rows in {store}; nothing to report", file=sys.stderr)
        return {}
    summary, crossings = analyse(rows)
    comp = completeness(summary, crossings, target)
    partial = not all(rec["full"] for rec in comp.values())
    sc.write_csv(out / "one_layer_summary.csv", summary, SUMMARY_COLUMNS)
    sc.write_csv(out / "one_layer_crossings.csv", crossings, CROSSING_COLUMNS)
    theory = sc.load_theory(curves=False)
    status = "PARTIAL RUN" if partial else f"full run ({target} trials per inner point)"
    if quick:
        status = "QUICK smoke test (tiny grid, not a result)"
    title = f"One Gaussian ReLU layer, exact checks: {status}"
    sc.save_figure(
        transition_figure(summary, crossings, theory, title), out / "one_layer_transition"
    )
    md = _markdown(rows, summary, crossings, comp, theory, status, target, store, elapsed)
    md += f"\nTrials decided differently by the P* sweep and the decision-only sweep: {conflicts}\n"
    (out / "one_layer_report.md").write_text(md)
    print(md)
    return comp


def _markdown(rows, summary, crossings, comp, theory, status, target, store, elapsed) -> str:
    lines = [
        "# One layer: P(injective) vs alpha (exact)",
        "",
        f"* {status}; made {sc.now()} from `{store.relative_to(sc.ROOT) if store.is_relative_to(sc.ROOT) else store}`",
        f"* {len(rows)} trials: "
        + ", ".join(
            f"{s} {sum(r['status'] == s for r in rows)}"
            for s in ("injective", "non-injective", "unknown")
        ),
        f"* unknown trials by cause: {_unknown_causes(rows)}",
        f"* limits: {sc.STUDY_SETTINGS['time_limit']:.0f} s per trial below "
        f"n = {sc.NODE_LIMIT_FROM_N}; from there {sc.NODE_LIMIT:,} nodes of the exact search, "
        f"with {sc.NODE_LIMITED_TIME_LIMIT:.0f} s as a safety net (a time-out depends on the "
        "machine's load, the node limit does not)",
        f"* theory: {theory.source}",
    ]
    if elapsed is not None:
        lines.append(f"* this invocation ran for {elapsed:.0f} s on {sc.machine_line()}")
    lines += [
        "",
        "| n | alpha_50 | 95% CI | decided | unknown | alpha_50 (unknown = non / inj) | inner points | min trials at inner points | note |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for c in crossings:
        k = comp.get(c["n"], {})
        lines.append(
            f"| {c['n']} | {c['alpha50']:.3f} | [{c['ci_low']:.3f}, {c['ci_high']:.3f}] | "
            f"{c['decided']} | {c['unknown']} | {c['alpha50_unknown_non']:.3f} / "
            f"{c['alpha50_unknown_inj']:.3f} | {k.get('inner')} | {k.get('inner_min')}"
            f"{'' if k.get('full') else f' (< {target}: partial)'} | {c['note']} |"
        )
    lines += [
        "",
        "Median time per trial (s), by n: "
        + ", ".join(
            f"n={n}: {statistics.median([r['trial_time'] for r in rows if r['n'] == n and r['trial_time'] is not None]):.3f}"
            for n in sorted({r["n"] for r in rows})
        ),
        "",
    ]
    return "\n".join(lines) + "\n"


def _unknown_causes(rows) -> str:
    """``"time limit 1 (n=14), node limit 2 (n=15)"``: unknown trials by solver status."""
    names = {"timeout": "time limit", "node-limit": "node limit"}
    causes: dict[str, list[int]] = {}
    for r in rows:
        if r["status"] == "unknown":
            causes.setdefault(names.get(r["solver_status"], r["solver_status"]), []).append(r["n"])
    if not causes:
        return "none"
    return ", ".join(
        f"{cause} {len(ns)} (n={','.join(str(n) for n in sorted(set(ns)))})"
        for cause, ns in sorted(causes.items())
    )


# -- cost measurement (for the plan) ------------------------------------------------------
def measure(ns, reps: int, settings: dict, out: Path) -> list[dict]:
    """Time ``reps`` trials per n at alpha = a0 - 0.5, a0, a0 + 0.5 in this process."""
    from injcheck.sweep.runner import _limit_threads
    from injcheck.sweep.seeds import trial_seed
    from injcheck.sweep.trials import TrialTask, check_trial

    _limit_threads()
    records = []
    for n in ns:
        a0 = sc.expected_crossing(n)
        sized = sc.settings_for(n, settings)
        for da in (-0.5, 0.0, 0.5):
            m = int(math.floor((a0 + da) * n + 0.5))
            key = f"n={n};widths={m}"
            times, stats = [], []
            for t in range(reps):
                task = TrialTask(
                    spec_hash="measure", point_key=key, trial=t,
                    seed=trial_seed(999, key, t), n=n, widths=(m,), mode=sized["mode"],
                    method=sized["method"], time_limit=sized["time_limit"],
                    exact_value=sized["exact_value"], trial_fn="", options={},
                    node_limit=sized["node_limit"],
                )  # fmt: skip
                t0 = time.perf_counter()
                res = check_trial(task)
                times.append(time.perf_counter() - t0)
                stats.append(res["status"])
            rec = {
                "n": n, "m": m, "alpha": m / n, "reps": reps,
                "mean_s": statistics.fmean(times), "median_s": statistics.median(times),
                "max_s": max(times), "injective": stats.count("injective"),
                "unknown": stats.count("unknown"),
            }  # fmt: skip
            records.append(rec)
            print(rec, flush=True)
    out.mkdir(parents=True, exist_ok=True)
    cols = ["n", "m", "alpha", "reps", "mean_s", "median_s", "max_s", "injective", "unknown"]
    sc.write_csv(out / "cost_per_trial.csv", records, cols)
    (out / "cost_per_trial.txt").write_text(f"measured {sc.now()} on {sc.machine_line()}\n")
    return records


# -- the plan of the full run ------------------------------------------------------------
#: Growth of the cost per trial per +2 in n beyond the last measured size (docs: the exact
#: search's tree grows about 17-fold per +2 in n).
GROWTH_PER_2 = 17.0


def mean_costs(rows, measured_csv: Path) -> dict[int, tuple[float, str]]:
    """Mean seconds per trial per n near the crossing: from the store, else from --measure."""
    costs: dict[int, tuple[float, str]] = {}
    if measured_csv.is_file():
        import csv

        with open(measured_csv, newline="") as fh:
            by_n: dict[int, list[float]] = {}
            for r in csv.DictReader(fh):
                by_n.setdefault(int(r["n"]), []).append(float(r["mean_s"]))
        for n, v in by_n.items():
            costs[n] = (statistics.fmean(v), "measured (--measure, 3 alphas)")
    by_n_store: dict[int, list[float]] = {}
    for r in rows:
        if r["trial_time"] is not None and abs(r["alpha"] - sc.expected_crossing(r["n"])) <= 1:
            by_n_store.setdefault(r["n"], []).append(r["trial_time"])
    for n, v in by_n_store.items():
        if len(v) >= 30:
            costs[n] = (statistics.fmean(v), f"store mean over {len(v)} trials")
    return costs


def growth_per_2(costs: dict[int, tuple[float, str]]) -> float:
    """Cost growth per +2 in n, fitted (log-linear) on the four largest measured n >= 6;
    :data:`GROWTH_PER_2` when fewer than three are measured."""
    ns = sorted(n for n in costs if n >= 6)[-4:]
    if len(ns) < 3:
        return GROWTH_PER_2
    slope = np.polyfit(ns, [math.log(costs[n][0]) for n in ns], 1)[0]
    return float(math.exp(2 * slope))


def tail_ratio(rows, min_trials: int = 30) -> tuple[float, str]:
    """Mean cost per trial at the tail points over that at the inner points, from the store
    at the largest n with both (the injective tail, where proofs are needed, costs more)."""
    by_n: dict[int, dict[bool, list[float]]] = {}
    for r in rows:
        if r["trial_time"] is not None:
            inner = abs(r["alpha"] - sc.expected_crossing(r["n"])) <= sc.HALF_WIDTH
            by_n.setdefault(r["n"], {True: [], False: []})[inner].append(r["trial_time"])
    both = [n for n, d in by_n.items() if min(len(d[True]), len(d[False])) >= min_trials]
    if not both:
        return 1.0, "no tail timings: tails costed like inner points"
    n = max(both)
    ratio = statistics.fmean(by_n[n][False]) / statistics.fmean(by_n[n][True])
    return ratio, f"tails cost x{ratio:.2g} the inner points (store, n={n})"


def plan(
    ns, rows, measured_csv: Path, trials: int, outer_trials: int, half_width: float = sc.HALF_WIDTH
) -> list[dict]:
    """Trials, core-hours and sessions per n for the full grid (what remains and in all).

    Inner points cost the mean per trial near the crossing (store, --measure, or the
    fitted growth beyond); tail points that times :func:`tail_ratio`.
    """
    costs = mean_costs(rows, measured_csv)
    ratio, ratio_note = tail_ratio(rows)
    done: dict[tuple[int, int], int] = {}
    for r in rows:
        key = (r["n"], r["widths"][0])
        done[key] = done.get(key, 0) + 1
    out = []
    for n in ns:
        g = sc.grid_for(n, half_width)
        if n in costs:
            cost, src = costs[n]
        else:
            base = max((k for k in costs if k < n), default=None)
            if base is None:
                continue
            growth = growth_per_2(costs)
            cost = costs[base][0] * growth ** ((n - base) / 2)
            src = f"extrapolated from n={base} (x{growth:.3g} per +2 in n)"
        need = [(m, trials, cost) for m in g.inner] + [
            (m, outer_trials, cost * ratio) for m in g.outer
        ]
        total = sum(t for _, t, _ in need)
        left = [(max(t - done.get((n, m), 0), 0), c) for m, t, c in need]
        out.append(
            {"n": n, "inner": len(g.inner), "outer": len(g.outer), "trials": total,
             "left": sum(t for t, _ in left), "s_per_trial": cost,
             "source": f"{src}; {ratio_note}",
             "core_h_total": sum(t * c for _, t, c in need) / 3600,
             "core_h_left": sum(t * c for t, c in left) / 3600}
        )  # fmt: skip
    return out


def write_plan(out: Path, records: list[dict], session_core_h: float) -> str:
    cols = ["n", "inner", "outer", "trials", "left", "s_per_trial", "source",
            "core_h_total", "core_h_left"]  # fmt: skip
    sc.write_csv(out / "plan.csv", records, cols)
    lines = [
        f"Plan of the full one-layer run, made {sc.now()} on {sc.machine_line()}.",
        f"Sessions assume {session_core_h:g} core-hours each (`--session-core-hours`; a "
        "3-hour session on 2 cores is 6). Costs per trial are means over the stored trials "
        "of the study (both sweeps) where there are some.",
        "",
        "| n | inner points | tail points | trials | left | s per trial (inner) | cost from | core-h (all) | core-h (left) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in records:
        lines.append(
            f"| {r['n']} | {r['inner']} | {r['outer']} | {r['trials']} | {r['left']} | "
            f"{r['s_per_trial']:.3g} | {r['source']} | {r['core_h_total']:.2f} | {r['core_h_left']:.2f} |"
        )
    tot = sum(r["core_h_total"] for r in records)
    left = sum(r["core_h_left"] for r in records)
    lines += ["", f"Total: {tot:.1f} core-hours; left: {left:.1f} core-hours = "
              f"{left / session_core_h:.1f} sessions of {session_core_h:g} core-hours."]  # fmt: skip
    text = "\n".join(lines) + "\n"
    (out / "plan.md").write_text(text)
    return text


# -- CLI ----------------------------------------------------------------------------------
def parse_args(argv=None):
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument(
        "--n", default=None,
        help="input sizes, e.g. 2:6 or 2,3,8 (runs: default 2:6; reports: default every n stored)",
    )  # fmt: skip
    p.add_argument("--trials", type=int, default=400, help="trials per inner point (default 400)")
    p.add_argument("--outer-trials", type=int, default=100, help="trials per tail point (100)")
    p.add_argument("--rounds", default="50,100,200,400", help="trial counts of the rounds")
    p.add_argument(
        "--half-width", type=float, default=sc.HALF_WIDTH,
        help=f"inner window around the expected crossing ({sc.HALF_WIDTH})",
    )  # fmt: skip
    p.add_argument("--workers", type=int, default=1, help="pool workers (0: in process)")
    p.add_argument("--executor", choices=("local", "ray"), default="local")
    p.add_argument("--address", default=None, help="Ray cluster address (with --executor ray)")
    p.add_argument("--store", default=None, help=f"SQLite store (default {sc.STORE})")
    p.add_argument("--out", default=None, help=f"output folder (default {sc.RESULTS})")
    p.add_argument("--until", default=None, help="HH:MM (UTC): start no new trial after it")
    p.add_argument("--report-only", action="store_true", help="only tables and figure")
    p.add_argument("--measure", type=int, default=0, metavar="K", help="time K trials per n")
    p.add_argument("--quick", action="store_true", help="CI smoke test: n=3,4, tiny grid")
    p.add_argument("--plan", action="store_true", help="cost of the full grid for --n (plan.md)")
    p.add_argument(
        "--decision-only", action="store_true",
        help="run without exact P* (about 3x cheaper at n = 11; reports merge both sweeps)",
    )  # fmt: skip
    p.add_argument("--session-core-hours", type=float, default=3.0, help="for --plan (3)")
    args = p.parse_args(argv)
    from injcheck.sweep.spec import parse_int_list

    try:
        args.ns = parse_int_list(args.n or "2:6", "n")
        args.rounds = [int(x) for x in args.rounds.split(",") if x.strip()]
        args.deadline = next_utc_time(args.until, time.time()) if args.until else None
    except Exception as exc:  # noqa: BLE001 - one clear line, exit 2
        p.error(f"bad argument: {exc}")
    if min(args.ns) < 2 or args.trials < 1 or args.outer_trials < 0 or args.half_width <= 0:
        p.error("n must be >= 2, --trials >= 1, --outer-trials >= 0 and --half-width > 0")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    settings = dict(sc.STUDY_SETTINGS)
    out = Path(args.out) if args.out else sc.RESULTS
    store = Path(args.store) if args.store else sc.STORE
    if args.quick:
        # Tiny grid and its own store in --out (never the committed one).
        settings = dict(sc.QUICK_SETTINGS)
        out = Path(args.out) if args.out else Path("/tmp/injcheck_study_quick")
        store = out / "quick.sqlite"
        args.ns, args.trials, args.outer_trials, args.rounds = (3, 4), 12, 0, [6, 12]
        args.workers = 0 if args.workers == 1 else args.workers
        grids = {n: sc.Grid(n, tuple(range(4 * n, 6 * n + 1, n // 2)), ()) for n in args.ns}
    else:
        grids = {n: sc.grid_for(n, args.half_width) for n in args.ns}
    # --decision-only: a sweep without exact P* (its own hash); reports merge both sweeps.
    run_settings = sc.decision_only(settings) if args.decision_only else settings
    out.mkdir(parents=True, exist_ok=True)
    if args.measure:
        measure(args.ns, args.measure, run_settings, out)
        return 0
    if args.plan:
        rows, _ = sc.load_study_rows(store, settings)
        recs = plan(
            args.ns, rows, out / "cost_per_trial.csv", args.trials, args.outer_trials,
            args.half_width,
        )  # fmt: skip
        print(write_plan(out, recs, args.session_core_hours))
        return 0
    t0 = time.perf_counter()
    if not args.report_only:
        ran = run_study(args, store, run_settings, args.ns, grids)
        print(f"[{sc.now()}] ran {ran} trials in {time.perf_counter() - t0:.0f} s", flush=True)
    elapsed = None if args.report_only else time.perf_counter() - t0
    # A report draws every size in the store unless --n names some.
    ns = None if args.n is None else tuple(args.ns)
    report(store, out, settings, args.trials, elapsed, quick=args.quick, ns=ns)
    return 0


if __name__ == "__main__":
    sys.exit(main())
