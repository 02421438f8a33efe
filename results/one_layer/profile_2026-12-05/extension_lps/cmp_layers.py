"""CPU seconds and nodes of the decision search on named study layers (base vs a build)."""

import json
import sys
import time

from injcheck import random_relu_net
from injcheck.networks import as_layers
from injcheck.one_layer.compiled import CompiledSearch

LAYERS = {
    "14n1": (14, 76, 554377577890595456),
    "14n2": (14, 85, 8367806877118948141),
    "14n3": (14, 73, 9102383075884739680),
    "16a": (16, 101, 16),
    "16b": (16, 104, 17),
}
for key in sys.argv[1:]:
    n, m, seed = LAYERS[key]
    w = as_layers(random_relu_net(n, [m], seed=seed))[0].weight.astype(float)
    t = time.process_time()
    r = CompiledSearch(w, limit=n - 1).run()
    print(
        json.dumps(
            {
                "key": key,
                "outcome": r.outcome,
                "s": round(time.process_time() - t, 2),
                "nodes": r.stats.get("nodes"),
            }
        ),
        flush=True,
    )
