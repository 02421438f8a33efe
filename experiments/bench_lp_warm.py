"""Benchmark: the core's certificate LPs cold (two-phase tableau) against warm-started.

On the same seeded layers and in the same process, the decision search
``CompiledSearch(W, limit=n - 1)`` runs with ``CoreOptions(warm_lp=False)`` (every LP from
scratch, the core before this change) and with ``warm_lp=True`` (revised simplex from the
previous LP's basis). Prints CPU seconds, nodes, LPs, pivots per LP and nodes per CPU second.

    python experiments/bench_lp_warm.py --n 12 --ratios 6,7 --seeds 5
"""

from __future__ import annotations

import argparse
import statistics
import time

import injcheck
from injcheck.one_layer.compiled import CompiledSearch, CoreOptions


def run(n: int, m: int, seed: int, warm: bool) -> dict:
    weight = injcheck.random_relu_net(n, [m], seed=seed)[0].weight.detach().numpy()
    search = CompiledSearch(weight.astype(float), limit=n - 1, options=CoreOptions(warm_lp=warm))
    cpu = time.process_time()
    result = search.run()
    cpu = time.process_time() - cpu
    stats = result.stats
    return {
        "outcome": result.outcome,
        "cpu": cpu,
        "nodes": stats["nodes"],
        "lps": stats["lps"],
        "pivots_per_lp": stats["pivots"] / max(stats["lps"], 1),
        "nodes_per_s": stats["nodes"] / cpu,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=12)
    parser.add_argument("--ratios", default="6,7")
    parser.add_argument("--seeds", type=int, default=5)
    args = parser.parse_args()
    print("| m | seed | outcome | LP | CPU s | nodes | LPs | pivots/LP | nodes/CPU s |")
    print("|---|---|---|---|---|---|---|---|---|")
    speed = {False: [], True: []}
    for ratio in [int(v) for v in args.ratios.split(",")]:
        m = ratio * args.n
        for seed in range(args.seeds):
            for warm in (False, True):
                r = run(args.n, m, seed, warm)
                speed[warm].append(r["nodes_per_s"])
                print(
                    f"| {m} | {seed} | {r['outcome']} | {'warm' if warm else 'cold'} "
                    f"| {r['cpu']:.2f} | {r['nodes']} | {r['lps']} | {r['pivots_per_lp']:.1f} "
                    f"| {r['nodes_per_s']:.0f} |"
                )
    cold, warm = statistics.median(speed[False]), statistics.median(speed[True])
    print(f"\nmedian nodes per CPU second: cold {cold:.0f}, warm {warm:.0f} ({warm / cold:.2f}x)")


if __name__ == "__main__":
    main()
