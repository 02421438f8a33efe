"""Benchmark: the exact one-layer decision against a plain big-M MILP baseline.

Seeded Gaussian layers with m = 6n. For every layer, in this process and on the
same matrix, we time

* ``gordan``: ``injcheck.check(W)`` (certificate branching, the default method);
* ``baseline``: the plain big-M MILP of the literature: x in [-1, 1]^n, margin eps,
  one binary per row (``<w_i, x> <= -eps + M_i z_i``, ``sum z <= n - 1``), same HiGHS,
  one thread, decision form, eps = 1e-4. Its "infeasible" is not a proof (a cell
  thinner than eps is missed); it is here only as the speed reference.

A run that hits the time limit counts as the limit in the median (so a median at the
limit means "more than half undecided"). Prints a markdown table.

    python experiments/bench_one_layer.py --n 8,10,12,14 --seeds 5 --time-limit 60
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time

import cvxpy as cp
import numpy as np
from machine import cpu_model as cpu_name  # experiments/machine.py

import injcheck
from injcheck.solvers import solve_highs


def baseline_big_m(weight: np.ndarray, time_limit: float, eps: float = 1e-4) -> str:
    # eps must sit well above HiGHS' feasibility tolerance (1e-6): at eps = 1e-6 the
    # point x = 0 is "feasible" within tolerance and HiGHS returns nonsense optima.
    m, n = weight.shape
    x = cp.Variable(n)
    z = cp.Variable(m, boolean=True)
    big_m = np.abs(weight).sum(axis=1) + eps
    problem = cp.Problem(
        cp.Minimize(0),
        [weight @ x <= -eps + cp.multiply(big_m, z), cp.sum(z) <= n - 1, x >= -1, x <= 1],
    )
    result = solve_highs(problem, time_limit=time_limit)
    return {"optimal": "non-injective", "infeasible": "no cell with margin eps"}.get(
        result.outcome, "unknown"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", default="8,10,12,14")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--time-limit", type=float, default=60.0)
    parser.add_argument("--ratio", type=float, default=6.0, help="m / n")
    parser.add_argument("--json", help="also write the raw rows to this file")
    args = parser.parse_args()
    injcheck.check(np.random.default_rng(0).standard_normal((12, 3)))  # warm imports
    baseline_big_m(np.random.default_rng(0).standard_normal((12, 3)), 10)
    rows = []
    for n in [int(v) for v in args.n.split(",")]:
        m = int(round(args.ratio * n))
        for seed in range(args.seeds):
            weight = injcheck.random_relu_net(n, [m], seed=seed)[0].weight.detach().numpy()
            start = time.perf_counter()
            verdict = injcheck.check(weight, time_limit=args.time_limit)
            t_gordan = time.perf_counter() - start
            start = time.perf_counter()
            base = baseline_big_m(weight, args.time_limit)
            t_base = time.perf_counter() - start
            row = {
                "n": n,
                "m": m,
                "seed": seed,
                "gordan": verdict.status,
                "t_gordan": t_gordan,
                "nodes": verdict.stats.get("nodes"),
                "lps": verdict.stats.get("lps"),
                "baseline": base,
                "t_baseline": t_base,
            }
            rows.append(row)
            print(json.dumps(row), flush=True)
    print(
        f"\nMachine: {cpu_name()}, {platform.python_version()}, HiGHS 1 thread; time limit {args.time_limit:g} s\n"
    )
    print(
        "| n | m | layers | gordan median s | gordan verdicts (I/N/U) | baseline median s | baseline (N/infeasible/U) | speed-up (median ratio) |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for n in sorted({r["n"] for r in rows}):
        sub = [r for r in rows if r["n"] == n]

        def count(key, val, sub=sub):
            return sum(r[key] == val for r in sub)

        tg = statistics.median(min(r["t_gordan"], args.time_limit) for r in sub)
        tb = statistics.median(min(r["t_baseline"], args.time_limit) for r in sub)
        ratio = statistics.median(
            min(r["t_baseline"], args.time_limit) / r["t_gordan"] for r in sub
        )
        print(
            f"| {n} | {sub[0]['m']} | {len(sub)} | {tg:.2f} | "
            f"{count('gordan', 'injective')}/{count('gordan', 'non-injective')}/{count('gordan', 'unknown')} | "
            f"{tb:.2f} | {count('baseline', 'non-injective')}/{count('baseline', 'no cell with margin eps')}/"
            f"{count('baseline', 'unknown')} | {ratio:.1f}x |"
        )
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
