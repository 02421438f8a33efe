"""Where should deep ``method="auto"`` run the heuristic first? (issue 13, size rule)

For random bias-free nets near the local/global transition (widths ``8n`` then
``round(f x 8n)``), the exact checks (``check_deep(method="milp")``, one time limit) and the
heuristic search (``check_heuristic``, default settings) on the same net: status and time.
The rule in ``injcheck.deep.heuristic_check.AUTO_HEURISTIC_ABOVE_N`` is read off where the
exact checks stop deciding and the search finds witnesses they miss (docs/deep_heuristic.md).

    nice -n 10 python experiments/deep_auto_rule.py --seeds 0:4 --out results/deep_auto
    nice -n 10 python experiments/deep_auto_rule.py --seeds 4:10 \
        --only local6d2,local7d2,global3d2,global4d2 --out results/deep_auto
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

#: (mode, n, widths): depth 2 local n = 5-8, depth 3 local n = 4-6, depth 2 global n = 2-6.
CONFIGS = [("local", n, [8 * n, round(0.6 * 8 * n)]) for n in (5, 6, 7, 8)]
CONFIGS += [("local", n, [8 * n, 8 * n, round(0.55 * 8 * n)]) for n in (4, 5, 6)]
CONFIGS += [("global", n, [8 * n, round(0.55 * 8 * n)]) for n in (2, 3, 4, 5, 6)]


def key(mode: str, n: int, widths: list[int]) -> str:
    return f"{mode}{n}d{len(widths)}"


def measure(mode: str, n: int, widths: list[int], seed: int, time_limit: float) -> dict:
    """The exact checks and the search on one seeded net."""
    from injcheck.deep import check_deep
    from injcheck.deep.heuristic_check import check_heuristic
    from injcheck.networks import as_layers, random_relu_net

    layers = as_layers(random_relu_net(n, widths, seed=seed))
    t = time.perf_counter()
    exact = check_deep(layers, mode=mode, method="milp", time_limit=time_limit)
    exact_s = time.perf_counter() - t
    t = time.perf_counter()
    heur = check_heuristic(layers, mode=mode)
    heur_s = time.perf_counter() - t
    return {
        "mode": mode,
        "n": n,
        "widths": widths,
        "seed": seed,
        "time_limit": time_limit,
        "exact": exact.status,
        "exact_s": round(exact_s, 2),
        "heur": heur.status,
        "heur_s": round(heur_s, 2),
        "best": heur.stats["best_counts"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="0:4", help="first:last (exclusive)")
    parser.add_argument("--only", help="comma-separated keys such as local6d2,global4d2")
    parser.add_argument("--time-limit", type=float, default=20.0)
    parser.add_argument("--out", type=Path, default=Path("results/deep_auto"))
    args = parser.parse_args()
    import torch

    torch.set_num_threads(1)
    first, last = (int(v) for v in args.seeds.split(":"))
    keep = None if args.only is None else set(args.only.split(","))
    args.out.mkdir(parents=True, exist_ok=True)
    with open(args.out / "records.jsonl", "a", encoding="utf-8") as fh:
        for mode, n, widths in CONFIGS:
            if keep is not None and key(mode, n, widths) not in keep:
                continue
            for seed in range(first, last):
                rec = measure(mode, n, widths, seed, args.time_limit)
                print(rec, flush=True)
                fh.write(json.dumps(rec) + "\n")
                fh.flush()


if __name__ == "__main__":
    main()
