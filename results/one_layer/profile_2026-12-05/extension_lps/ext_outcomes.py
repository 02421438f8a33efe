"""Outcomes of CompiledSearch(w, limit=n-1) on 45 random layers (n 8..12, m 5n/6n/7n, seeds 0..2).

Usage: PYTHONPATH=<build> python ext_outcomes.py compiled   (one JSON line per layer)
       PYTHONPATH=<build> python ext_outcomes.py gordan     (pure Python, n <= 10)
"""

import json
import sys
import time

import numpy as np


def layers(max_n=12):
    for n in range(8, max_n + 1):
        for m in (5 * n, 6 * n, 7 * n):
            for s in range(3):
                yield n, m, s, np.random.default_rng([n, m, s]).standard_normal((m, n))


if __name__ == "__main__":
    mode = sys.argv[1]
    if mode == "compiled":
        import injcheck.one_layer._cellsearch as cs

        from injcheck.one_layer.compiled import CompiledSearch

        for n, m, s, w in layers():
            t = time.perf_counter()
            r = CompiledSearch(w, limit=n - 1).run()
            print(
                json.dumps(
                    {
                        "so": cs.__file__,
                        "n": n,
                        "m": m,
                        "s": s,
                        "outcome": r.outcome,
                        "nodes": r.stats["nodes"],
                        "lps": r.stats["lps"],
                        "time": round(time.perf_counter() - t, 3),
                    }
                ),
                flush=True,
            )
    else:
        from injcheck.one_layer.gordan import GordanSearch

        for n, m, s, w in layers(10):
            t = time.perf_counter()
            r = GordanSearch(w, limit=n - 1, deadline=time.perf_counter() + 150).run()
            print(
                json.dumps(
                    {
                        "n": n,
                        "m": m,
                        "s": s,
                        "outcome": r.outcome,
                        "time": round(time.perf_counter() - t, 3),
                    }
                ),
                flush=True,
            )
