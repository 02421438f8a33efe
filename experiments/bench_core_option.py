"""Benchmark: one on/off option of the compiled core, same layers, same process.

On the same seeded layers and in the same process, the decision search
``CompiledSearch(W, limit=n - 1)`` runs with the boolean ``CoreOptions`` field ``--option``
off and on, alternating (off first), and prints CPU seconds, nodes, LPs, pivots per LP and
nodes per CPU second, then medians. Options measured so far:

* ``warm_lp``: certificate LPs cold (two-phase tableau) or warm-started (revised simplex
  from the previous LP's basis);
* ``transversal``: the packing alone, or with the transversal bound where the packing
  stops exactly one certificate short;
* ``lp_branch``: branch on the smallest active certificate, or on the LP's when it has
  fewer free rows.

Rows are appended to ``--out`` (JSON lines) when given.

    python experiments/bench_core_option.py --n 12 --ratios 6,7 --seeds 5
    python experiments/bench_core_option.py --option transversal --n 10,12,14 --seeds 3 \\
        --out results/one_layer/transversal.jsonl
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import statistics
import time

from machine import cpu_model

import injcheck
from injcheck.one_layer.compiled import CompiledSearch, CoreOptions


def run(n: int, m: int, seed: int, option: str, on: bool, time_limit: float) -> dict:
    weight = injcheck.random_relu_net(n, [m], seed=seed)[0].weight.detach().numpy()
    options = dataclasses.replace(CoreOptions(), **{option: on})
    deadline = time.perf_counter() + time_limit
    search = CompiledSearch(weight.astype(float), limit=n - 1, options=options, deadline=deadline)
    cpu = time.process_time()
    result = search.run()
    cpu = time.process_time() - cpu
    stats = result.stats
    return {
        "n": n,
        "m": m,
        "seed": seed,
        "option": option,
        "on": on,
        "outcome": result.outcome,
        "cpu": cpu,
        "nodes": stats["nodes"],
        "lps": stats["lps"],
        "pivots_per_lp": stats["pivots"] / max(stats["lps"], 1),
        "nodes_per_s": stats["nodes"] / max(cpu, 1e-9),
        "load": os.getloadavg()[0],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", default="12", help="input sizes, e.g. 10,12")
    parser.add_argument("--ratios", default="6,7")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument(
        "--option", default="warm_lp", choices=["warm_lp", "transversal", "lp_branch"]
    )
    parser.add_argument("--time-limit", type=float, default=900.0, help="seconds per search")
    parser.add_argument("--out", default=None, help="append rows to this JSON-lines file")
    args = parser.parse_args()
    print(f"# {cpu_model()}, load average at start {os.getloadavg()[0]:.2f}")
    print(
        f"| n | m | seed | outcome | {args.option} | CPU s | nodes | LPs | pivots/LP | nodes/CPU s |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    rows = []
    for n in [int(v) for v in args.n.split(",")]:
        for ratio in [int(v) for v in args.ratios.split(",")]:
            for seed in range(args.seeds):
                for on in (False, True):
                    r = run(n, ratio * n, seed, args.option, on, args.time_limit)
                    rows.append(r)
                    if args.out:
                        with open(args.out, "a") as fh:
                            fh.write(json.dumps(r) + "\n")
                    print(
                        f"| {n} | {r['m']} | {seed} | {r['outcome']} | {'on' if on else 'off'} "
                        f"| {r['cpu']:.2f} | {r['nodes']} | {r['lps']} "
                        f"| {r['pivots_per_lp']:.1f} | {r['nodes_per_s']:.0f} |",
                        flush=True,
                    )
    summarise(rows)


def summarise(rows: list[dict]) -> None:
    """Medians per n of the off/on ratios of CPU time and nodes, layers both finished."""
    print("\n| n | layers | median CPU off/on | median nodes off/on | median nodes/CPU s off, on |")
    print("|---|---|---|---|---|")
    for n in sorted({r["n"] for r in rows}):
        pairs = [
            (off, on)
            for off, on in zip(rows[0::2], rows[1::2])
            if off["n"] == n and "timeout" not in (off["outcome"], on["outcome"])
        ]
        if not pairs:
            continue
        cpu = statistics.median(off["cpu"] / on["cpu"] for off, on in pairs)
        nodes = statistics.median(off["nodes"] / on["nodes"] for off, on in pairs)
        speed_off = statistics.median(off["nodes_per_s"] for off, _ in pairs)
        speed_on = statistics.median(on["nodes_per_s"] for _, on in pairs)
        print(f"| {n} | {len(pairs)} | {cpu:.2f} | {nodes:.2f} | {speed_off:.0f}, {speed_on:.0f} |")


if __name__ == "__main__":
    main()
