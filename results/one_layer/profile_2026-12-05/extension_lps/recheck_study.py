"""Re-decide a seeded sample of stored study trials with the current build; compare verdicts.

Run from the repository root: ``python <this file> 10,11,12,13,14 30`` (sizes, trials a
size, drawn from alpha 5.6-6.8). Exit status 1 on any disagreement.
"""

import sys
import time

import numpy as np

sys.path.insert(0, "experiments")
import study_common as sc  # noqa: E402

from injcheck import check, random_relu_net  # noqa: E402

rows, _ = sc.load_study_rows(sc.STORE, sc.STUDY_SETTINGS)
ns, k = [int(a) for a in sys.argv[1].split(",")], int(sys.argv[2])
bad = 0
for n in ns:
    pool = sorted(
        (r for r in rows if r["n"] == n and r["status"] != "unknown"
         and 5.6 <= r["widths"][0] / n <= 6.8),
        key=lambda r: (r["point_key"], r["trial"]),
    )  # fmt: skip
    pick = np.random.default_rng([99, n]).choice(len(pool), size=min(k, len(pool)), replace=False)
    t0 = time.process_time()
    agree, statuses = 0, {}
    for i in sorted(pick):
        r = pool[i]
        v = check(random_relu_net(n, list(r["widths"]), seed=r["seed"]), time_limit=600)
        agree += v.status == r["status"]
        statuses[r["status"]] = statuses.get(r["status"], 0) + 1
        if v.status != r["status"]:
            bad += 1
            print("DISAGREE", n, r["point_key"], r["trial"], r["status"], v.status, flush=True)
    cpu = time.process_time() - t0
    print(f"n={n}: {agree}/{len(pick)} agree {statuses}, {cpu:.0f} CPU s", flush=True)
sys.exit(1 if bad else 0)
