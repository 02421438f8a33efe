"""Compare the surrogates and schedules of the heuristic descent on the same layers.

Each configuration searches the same seeded layers (n, alpha) with
:func:`injcheck.one_layer.heuristic.search_cells` (no polishing) and reports the mean
exact count / n. Writes ``results/large_n/families.md``.

Usage::

    python experiments/heuristic_families.py [--n 500] [--alpha 5] [--nets 3]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

#: (label, overrides of SearchSettings(starts=8, steps=1000)).
CONFIGS = [
    ("ramp (default schedule)", {}),
    ("ramp, step 0.3 -> 0.001", {"step_start": 0.3}),
    ("ramp, step 0.1 -> 0.001", {"step_start": 0.1}),
    ("ramp, width 3 -> 0.02", {"width_start": 3.0}),
    ("ramp, width -> 0.05, margin 0.01", {"width_end": 0.05, "margin": 0.01}),
    ("ramp, 16 starts", {"starts": 16}),
    ("ramp, 2000 steps", {"steps": 2000}),
    ("ramp, 4 starts x 3000 steps", {"starts": 4, "steps": 3000}),
    (
        "log(1 + relu/width), width 1 -> 0.01",
        {"surrogate": "log", "width_start": 1.0, "width_end": 0.01},
    ),
    (
        "sigmoid, temperature 0.5 -> 0.005",
        {"surrogate": "sigmoid", "width_start": 0.5, "width_end": 0.005},
    ),
]


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=500)
    parser.add_argument("--alpha", type=float, default=5.0)
    parser.add_argument("--nets", type=int, default=3)
    parser.add_argument("--out", default="results/large_n")
    args = parser.parse_args(argv)
    import torch

    from injcheck.one_layer.heuristic import SearchSettings, search_cells

    torch.set_num_threads(1)
    m = int(round(args.alpha * args.n))
    weights = [np.random.default_rng(s).standard_normal((m, args.n)) for s in range(args.nets)]
    lines = [
        f"# Descent families at n = {args.n}, alpha = {args.alpha} ({args.nets} layers, seeds 0..)",
        "",
        f"Command: `python experiments/heuristic_families.py --n {args.n} --alpha {args.alpha} "
        f"--nets {args.nets}` (one thread, shared 2-core EPYC: times are loaded).",
        "",
        "| configuration | mean count / n | counts | seconds (all layers) |",
        "|---|---|---|---|",
    ]
    for label, overrides in CONFIGS:
        settings = SearchSettings(**{"starts": 8, "steps": 1000, "polish_time": 0.0, **overrides})
        start = time.perf_counter()
        found = search_cells(weights, settings)
        wall = time.perf_counter() - start
        counts = [f.count for f in found]
        lines.append(f"| {label} | {np.mean(counts) / args.n:.4f} | {counts} | {wall:.1f} |")
        print(json.dumps({"config": label, "counts": counts, "seconds": wall}), flush=True)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "families.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
