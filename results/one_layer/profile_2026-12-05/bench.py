"""Run the study's decision search on chosen layers; print time and stats as JSON lines."""

import json
import sys
import time

import injcheck.one_layer._cellsearch as cs

from injcheck import random_relu_net
from injcheck.networks import as_layers
from injcheck.one_layer.compiled import CompiledSearch

LAYERS = {
    "14a": (14, 88, 7664720095670961669),
    "14b": (14, 88, 7969312232219444360),
    "14c": (14, 91, 5297052707697778773),
    "15a": (15, 99, 9028390781454040863),
}


def layer(key):
    n, m, seed = LAYERS[key]
    return as_layers(random_relu_net(n, [m], seed=seed))[0].weight.astype(float)


if __name__ == "__main__":
    for key in sys.argv[1:]:
        w = layer(key)
        n = w.shape[1]
        t = time.perf_counter()
        res = CompiledSearch(w, limit=n - 1).run()
        dt = time.perf_counter() - t
        st = dict(res.stats) if hasattr(res, "stats") else {}
        print(
            json.dumps(
                {
                    "key": key,
                    "so": cs.__file__,
                    "status": res.outcome,
                    "wall": dt,
                    **{
                        k: st.get(k)
                        for k in (
                            "nodes",
                            "lps",
                            "pivots",
                            "certificates",
                            "pruned_by_packing",
                            "pruned_by_transversal",
                            "transversal_nodes",
                            "search_time",
                        )
                    },
                }
            ),
            flush=True,
        )
