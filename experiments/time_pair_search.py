"""Time the prefix-by-prefix pair search alone (what the global check runs after layer 1).

Prints one JSON line per net whose layer 1 the Gordan search proves injective. To
compare two versions of injcheck on the same nets, run it once per checkout::

    git worktree add /tmp/injcheck_old <commit>
    PYTHONPATH=/tmp/injcheck_old python experiments/time_pair_search.py --tag old
    PYTHONPATH=. python experiments/time_pair_search.py --tag new

``--max-rays`` overrides ``injcheck.deep.difference_cone.MAX_RAYS`` (for tuning it).
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

import injcheck
from injcheck.budget import Budget
from injcheck.deep.first_layer import global_first_layer
from injcheck.deep.pair_split import prove_layer_by_layer
from injcheck.networks import as_layers, random_relu_net


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="3:15,3:18", help="n:width pairs (2 layers)")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--time-limit", type=float, default=40.0)
    parser.add_argument("--tag", default="")
    parser.add_argument("--max-rays", type=int, default=None)
    args = parser.parse_args()
    if args.max_rays is not None:
        from injcheck.deep import difference_cone

        difference_cone.MAX_RAYS = args.max_rays
    for size in args.sizes.split(","):
        n, width = map(int, size.split(":"))
        for seed in range(args.seeds):
            layers = as_layers(random_relu_net(n, [width, width], seed=seed))
            if global_first_layer(layers, Budget.unlimited())[0] != "proven":
                continue
            start = time.perf_counter()
            result = prove_layer_by_layer(
                layers,
                -np.ones(n),
                np.ones(n),
                True,
                first=2,
                budget=Budget.seconds(args.time_limit),
            )
            seconds = min(time.perf_counter() - start, args.time_limit)
            record = {"tag": args.tag, "injcheck": injcheck.__file__, "max_rays": args.max_rays}
            record |= {"n": n, "widths": [width] * 2}
            record |= {"seed": seed, "outcome": result.outcome.value, "pairs": result.pairs}
            print(json.dumps(record | {"seconds": round(seconds, 2)}), flush=True)


if __name__ == "__main__":
    main()
