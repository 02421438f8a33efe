"""Benchmark: the compiled search core against today's pure-Python gordan search.

Seeded Gaussian layers ``injcheck.random_relu_net(n, [round(ratio * n)], seed)``. For every
layer, in this process and on the same matrix, we time ``check_layer(W, method="gordan")``
(compiled core, the default) and, for n up to ``--python-max-n`` and the first
``--python-seeds`` seeds,
``check_layer(W, method="gordan-python")`` (the pure-Python search of before). Rows are
appended to a JSONL file as they come, and layers already in it are skipped, so a stopped
run resumes. ``--table`` prints the markdown summary of a JSONL file.

    python experiments/bench_core.py --n 10,12 --ratios 6,7 --seeds 5 --time-limit 600 \\
        --out results/one_layer/core.jsonl
    python experiments/bench_core.py --table results/one_layer/core.jsonl
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time

import numpy as np

import injcheck
from injcheck.one_layer import check_layer


def layer(n: int, ratio: float, seed: int) -> np.ndarray:
    m = int(round(ratio * n))
    return injcheck.random_relu_net(n, [m], seed=seed)[0].weight.detach().numpy().astype(float)


def timed(weight: np.ndarray, method: str, time_limit: float, exact: bool) -> dict:
    start, cpu = time.perf_counter(), time.process_time()
    verdict = check_layer(weight, method=method, time_limit=time_limit, exact_value=exact)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    stats = verdict.stats or {}
    return {
        "status": verdict.status,
        "seconds": seconds,
        "cpu_seconds": cpu,
        "nodes": stats.get("nodes"),
        "lps": stats.get("lps"),
        "engine": stats.get("engine", "python" if method == "gordan-python" else "greedy"),
        "p_star": verdict.certificate.get("p_star"),
    }


def run(args) -> None:
    done = set()
    if os.path.exists(args.out):
        with open(args.out) as f:
            done = {
                (r["n"], r["ratio"], r["seed"], r["method"], r["exact"]) for r in map(json.loads, f)
            }
    check_layer(np.random.default_rng(0).standard_normal((12, 3)))  # warm imports
    methods = [m for m in args.methods.split(",") if m]
    for n in [int(v) for v in args.n.split(",")]:
        for ratio in [float(v) for v in args.ratios.split(",")]:
            for seed in range(args.seeds):
                for method in methods:
                    if method == "gordan-python" and (
                        n > args.python_max_n or seed >= args.python_seeds
                    ):
                        continue
                    key = (n, ratio, seed, method, args.exact)
                    if key in done:
                        continue
                    weight = layer(n, ratio, seed)
                    row = {
                        "n": n,
                        "m": weight.shape[0],
                        "ratio": ratio,
                        "seed": seed,
                        "method": method,
                        "exact": args.exact,
                        "time_limit": args.time_limit,
                    }
                    row.update(timed(weight, method, args.time_limit, args.exact))
                    with open(args.out, "a") as f:
                        f.write(json.dumps(row) + "\n")
                    print(json.dumps(row), flush=True)


def _ratio(rows: list[dict], r: dict) -> str | None:
    """CPU time of the Python search over the core's on the same layer (">=": Python timed out)."""
    for t in rows:
        same = (t["n"], t["m"], t["seed"], t["exact"]) == (r["n"], r["m"], r["seed"], r["exact"])
        if same and t["method"] == "gordan-python":
            bound = ">=" if t["status"] == "unknown" else ""
            return f"{bound}{t['cpu_seconds'] / r['cpu_seconds']:.0f}x"
    return None


def table(path: str) -> None:
    with open(path) as f:
        rows = [json.loads(line) for line in f]
    print(
        "| n | m | P* too | method | layers | I/N/U | median CPU s | median wall s | max wall s "
        "| median nodes (searched layers) | python/compiled CPU, per layer |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for n, m, exact, method in sorted({(r["n"], r["m"], r["exact"], r["method"]) for r in rows}):
        sub = [
            r for r in rows if (r["n"], r["m"], r["exact"], r["method"]) == (n, m, exact, method)
        ]
        count = [
            sum(r["status"] == s for r in sub) for s in ("injective", "non-injective", "unknown")
        ]
        nodes = [r["nodes"] for r in sub if r["nodes"]]
        ratios = [_ratio(rows, r) for r in sub] if method == "gordan" else []
        print(
            f"| {n} | {m} | {'yes' if exact else 'no'} | {method} | {len(sub)} | "
            + "/".join(map(str, count))
            + f" | {statistics.median(r['cpu_seconds'] for r in sub):.2f}"
            + f" | {statistics.median(r['seconds'] for r in sub):.2f}"
            + f" | {max(r['seconds'] for r in sub):.1f}"
            + f" | {statistics.median(nodes) if nodes else 0:.0f} ({len(nodes)})"
            + f" | {', '.join(x for x in ratios if x)} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", default="10,12")
    parser.add_argument("--ratios", default="6,7")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--time-limit", type=float, default=600.0)
    parser.add_argument("--methods", default="gordan,gordan-python")
    parser.add_argument("--python-max-n", type=int, default=12)
    parser.add_argument("--python-seeds", type=int, default=5, help="seeds run in pure Python")
    parser.add_argument("--exact", action="store_true", help="also compute P* (exact_value=True)")
    parser.add_argument("--out", default="results/one_layer/core.jsonl")
    parser.add_argument("--table", help="print the summary of this JSONL file and exit")
    args = parser.parse_args()
    if args.table:
        table(args.table)
    else:
        run(args)


if __name__ == "__main__":
    main()
