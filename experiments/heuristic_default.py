"""Which start family ``settings_for`` should use: random starts against staged AMP starts
(one run and ``AMP_STARTS`` runs), full default settings (polishing included), small to
moderate n.

For each (n, alpha), seeded Gaussian layers are searched three ways; the table gives the
counts, the paired differences against random starts (mean, wins, losses), the number of
witnesses (count < n) and the CPU seconds per layer (``time.process_time``, one torch
thread). Writes ``results/large_n/default_choice.md``.

Usage::

    nice -n 10 python experiments/heuristic_default.py                 # n = 20, 40, 100, 250
    python experiments/heuristic_default.py --n 20 --layers 2 --out /tmp/d.md   # seconds
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

import numpy as np

#: (label, overrides of settings_for) of the three configurations.
CONFIGS = [
    ("random starts", {"init": "random"}),
    ("AMP, 1 run", {"init": "amp", "starts": 1}),
    ("AMP, 4 runs", {"init": "amp", "starts": 4}),
]


def layer_seed(n: int, alpha: float, index: int) -> int:
    """Seed from what a layer is (n, alpha, index), never from when it ran."""
    return int(np.random.SeedSequence([n, int(round(alpha * 1000)), index, 7]).generate_state(1)[0])


def measure(n: int, alpha: float, layers: int) -> dict:
    """Counts and CPU seconds per configuration on ``layers`` seeded layers."""
    from injcheck.one_layer.heuristic import search_layer, settings_for

    m = int(round(alpha * n))
    counts = {label: [] for label, _ in CONFIGS}
    cpu = {label: 0.0 for label, _ in CONFIGS}
    for k in range(layers):
        weight = np.random.default_rng(layer_seed(n, alpha, k)).standard_normal((m, n))
        for label, overrides in CONFIGS:
            t0 = time.process_time()
            counts[label].append(search_layer(weight, settings_for(n, m, **overrides)).count)
            cpu[label] += time.process_time() - t0
    return {
        "n": n,
        "alpha": alpha,
        "counts": counts,
        "cpu": {k: v / layers for k, v in cpu.items()},
    }


def table(rows: list[dict]) -> list[str]:
    base = CONFIGS[0][0]
    lines = [
        "| n | alpha | layers | configuration | mean count / n | vs random: mean diff, wins, losses "
        "| witnesses | CPU s / layer |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        n, ref = row["n"], row["counts"][base]
        for label, _ in CONFIGS:
            got = row["counts"][label]
            diff = [a - b for a, b in zip(got, ref)]
            versus = (
                ""
                if label == base
                else f"{statistics.mean(diff):+.2f}, {sum(d < 0 for d in diff)}, "
                f"{sum(d > 0 for d in diff)}"
            )
            lines.append(
                f"| {n} | {row['alpha']} | {len(got)} | {label} | {statistics.mean(got) / n:.3f} "
                f"| {versus} | {sum(c < n for c in got)} | {row['cpu'][label]:.2f} |"
            )
    return lines


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", default="20,40,100,250", help="input sizes (20,40,100,250)")
    parser.add_argument("--alphas", default="5,6", help="alphas (5,6)")
    parser.add_argument(
        "--layers", type=int, default=None, help="layers a point (10; 4 at n >= 250)"
    )
    parser.add_argument("--out", default="results/large_n/default_choice.md")
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    rows = []
    for n in (int(x) for x in args.n.split(",")):
        for alpha in (float(x) for x in args.alphas.split(",")):
            layers = args.layers or (10 if n < 250 else 4)
            rows.append(measure(n, alpha, layers))
            print("\n".join(table(rows[-1:])[2:]), flush=True)
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    text = [
        "# Default start family of `settings_for` (one layer)",
        "",
        f"Command: `python experiments/heuristic_default.py --n {args.n} --alphas {args.alphas}`"
        f" (full default settings, polishing included; one torch thread; load average at the "
        f"end {load}, so CPU seconds, not wall).",
        "",
        *table(rows),
        "",
    ]
    Path(args.out).write_text("\n".join(text))


if __name__ == "__main__":
    main()
