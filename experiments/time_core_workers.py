"""One layer, the compiled core on the whole tree and split over 1 and 2 workers.

python experiments/time_core_workers.py --n 13 --seed 0
"""

from __future__ import annotations

import argparse
import json
import time

import injcheck
from injcheck.one_layer.compiled import CompiledSearch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=13)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--ratio", type=float, default=7.0)
    args = parser.parse_args()
    n, m = args.n, int(round(args.ratio * args.n))
    weight = injcheck.random_relu_net(n, [m], seed=args.seed)[0].weight.detach().numpy()
    for workers in (None, 1, 2):
        cpu, wall = time.process_time(), time.perf_counter()
        result = CompiledSearch(weight.astype(float), limit=n - 1, workers=workers).run()
        row = {
            "n": n,
            "m": m,
            "seed": args.seed,
            "workers": workers,
            "outcome": result.outcome,
            "nodes": result.stats["nodes"],
            "wall_seconds": round(time.perf_counter() - wall, 2),
            "cpu_seconds": round(time.process_time() - cpu, 2),
        }
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
