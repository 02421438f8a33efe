"""Does the staged AMP start move the algorithmic threshold? Same layers, both starts.

For each alpha and seed one Gaussian layer (n, round(alpha n)) is searched with
``settings_for(n, m)`` (random starts) and ``settings_for(n, m, init="amp")``; a count
below n is a verified witness (certified signs). One JSON line per layer to ``--out``
and a table on stdout::

    nice -n 8 python experiments/amp_threshold.py --n 250 --alphas 6.25,6.5,6.75,7 --seeds 8 \\
        --out results/large_n/amp_threshold.jsonl
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

INITS = ("random", "amp")


def run_layer(n: int, alpha: float, seed: int) -> dict:
    """Best certified count of one seeded layer under each start family, CPU seconds."""
    from injcheck.one_layer.heuristic import search_layer, settings_for

    m = round(alpha * n)
    weight = np.random.default_rng([seed, n, m, 7]).standard_normal((m, n))
    row: dict = {"n": n, "m": m, "alpha": alpha, "seed": seed}
    for init in INITS:
        cpu = time.process_time()
        found = search_layer(weight, settings_for(n, m, init=init))
        row[init] = int(found.count)
        row[f"{init}_cpu_s"] = round(time.process_time() - cpu, 1)
    return row


def table(rows: list[dict]) -> str:
    """Witnesses (count < n) and median count / n per alpha and start family."""
    lines = [
        "| n | alpha | layers | witnesses, random starts | witnesses, staged AMP "
        "| median count / n, random | median count / n, AMP |",
        "|---|---|---|---|---|---|---|",
    ]
    for n, alpha in sorted({(r["n"], r["alpha"]) for r in rows}):
        rs = [r for r in rows if r["n"] == n and r["alpha"] == alpha]
        wit = {i: sum(r[i] < n for r in rs) for i in INITS}
        med = {i: float(np.median([r[i] for r in rs])) / n for i in INITS}
        lines.append(
            f"| {n} | {alpha} | {len(rs)} | {wit['random']} | {wit['amp']} "
            f"| {med['random']:.3f} | {med['amp']:.3f} |"
        )
    return "\n".join(lines)


def main(argv=None) -> int:
    import torch

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=250)
    ap.add_argument("--alphas", default="6.25,6.5,6.75,7")
    ap.add_argument("--seeds", type=int, default=8)
    ap.add_argument("--out", type=Path, default=None, help="JSON lines (appended)")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    rows = []
    for alpha in (float(a) for a in args.alphas.split(",")):
        for seed in range(args.seeds):
            rows.append(run_layer(args.n, alpha, seed))
            print(json.dumps(rows[-1]), flush=True)
            if args.out is not None:
                with open(args.out, "a", encoding="utf-8") as fh:
                    fh.write(json.dumps(rows[-1]) + "\n")
    print(table(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
