"""Does the core's exact hitting-set bound pay? Same layers, same process, CPU seconds.

Runs the compiled decision search (``CompiledSearch``, limit n - 1) on seeded layers
with m = 7n under several ``CoreOptions`` and prints one JSON row per run, then a
markdown table of medians.

    python experiments/probe_hitting_set.py --n 11 --seeds 3
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import injcheck
from injcheck.one_layer.compiled import CompiledSearch, CoreOptions

CONFIGS = {
    "packing only (default)": CoreOptions(),
    "hitting set, room <= 4, budget 500": CoreOptions(
        hs_room=4, hs_budget=500, hs_rounds=3, hs_family=64
    ),
    "hitting set, room <= 5, budget 3000": CoreOptions(
        hs_room=5, hs_budget=3000, hs_rounds=5, hs_family=64
    ),
    "hitting set, room <= 6, budget 20000": CoreOptions(
        hs_room=6, hs_budget=20000, hs_rounds=10, hs_family=128
    ),
    "no cap on inherited certificates": CoreOptions(act_cap=1 << 30),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=11)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--ratio", type=float, default=7.0)
    args = parser.parse_args()
    n, m = args.n, int(round(args.ratio * args.n))
    rows = []
    for seed in range(args.seeds):
        weight = injcheck.random_relu_net(n, [m], seed=seed)[0].weight.detach().numpy()
        for name, options in CONFIGS.items():
            cpu = time.process_time()
            result = CompiledSearch(weight.astype(float), limit=n - 1, options=options).run()
            row = {
                "n": n,
                "m": m,
                "seed": seed,
                "config": name,
                "outcome": result.outcome,
                "cpu_seconds": time.process_time() - cpu,
                "nodes": result.stats["nodes"],
                "lps": result.stats["lps"],
                "hitting_set_nodes": result.stats["hitting_set_nodes"],
            }
            rows.append(row)
            print(json.dumps(row), flush=True)
    print("\n| bound | median nodes | median LPs | median hitting-set nodes | median CPU s |")
    print("|---|---|---|---|---|")
    for name in CONFIGS:
        sub = [r for r in rows if r["config"] == name]
        med = {
            k: statistics.median(r[k] for r in sub)
            for k in sub[0]
            if k not in ("config", "outcome")
        }
        print(
            f"| {name} | {med['nodes']:.0f} | {med['lps']:.0f} | {med['hitting_set_nodes']:.0f} "
            f"| {med['cpu_seconds']:.2f} |"
        )


if __name__ == "__main__":
    main()
