import json
import sys

from bench import layer

from injcheck.one_layer.compiled import CompiledSearch

for key in sys.argv[1:]:
    w = layer(key)
    n = w.shape[1]
    res = CompiledSearch(w, limit=n - 1).run()
    s = res.stats
    print(
        json.dumps(
            {
                "key": key,
                "outcome": res.outcome,
                **{
                    k: s.get(k)
                    for k in (
                        "nodes",
                        "lps",
                        "pivots",
                        "phase1_pivots",
                        "phase2_pivots",
                        "certificates",
                        "duplicate_certificates",
                        "lps_empty_act",
                        "lps_branch",
                        "lps_branch_better",
                        "act_sum",
                        "lps_packing_ext",
                        "lps_transversal",
                        "packing_ext_calls",
                        "packing_ext_nocert",
                        "pruned_by_packing",
                        "pruned_by_transversal",
                        "search_time",
                    )
                    + tuple(
                        f"ext_{a}_{d}"
                        for d in range(3)
                        for a in ("calls", "lps", "prunes", "pivots")
                    )
                },
            }
        ),
        flush=True,
    )
