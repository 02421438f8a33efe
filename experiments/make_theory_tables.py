"""Generate the shipped theory table ``injcheck/data/theory_tables.json``.

``e*(alpha)`` for RS, 1RSB and full RSB on ``alpha = 1, 1 + step, ..., 12`` and the three
capacities, all from :mod:`injcheck.theory` (:func:`injcheck.theory.tables.build_table`).
The sweep plots read this file instead of solving the k-RSB equations on the fly.

    python experiments/make_theory_tables.py [--alpha-min 1] [--alpha-max 12] [--step 0.05]

The shipped table took 1599 s (27 min) on the shared 2-core machine under a load of about 7
(a full-RSB point costs ~3.5 s on a free core; 1RSB and RS are far cheaper). The k-RSB levels go
through the theory cache ($INJCHECK_CACHE_DIR), so an interrupted run resumes. Regenerate
whenever :data:`injcheck.theory.cache.CODE_VERSION` changes (a test checks the table's
version).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from injcheck.theory.tables import DEFAULT_PATH, build_table, write_table


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--alpha-min", type=float, default=1.0)
    ap.add_argument("--alpha-max", type=float, default=12.0)
    ap.add_argument("--step", type=float, default=0.05)
    ap.add_argument("--out", default=str(DEFAULT_PATH))
    args = ap.parse_args()
    count = int(round((args.alpha_max - args.alpha_min) / args.step)) + 1
    # Rounded so that grid points are exact decimals (and hit the same cache keys each run).
    alphas = np.round(args.alpha_min + args.step * np.arange(count), 10)
    start = time.perf_counter()
    table = build_table(alphas, progress=lambda line: print(line, flush=True))
    path = write_table(table, args.out)
    failed = len(table["failures"])
    print(
        f"wrote {path}: {count} alphas, {failed} failed points, {time.perf_counter() - start:.0f} s"
    )


if __name__ == "__main__":
    main()
