"""Benchmark: the cost of the exact ``P*(W)`` against the decision, per layer (issue 16).

For every seeded layer ``injcheck.random_relu_net(n, [round(ratio * n)], seed)`` this
process times, on the same matrix, ``check_layer(W, method="gordan")`` (the decision) and
``check_layer(W, method="gordan", exact_value=True)`` (decision then ``P*``), both in CPU
seconds (``time.process_time()``). The P*-only time is the second minus the decision part
of the second run; ratios are P*-only / decision and (decision + P*) / decision.

    python experiments/bench_pstar.py --n 10,12 --ratios 6,7 --seeds 5 --tag after \\
        --out results/one_layer/core_pstar.jsonl
    python experiments/bench_pstar.py --table results/one_layer/core_pstar.jsonl

``--baseline DIR`` compares against another version of the package (a copy of an older
commit with its extension built in place, e.g. ``git archive 53e0c70 | tar -x -C DIR`` and
``python setup.py build_ext --inplace`` there): every layer is measured in fresh processes,
once with ``DIR`` first on ``PYTHONPATH`` (tag ``before``) and once with the installed
package (tag ``after``), in the order AB, BA, AB, ... so that load drifts hit both alike.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import numpy as np

import injcheck
from injcheck.one_layer import check_layer


def layer(n: int, ratio: float, seed: int) -> np.ndarray:
    m = int(round(ratio * n))
    return injcheck.random_relu_net(n, [m], seed=seed)[0].weight.detach().numpy().astype(float)


def cpu_of(weight: np.ndarray, exact: bool, time_limit: float):
    cpu = time.process_time()
    verdict = check_layer(weight, method="gordan", time_limit=time_limit, exact_value=exact)
    return time.process_time() - cpu, verdict


def measure(n: int, ratio: float, seed: int, time_limit: float) -> dict:
    weight = layer(n, ratio, seed)
    decision_cpu, decision = cpu_of(weight, False, time_limit)
    total_cpu, valued = cpu_of(weight, True, time_limit)
    search = (valued.stats or {}).get("p_star_search", {})
    p_star_cpu = max(total_cpu - decision_cpu, 1e-9)
    return {
        "n": n,
        "m": weight.shape[0],
        "seed": seed,
        "status": decision.status,
        "p_star": valued.certificate.get("p_star"),
        "decision_cpu": decision_cpu,
        "total_cpu": total_cpu,
        "p_star_cpu": p_star_cpu,
        "p_star_nodes": search.get("nodes"),
        "decision_nodes": (decision.stats or {}).get("nodes"),
        "ratio_p_star": p_star_cpu / decision_cpu,
        "ratio_total": total_cpu / decision_cpu,
    }


def measure_in(baseline: str | None, n: int, ratio: float, seed: int, limit: float) -> dict:
    """``measure`` in a fresh process, on ``baseline``'s package when given."""
    here = os.path.dirname(os.path.abspath(__file__))
    code = (
        f"import sys, json; sys.path.insert(0, {here!r}); import bench_pstar as b; "
        f"print(json.dumps(b.measure({n}, {ratio}, {seed}, {limit})))"
    )
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
    env.pop("PYTHONPATH", None)
    if baseline:
        env["PYTHONPATH"] = os.path.abspath(baseline)
    # Run outside the repository so that the current directory does not shadow the baseline.
    done = subprocess.run(
        [sys.executable, "-c", code], cwd="/", env=env, capture_output=True, text=True, check=True
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def table(path: str) -> None:
    with open(path) as f:
        rows = [json.loads(line) for line in f]
    print(
        "| tag | n | m | seed | status | P* | decision CPU s | P* CPU s | P*/decision | "
        "(decision+P*)/decision | P* nodes |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['tag']} | {r['n']} | {r['m']} | {r['seed']} | {r['status']} | {r['p_star']} "
            f"| {r['decision_cpu']:.2f} | {r['p_star_cpu']:.2f} | {r['ratio_p_star']:.1f} "
            f"| {r['ratio_total']:.1f} | {r['p_star_nodes']} |"
        )
    print()
    print("| tag | n | m | layers | median P*/decision | median (decision+P*)/decision |")
    print("|---|---|---|---|---|---|")
    for tag, n, m in sorted({(r["tag"], r["n"], r["m"]) for r in rows}):
        sub = [r for r in rows if (r["tag"], r["n"], r["m"]) == (tag, n, m)]
        print(
            f"| {tag} | {n} | {m} | {len(sub)} "
            f"| {statistics.median(r['ratio_p_star'] for r in sub):.1f} "
            f"| {statistics.median(r['ratio_total'] for r in sub):.1f} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", default="10,12")
    parser.add_argument("--ratios", default="6,7")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--time-limit", type=float, default=600.0)
    parser.add_argument("--tag", default="run")
    parser.add_argument("--out", default="results/one_layer/core_pstar.jsonl")
    parser.add_argument("--table", help="print the summary of this JSONL file and exit")
    parser.add_argument("--baseline", help="package copy to compare with (see the docstring)")
    args = parser.parse_args()
    if args.table:
        table(args.table)
        return
    check_layer(np.random.default_rng(0).standard_normal((12, 3)))  # warm imports
    layers = [
        (n, ratio, seed)
        for n in [int(v) for v in args.n.split(",")]
        for ratio in [float(v) for v in args.ratios.split(",")]
        for seed in range(args.seeds)
    ]
    for index, (n, ratio, seed) in enumerate(layers):
        if args.baseline:
            runs = [("before", args.baseline), ("after", None)][:: 1 if index % 2 == 0 else -1]
            rows = [dict(measure_in(d, n, ratio, seed, args.time_limit), tag=t) for t, d in runs]
        else:
            rows = [dict(measure(n, ratio, seed, args.time_limit), tag=args.tag)]
        for row in rows:
            row["load_average"] = os.getloadavg()[0]
            with open(args.out, "a") as f:
                f.write(json.dumps(row) + "\n")
            print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
