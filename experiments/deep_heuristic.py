"""Deep heuristic witness search (issue 13, item 2): local witnesses and folds, depth 2.

Local part: random bias-free nets ``n -> alpha n -> alpha n`` (N(0, 1) weights, seeds from
``(n, alpha, index)``), searched in one batch per point by
:func:`injcheck.deep.heuristic.search_local`; per net the best certified active count of
each layer / n (upper bounds on the minimum over open regions; before and after the exact
LP improvement where it runs) and whether a verified local witness was found
(:func:`injcheck.deep.heuristic_check.witness_from_search`: rational snap up to n = 24,
certified signs above).

Fold part: smaller n; per net the local search and, separately, the pair search
(:func:`injcheck.deep.heuristic.search_pairs`) whose best pairs are polished by the LP of
``polish_pair``; whether the pair passed the float check and (up to ``--verify-max-n``)
the exact rational check, how far apart x and y are, and how many layer-1 units differ.

Writes ``local.csv``, ``folds.csv``, ``summary.csv``, ``deep_heuristic.png`` and
``run.log`` to ``results/deep_heuristic/`` (``--quick``: a small plan, into a temporary
folder unless ``--out`` is given).

    nice -n 10 python experiments/deep_heuristic.py [--quick] [--out DIR]
"""

from __future__ import annotations

import argparse
import csv
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

#: (n, alphas, nets, steps, polishing LPs per layer). The published run (results/) gave
#: n = 100 3 s of polishing a layer (~n LPs at its widths); LPs make it load-independent.
LOCAL_PLAN = [
    (100, (4.0, 5.0, 5.5, 6.0, 6.5, 7.0), 8, 1000, 100),
    (250, (4.0, 5.0, 5.5, 6.0, 6.5, 7.0), 6, 1000, 0),
    (500, (5.0, 5.5, 6.0, 6.5), 3, 800, 0),
]
#: (n, alphas, nets).
FOLD_PLAN = [
    (20, (2.0, 3.0, 4.0, 5.0, 6.0, 8.0), 4),
    (40, (2.0, 3.0, 4.0, 5.0, 6.0, 8.0), 4),
    (100, (2.0, 3.0, 4.0, 6.0), 2),
]
QUICK_LOCAL = [(30, (4.0, 7.0), 2, 200, 30)]
QUICK_FOLD = [(6, (2.0, 8.0), 1)]


def _seed(n: int, alpha: float, index: int) -> int:
    return 100_000 * n + 1000 * int(round(10 * alpha)) + index


def _nets(n: int, alpha: float, count: int):
    from injcheck.networks import as_layers, random_relu_net

    m = int(round(alpha * n))
    return [as_layers(random_relu_net(n, [m, m], seed=_seed(n, alpha, i))) for i in range(count)]


def run_local(plan, log) -> list[dict]:
    """One batch search per (n, alpha); a row per net."""
    from injcheck.deep.heuristic import DeepSearchSettings, search_local
    from injcheck.deep.heuristic_check import witness_from_search

    rows = []
    for n, alphas, count, steps, polish in plan:
        for alpha in alphas:
            nets = _nets(n, alpha, count)
            t0 = time.perf_counter()
            settings = DeepSearchSettings(starts=8, steps=steps, polish_tries=polish)
            found = search_local(nets, settings)
            search_s = time.perf_counter() - t0
            for i, (net, res) in enumerate(zip(nets, found)):
                t1 = time.perf_counter()
                check, layer = witness_from_search(net, res)
                descent = res.stats.get("descent_best_counts", res.best_counts)
                rows.append(
                    {
                        "n": n,
                        "alpha": alpha,
                        "seed": _seed(n, alpha, i),
                        "steps": steps,
                        "polish_tries": polish,
                        "count1_over_n": _ratio(res.best_counts[0], n),
                        "count2_over_n": _ratio(res.best_counts[1], n),
                        "descent_count1_over_n": _ratio(descent[0], n),
                        "descent_count2_over_n": _ratio(descent[1], n),
                        "witness": int(layer is not None),
                        "witness_layer": layer,
                        "exact_check": None if check is None else check.exact_check,
                        "search_s_per_net": round(search_s / count, 2),
                        "verify_s": round(time.perf_counter() - t1, 2),
                    }
                )
            log(f"local n={n} alpha={alpha}: {search_s:.1f} s, {rows[-count:]}")
    return rows


def _ratio(count, n: int):
    return None if count is None else round(count / n, 4)


def _fold_row(net, n: int, alpha: float, index: int, verify_max_n: int) -> dict:
    from injcheck.deep.heuristic import DeepSearchSettings, search_local, search_pairs
    from injcheck.deep.heuristic_check import pair_witness, witness_from_search
    from injcheck.layers import activation_pattern

    settings = DeepSearchSettings(starts=8, steps=600, pair_starts=16, pair_steps=1500)
    local = search_local([net], settings)[0]
    _, local_layer = witness_from_search(net, local)
    t0 = time.perf_counter()
    pairs = search_pairs([net], settings)[0]
    pair_s = time.perf_counter() - t0
    row = {
        "n": n,
        "alpha": alpha,
        "seed": _seed(n, alpha, index),
        "local_witness": int(local_layer is not None),
        "best_ratio": f"{pairs.ratios[0]:.3g}",
        "pair_s": round(pair_s, 2),
    }
    verified = float_ok = None
    for x, y in pairs.pairs[:4]:
        t1 = time.perf_counter()
        check = pair_witness(net, x, y, exact=n <= verify_max_n)
        if check is None:
            continue
        float_ok = bool(check.float_ok)
        verified = bool(check.ok) if n <= verify_max_n else None
        row["verify_s"] = round(time.perf_counter() - t1, 2)
        px, py = activation_pattern(net, check.x), activation_pattern(net, check.y)
        row["layer1_units_differ"] = int(np.sum(px[0] != py[0]))
        cx, cy = check.x / np.linalg.norm(check.x), check.y / np.linalg.norm(check.y)
        row["direction_gap"] = round(float(np.linalg.norm(cx - cy)), 4)
        if float_ok:
            break
    row.update(pair_float_ok=float_ok, pair_verified=verified)
    return row


def run_folds(plan, verify_max_n: int, log) -> list[dict]:
    rows = []
    for n, alphas, count in plan:
        for alpha in alphas:
            for i, net in enumerate(_nets(n, alpha, count)):
                rows.append(_fold_row(net, n, alpha, i, verify_max_n))
                log(f"fold n={n} alpha={alpha} #{i}: {rows[-1]}")
    return rows


def summarise(local_rows: list[dict], fold_rows: list[dict]) -> list[dict]:
    """Per (part, n, alpha): witness fraction and median counts / n."""
    out = []
    keys = sorted({(r["n"], r["alpha"]) for r in local_rows})
    for n, alpha in keys:
        group = [r for r in local_rows if (r["n"], r["alpha"]) == (n, alpha)]

        def med(key: str, group=group):
            return _median([r[key] for r in group])

        out.append(
            {
                "part": "local",
                "n": n,
                "alpha": alpha,
                "nets": len(group),
                "witness_fraction": round(sum(r["witness"] for r in group) / len(group), 3),
                "median_count1_over_n": med("count1_over_n"),
                "median_count2_over_n": med("count2_over_n"),
                "median_descent_count1_over_n": med("descent_count1_over_n"),
                "median_descent_count2_over_n": med("descent_count2_over_n"),
            }
        )
    for n, alpha in sorted({(r["n"], r["alpha"]) for r in fold_rows}):
        group = [r for r in fold_rows if (r["n"], r["alpha"]) == (n, alpha)]
        out.append(
            {
                "part": "folds",
                "n": n,
                "alpha": alpha,
                "nets": len(group),
                "witness_fraction": round(
                    sum(bool(r["pair_verified"]) for r in group) / len(group), 3
                ),
                "pair_float_ok_fraction": round(
                    sum(bool(r["pair_float_ok"]) for r in group) / len(group), 3
                ),
                "local_witness_fraction": round(
                    sum(r["local_witness"] for r in group) / len(group), 3
                ),
            }
        )
    return out


def _median(values):
    known = [v for v in values if v is not None]
    return round(statistics.median(known), 4) if known else None


def write_csv(path: Path, rows: list[dict]) -> None:
    fields = list(dict.fromkeys(k for r in rows for k in r))
    with open(path, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)


def _read_summary(path: Path) -> list[dict]:
    """summary.csv back as the rows :func:`plot` takes (numbers parsed)."""
    with open(path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    for row in rows:
        for key, value in row.items():
            if key in ("n", "nets"):
                row[key] = int(value)
            elif key != "part":
                row[key] = float(value) if value != "" else None
    return rows


def plot(summary: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(14, 4))
    local = [r for r in summary if r["part"] == "local"]
    for n in sorted({r["n"] for r in local}):
        rs = [r for r in local if r["n"] == n]
        alphas = [r["alpha"] for r in rs]
        axes[0].plot(alphas, [r["witness_fraction"] for r in rs], "o-", label=f"n = {n}")
        for key, style in (("median_count1_over_n", "o-"), ("median_count2_over_n", "s--")):
            layer = key[len("median_count")]
            axes[1].plot(alphas, [r[key] for r in rs], style, label=f"n = {n}, layer {layer}")
    axes[0].set(
        xlabel="alpha (widths alpha n, alpha n)", ylabel="fraction with verified local witness"
    )
    axes[1].axhline(1.0, color="grey", lw=0.8)
    axes[1].set(xlabel="alpha", ylabel="median best certified count / n")
    folds = [r for r in summary if r["part"] == "folds"]
    for n in sorted({r["n"] for r in folds}):
        rs = [r for r in folds if r["n"] == n]
        alphas = [r["alpha"] for r in rs]
        verified = any(r["witness_fraction"] for r in rs)
        key = "witness_fraction" if verified else "pair_float_ok_fraction"
        what = "pair, verified" if verified else "pair, float check only"
        axes[2].plot(alphas, [r[key] for r in rs], "o-", label=f"n = {n} ({what})")
        axes[2].plot(
            alphas,
            [r["local_witness_fraction"] for r in rs],
            "x:",
            label=f"n = {n} (local search)",
        )
    axes[2].set(xlabel="alpha", ylabel="fraction with a collision (pair search)")
    for ax in axes:
        ax.legend(fontsize=7)
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="a small plan (seconds), into a temporary folder"
    )
    parser.add_argument("--out", help="output folder (default results/deep_heuristic)")
    parser.add_argument(
        "--verify-max-n", type=int, default=60, help="rational check of pairs up to this n"
    )
    parser.add_argument(
        "--plot-only", action="store_true", help="redraw the figure from OUT/summary.csv"
    )
    args = parser.parse_args(argv)
    if args.out is None:
        quick = Path(tempfile.gettempdir()) / "deep_heuristic_quick"
        args.out = str(quick) if args.quick else "results/deep_heuristic"
    out = Path(args.out)
    if args.plot_only:
        plot(_read_summary(out / "summary.csv"), out / "deep_heuristic.png")
        return
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    logfile = open(out / "run.log", "w")

    def log(msg: str) -> None:
        line = f"[{time.perf_counter() - start:7.1f} s, load {os.getloadavg()[0]:.1f}] {msg}"
        print(line, flush=True)
        logfile.write(line + "\n")
        logfile.flush()

    log(f"command: {' '.join(sys.argv)}")
    local_rows = run_local(QUICK_LOCAL if args.quick else LOCAL_PLAN, log)
    write_csv(out / "local.csv", local_rows)
    fold_rows = run_folds(QUICK_FOLD if args.quick else FOLD_PLAN, args.verify_max_n, log)
    write_csv(out / "folds.csv", fold_rows)
    summary = summarise(local_rows, fold_rows)
    write_csv(out / "summary.csv", summary)
    plot(summary, out / "deep_heuristic.png")
    log(f"done in {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
