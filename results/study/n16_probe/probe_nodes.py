"""Nodes and CPU seconds of the first study trials of n = 16 at the inner widths (probe).

``python probe_nodes.py 99,105 0 6``: widths, first trial, end trial; the decision search
alone (``CompiledSearch``, no heuristic) under the study's 5M-node limit, one JSON line a
trial. Seeds are the study's (``trial_seed(17, "n=16;widths=m", t)``).
"""

import json
import sys
import time

from injcheck import random_relu_net
from injcheck.networks import as_layers
from injcheck.one_layer.compiled import CompiledSearch
from injcheck.sweep.seeds import trial_seed

for m in [int(a) for a in sys.argv[1].split(",")]:
    for t in range(int(sys.argv[2]), int(sys.argv[3])):
        seed = trial_seed(17, f"n=16;widths={m}", t)
        w = as_layers(random_relu_net(16, [m], seed=seed))[0].weight.astype(float)
        t0 = time.process_time()
        r = CompiledSearch(w, limit=15, node_limit=5_000_000).run()
        print(
            json.dumps(
                {
                    "m": m,
                    "trial": t,
                    "outcome": r.outcome,
                    "nodes": r.stats.get("nodes"),
                    "cpu": round(time.process_time() - t0, 1),
                }
            ),
            flush=True,
        )
