"""Large n: best heuristic count / n against alpha, and the algorithmic threshold.

For every (n, alpha) point, seeded Gaussian layers are searched by the batched heuristic
(:func:`injcheck.one_layer.heuristic.search_cells`); a count below n is a witness, which is
verified (:func:`injcheck.one_layer.heuristic_check.verify_cell`) before it counts. Small-n
exact P*/n comes from :func:`injcheck.one_layer.halfspace_depth`. Records are appended to
``records.jsonl`` as they arrive (a re-run skips what is there), then ``summary.csv``,
``thresholds.csv``, ``exact_small_n.csv`` and ``large_n.png``/``.pdf`` are rebuilt.

Two start families, each a record field ``init`` (records written before it are
``random``): ``random`` (uniform starts, the plan ``FULL``) and ``amp`` (the staged AMP
start, one run a layer, ``settings_for(n, m, init="amp", starts=1)``, the plan ``FULL_AMP``).
Summaries, thresholds and the figure keep them apart.

Usage::

    nice -n 5 python experiments/large_n.py                 # random starts (results/large_n)
    nice -n 5 python experiments/large_n.py --init amp      # AMP starts
    python experiments/large_n.py --quick --out /tmp/q      # smoke test (both), seconds
"""

from __future__ import annotations

import argparse
import csv
import json
import time
from pathlib import Path

import numpy as np

#: (n, alphas, starts, steps) of the full run. The cost per layer grows like
#: starts * steps * alpha n^2; on the shared 2-core machine (load 6-10) n = 1000 runs with 4
#: starts and n = 2000 with 2 starts (the budget, not the method, sets these).
FULL = [
    (250, [4.0, 5.0, 5.5, 6.0, 6.25, 6.5, 6.75, 7.0, 7.5], 8, 1000),
    (500, [4.0, 5.0, 6.0, 6.25, 6.5, 7.0], 8, 1000),
    (1000, [5.0, 6.0, 6.25, 6.5, 7.0], 4, 1000),
    (2000, [5.0, 6.0, 6.25, 6.5], 2, 800),
]
#: (n, alphas) of the AMP run, ordered so that an interrupted run has whole sizes: the
#: threshold region first, then the rest (AMP costs ~29 s a layer at n = 1000, alpha = 5).
FULL_AMP = [
    (250, [5.0, 6.0, 6.25, 6.5, 6.75, 7.0]),
    (500, [5.0, 6.0, 6.25, 6.5, 6.75, 7.0]),
    (1000, [5.0, 6.0, 6.25, 6.5, 6.75]),
    (2000, [6.5, 6.25, 6.75]),
]
FULL_EXACT = [(8, [3.0, 4.0, 5.0, 6.0, 7.0]), (10, [3.0, 4.0, 5.0, 6.0, 7.0])]
QUICK = [(40, [3.0, 5.0, 7.0], 4, 300), (80, [5.0, 7.0], 4, 300)]
QUICK_AMP = [(40, [5.0, 7.0])]
INITS = ("random", "amp")
QUICK_EXACT = [(6, [3.0, 5.0])]
#: Bytes of float32 weights one batch may hold.
BATCH_BYTES = 200e6


def net_seed(n: int, alpha: float, net: int) -> int:
    """Seed from what a trial is (n, alpha, index), never from when it ran."""
    return int(np.random.SeedSequence([n, int(round(alpha * 1000)), net]).generate_state(1)[0])


def layer(n: int, alpha: float, net: int) -> np.ndarray:
    m = int(round(alpha * n))
    return np.random.default_rng(net_seed(n, alpha, net)).standard_normal((m, n))


def init_of(rec: dict) -> str | None:
    """The start family of a heuristic record (``random`` before the field existed)."""
    return rec.get("init", "random") if rec["kind"] == "heuristic" else None


def _done(path: Path) -> set[tuple]:
    keys = set()
    if path.exists():
        for line in path.read_text().splitlines():
            rec = json.loads(line)
            keys.add((rec["kind"], init_of(rec), rec["n"], rec["alpha"], rec["net"]))
    return keys


def _append(path: Path, rec: dict) -> None:
    with path.open("a") as fh:
        fh.write(json.dumps(rec) + "\n")


def run_heuristic(path: Path, n, alphas, nets, init: str = "random", starts=8, steps=1000) -> None:
    """Search ``nets`` layers a point; ``init="amp"`` takes its settings from ``settings_for``."""
    from injcheck.one_layer.heuristic import SearchSettings, search_cells, settings_for

    done = _done(path)
    for alpha in alphas:
        todo = [k for k in range(nets) if ("heuristic", init, n, alpha, k) not in done]
        m = int(round(alpha * n))
        if init == "amp":
            settings = settings_for(n, m, init="amp", starts=1, polish_tries=0)
        else:
            settings = SearchSettings(starts=starts, steps=steps, polish_tries=0)
        size = max(1, int(BATCH_BYTES // (4 * m * n)))
        for i in range(0, len(todo), size):
            chunk = todo[i : i + size]
            weights = [layer(n, alpha, k) for k in chunk]
            start = time.perf_counter()
            found = search_cells(weights, settings)
            per_net = (time.perf_counter() - start) / len(chunk)
            for k, w, f in zip(chunk, weights, found):
                _append(path, _record(n, alpha, k, w, f, settings, per_net))
            print(
                f"{init}: n={n} alpha={alpha} nets {chunk[0]}..{chunk[-1]}: {per_net:.1f} s/net",
                flush=True,
            )


def _record(n: int, alpha: float, k: int, weight, found, settings, per_net: float) -> dict:
    """One layer's record; a count below n is a witness only once it is verified."""
    from injcheck.one_layer.heuristic_check import verify_cell

    verified = None
    if found.count < n:
        check = verify_cell(weight, found.x)
        verified = bool(check is not None and check.ok)
    return {
        "kind": "heuristic",
        "init": settings.init,
        "n": n,
        "alpha": alpha,
        "m": weight.shape[0],
        "net": k,
        "seed": net_seed(n, alpha, k),
        "count": found.count,
        "witness": found.count < n,
        "verified": verified,
        "starts": settings.starts,
        "steps": settings.steps,
        "seconds_per_net": per_net,
    }


def run_exact(path: Path, n, alphas, nets, time_limit=60.0) -> None:
    from injcheck.one_layer import halfspace_depth

    done = _done(path)
    for alpha in alphas:
        for k in range(nets):
            if ("exact", None, n, alpha, k) in done:
                continue
            start = time.perf_counter()
            p_star = halfspace_depth(layer(n, alpha, k), time_limit=time_limit)
            rec = {"kind": "exact", "n": n, "alpha": alpha, "net": k, "p_star": p_star}
            rec["seconds"] = time.perf_counter() - start
            _append(path, rec)


# ----------------------------------------------------------------------------- analysis
def load(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def theory_e(alpha: float, method: str) -> float:
    """e*(alpha) from the shipped theory table (never solved while analysing)."""
    from injcheck.theory.tables import load_table

    return float(load_table().ground_state(alpha, method))


def summarise(records: list[dict]) -> list[dict]:
    rows = []
    heuristic = [r for r in records if r["kind"] == "heuristic"]
    keys = sorted({(init_of(r), r["n"], r["alpha"]) for r in heuristic})
    for init, n, alpha in keys:
        group = [r for r in heuristic if (init_of(r), r["n"], r["alpha"]) == (init, n, alpha)]
        ratio = np.array([r["count"] / n for r in group])
        found = [bool(r["witness"] and r["verified"]) for r in group]
        rows.append(
            {
                "init": init,
                "n": n,
                "alpha": alpha,
                "nets": len(group),
                "mean_count_over_n": ratio.mean(),
                "sd": ratio.std(ddof=1) if len(group) > 1 else 0.0,
                "min": ratio.min(),
                "max": ratio.max(),
                "witness_fraction": float(np.mean(found)),
                "unverified_witnesses": sum(
                    bool(r["witness"] and not r["verified"]) for r in group
                ),
                "seconds_per_net": float(np.median([r["seconds_per_net"] for r in group])),
                "e_rs": theory_e(alpha, "rs"),
                "e_1rsb": theory_e(alpha, "1rsb"),
                "e_frsb": theory_e(alpha, "frsb"),
            }
        )
    return rows


def _crossing(alphas, values, level):
    """Linear interpolation of the first downward crossing of ``level`` (None if none)."""
    for a0, a1, v0, v1 in zip(alphas, alphas[1:], values, values[1:]):
        if v0 >= level > v1:
            return a0 + (v0 - level) * (a1 - a0) / (v0 - v1), (a0, a1)
    return None, (None, None)


def thresholds(summary: list[dict]) -> list[dict]:
    """Algorithmic threshold per start family and n: 50% crossing of the witness fraction,
    its grid bracket, and the alpha where the mean count / n crosses 1."""
    out = []
    for init, n in sorted({(r.get("init", "random"), r["n"]) for r in summary}):
        rows = [r for r in summary if (r.get("init", "random"), r["n"]) == (init, n)]
        rows.sort(key=lambda r: r["alpha"])
        alphas = [r["alpha"] for r in rows]
        frac = [r["witness_fraction"] for r in rows]
        mid, (lo, hi) = _crossing(alphas, frac, 0.5)
        mean_cross, _ = _crossing(alphas, [-r["mean_count_over_n"] for r in rows], -1.0)
        found = [r["alpha"] for r in rows if r["witness_fraction"] > 0]
        out.append(
            {
                "init": init,
                "n": n,
                "alpha_alg": mid,
                "bracket_lo": lo,
                "bracket_hi": hi,
                "alpha_mean_count_eq_n": mean_cross,
                "largest_alpha_with_witness": max(found) if found else None,
            }
        )
    return out


def exact_summary(records: list[dict]) -> list[dict]:
    rows = []
    keys = sorted({(r["n"], r["alpha"]) for r in records if r["kind"] == "exact"})
    for n, alpha in keys:
        vals = [
            r["p_star"]
            for r in records
            if r["kind"] == "exact" and (r["n"], r["alpha"]) == (n, alpha)
        ]
        known = np.array([v for v in vals if v is not None], dtype=float) / n
        rows.append(
            {
                "n": n,
                "alpha": alpha,
                "nets": len(vals),
                "timed_out": sum(v is None for v in vals),
                "mean_p_star_over_n": known.mean() if known.size else None,
                "sd": known.std(ddof=1) if known.size > 1 else None,
            }
        )
    return rows


def write_csv(path: Path, rows: list[dict]) -> None:
    if not rows:
        return
    with path.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def _series(summary: list[dict]):
    """``((init, n), rows sorted by alpha)`` per curve, random starts first."""
    keys = sorted({(r["init"], r["n"]) for r in summary}, key=lambda k: (INITS.index(k[0]), k[1]))
    for key in keys:
        yield (
            key,
            sorted((r for r in summary if (r["init"], r["n"]) == key), key=lambda r: r["alpha"]),
        )


def _colours(summary: list[dict]) -> dict:
    """One colour per n, the same for both start families."""
    import matplotlib.pyplot as plt

    cycle = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    return {n: cycle[i % len(cycle)] for i, n in enumerate(sorted({r["n"] for r in summary}))}


def _style(init: str, colour: str) -> dict:
    """AMP starts (the better family) solid and filled; random starts dashed and faint."""
    if init == "amp":
        return {"color": colour, "marker": "o", "ms": 4, "ls": "-"}
    return {"color": colour, "marker": "o", "ms": 3, "ls": "--", "mfc": "none", "alpha": 0.45}


def plot(out: Path, summary, exact, thresh) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from injcheck.theory.tables import load_table

    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(12, 4.8), gridspec_kw={"width_ratios": [3, 2]})
    grid = np.arange(3.0, 7.51, 0.25)
    for method, style in (("rs", ":"), ("1rsb", "--"), ("frsb", "-")):
        ax.plot(
            grid,
            [theory_e(float(a), method) for a in grid],
            "k" + style,
            lw=1,
            label=f"e*({method.upper()})",
        )
    colours = _colours(summary)
    for (init, n), rows in _series(summary):
        ax.errorbar(
            [r["alpha"] for r in rows],
            [r["mean_count_over_n"] for r in rows],
            yerr=[r["sd"] for r in rows],
            capsize=2,
            label=f"{init} starts, n = {n}",
            **_style(init, colours[n]),
        )
    for n in sorted({r["n"] for r in exact}):
        rows = [r for r in exact if r["n"] == n and r["mean_p_star_over_n"] is not None]
        ax.plot(
            [r["alpha"] for r in rows],
            [r["mean_p_star_over_n"] for r in rows],
            "s",
            mfc="none",
            label=f"exact P*/n, n = {n}",
        )
    ax.axhline(1.0, color="grey", lw=0.8)
    ax.set(xlabel="alpha = m / n", ylabel="count / n", title="best heuristic count / n (mean, sd)")
    ax.legend(fontsize=7)
    for (init, n), rows in _series(summary):
        ax2.plot(
            [r["alpha"] for r in rows],
            [r["witness_fraction"] for r in rows],
            label=f"{init}, n = {n}",
            **_style(init, colours[n]),
        )
    ax2.axvline(load_table().capacities["frsb"], color="k", lw=0.8, ls="-", label="capacity (FRSB)")
    ax2.axhline(0.5, color="grey", lw=0.6)
    ax2.set(
        xlabel="alpha",
        ylabel="fraction of layers with a verified witness",
        title="algorithmic threshold",
    )
    text = "\n".join(
        f"{t['init']}, n={t['n']}: alpha_alg={t['alpha_alg']:.2f} "
        f"in [{t['bracket_lo']}, {t['bracket_hi']}]"
        if t["alpha_alg"] is not None
        else f"{t['init']}, n={t['n']}: no crossing on the grid"
        for t in thresh
    )
    ax2.text(0.02, 0.03, text, transform=ax2.transAxes, fontsize=7, va="bottom")
    ax2.legend(fontsize=7, loc="upper right")
    fig.tight_layout()
    fig.savefig(out / "large_n.png", dpi=130)
    fig.savefig(out / "large_n.pdf")
    plt.close(fig)


def _run(path: Path, args, nets: int) -> None:
    """The heuristic plan of ``--init`` (both in ``--quick``), then the small-n exact P*."""
    if args.quick or args.init == "random":
        for n, alphas, starts, steps in QUICK if args.quick else FULL:
            run_heuristic(path, n, alphas, nets, "random", starts, steps)
    if args.quick or args.init == "amp":
        for n, alphas in QUICK_AMP if args.quick else FULL_AMP:
            run_heuristic(path, n, alphas, nets, "amp")
    for n, alphas in QUICK_EXACT if args.quick else FULL_EXACT:
        run_exact(path, n, alphas, nets, time_limit=20.0)  # last: slow proofs wait


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="results/large_n")
    parser.add_argument("--quick", action="store_true", help="tiny sizes: a smoke test")
    parser.add_argument("--nets", type=int, default=None, help="layers per point (20; quick 3)")
    parser.add_argument("--analyse-only", action="store_true", help="rebuild tables and figure")
    parser.add_argument("--init", choices=INITS, default="amp", help="start family to run (amp)")
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    path = out / "records.jsonl"
    nets = args.nets or (3 if args.quick else 20)
    if not args.analyse_only:
        _run(path, args, nets)
    records = load(path)
    summary, exact = summarise(records), exact_summary(records)
    thresh = thresholds(summary)
    write_csv(out / "summary.csv", summary)
    write_csv(out / "thresholds.csv", thresh)
    write_csv(out / "exact_small_n.csv", exact)
    plot(out, summary, exact, thresh)
    for t in thresh:
        print(t)


if __name__ == "__main__":
    main()
