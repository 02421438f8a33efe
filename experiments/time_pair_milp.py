"""Time the global pair MILP alone at several separations (is the margin what is hard?).

The global check's MILP demands ``|x_j - y_j| >= separation * width`` for some ``j``;
the closer pairs are left to a box cover. A larger separation makes the MILP's
relaxation stronger (and the cover's job harder). This runs the MILP alone (layer-1
count cuts on, as the global check does once layer 1 is proven) on 2-layer nets
whose first layer is injective, one line of JSON per (net, separation)::

    python experiments/time_pair_milp.py --n 5 --width 30 --seeds 0 \\
        --separations 1e-4,1e-2,5e-2,2e-1 --time-limit 60
"""

from __future__ import annotations

import argparse
import json

import numpy as np

from injcheck.budget import Budget
from injcheck.deep.bounds import compute_bounds
from injcheck.deep.first_layer import global_first_layer
from injcheck.deep.global_check import build_global
from injcheck.networks import as_layers, random_relu_net
from injcheck.solvers import solve_highs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=5)
    parser.add_argument("--width", type=int, default=30)
    parser.add_argument("--seeds", default="0")
    parser.add_argument("--separations", default="1e-4,1e-2,5e-2,2e-1")
    parser.add_argument("--time-limit", type=float, default=60.0)
    args = parser.parse_args()
    n = args.n
    for seed in map(int, args.seeds.split(",")):
        layers = as_layers(random_relu_net(n, [args.width] * 2, seed=seed))
        if global_first_layer(layers, Budget.unlimited())[0] != "proven":
            print(json.dumps({"seed": seed, "skipped": "layer 1 not proven injective"}))
            continue
        bounds = compute_bounds(layers, -np.ones(n), np.ones(n))
        for separation in map(float, args.separations.split(",")):
            problem = build_global(layers, bounds, separation, count_cuts=[1])
            result = solve_highs(
                problem.problem,
                time_limit=args.time_limit,
                options={"mip_rel_gap": 0.5, "mip_abs_gap": 0.0},  # as the global check
            )
            record = {"n": n, "widths": [args.width] * 2, "seed": seed}
            record |= {"separation": separation, "outcome": result.outcome}
            print(json.dumps(record | {"seconds": round(result.wall_time, 2)}), flush=True)


if __name__ == "__main__":
    main()
