"""All stats of CompiledSearch on the profile layers (deterministic counts, not timing)."""

import json
import sys

sys.path.insert(0, "/work/main/results/one_layer/profile_2026-12-05")
from bench import layer

from injcheck.one_layer.compiled import CompiledSearch

for key in sys.argv[1:]:
    w = layer(key)
    r = CompiledSearch(w, limit=w.shape[1] - 1).run()
    st = dict(r.stats)
    print(
        json.dumps(
            {
                "key": key,
                "outcome": r.outcome,
                **{
                    k: st[k]
                    for k in (
                        "nodes",
                        "lps",
                        "cold_lps",
                        "pivots",
                        "certificates",
                        "rejected_certificates",
                        "doubtful_nodes",
                        "pruned_by_packing",
                        "pruned_by_transversal",
                    )
                },
            }
        )
    )
