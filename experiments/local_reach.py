"""How far the exact local check reaches: depth-2 nets, first layer 8n, second ``--ratio`` n.

One JSON line per net (status, CPU seconds, boxes of the facet split), for the table in
docs/deep.md ("How far the exact local check reaches")::

    python experiments/local_reach.py --n 6,7 --seeds 3 --time-limit 300
    python experiments/local_reach.py --n 8 --seeds 1 --time-limit 900
"""

from __future__ import annotations

import argparse
import json
import time

import injcheck


def measure(n: int, ratio: float, seed: int, time_limit: float) -> dict:
    """One exact local check (the deep pipeline alone: no heuristic stage)."""
    widths = [8 * n, round(ratio * n)]
    net = injcheck.random_relu_net(n, widths, seed=seed)
    cpu, wall = time.process_time(), time.perf_counter()
    v = injcheck.check(net, mode="local", method="milp", time_limit=time_limit)
    split = (v.stats or {}).get("search", {}).get("split", {})
    return {
        "n": n,
        "widths": widths,
        "seed": seed,
        "status": v.status,
        "exact": bool((v.certificate or {}).get("exact")),
        "cpu_s": round(time.process_time() - cpu, 2),
        "wall_s": round(time.perf_counter() - wall, 2),
        "boxes": split.get("boxes"),
        "leaves": split.get("leaves"),
        "message": v.message,
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", default="6,7", help="input sizes, comma-separated")
    ap.add_argument("--ratio", type=float, default=6.0, help="second layer width / n")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--time-limit", type=float, default=300.0)
    args = ap.parse_args(argv)
    for n in (int(v) for v in args.n.split(",")):
        for seed in range(args.seeds):
            print(json.dumps(measure(n, args.ratio, seed, args.time_limit)), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
