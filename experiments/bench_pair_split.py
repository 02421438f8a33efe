"""Global checks with and without pair splitting, on the same nets in the same run.

Every net is checked twice by ``check_global``: the default route (layer 1, local check,
pair splitting, then the MILP) and the MILP route (``pair_split=False``). Reports
median seconds (time-outs counted at the limit), verdicts, exact proofs and the median
of the per-net time ratios. A second table times the pair search alone, in two forms:
the whole net at once (``prove_by_pair_splitting``) and prefix by prefix
(``prove_layer_by_layer``, what the default route runs after layer 1). Records are
appended to ``pair_split.jsonl`` as they arrive, so an interrupted run keeps them.

    python experiments/bench_pair_split.py --ns 2,3 --alphas 4,5,6 --seeds 4 --time-limit 30
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from concurrent.futures import ProcessPoolExecutor

from bench_deep import warm_up  # experiments/bench_deep.py
from machine import cpu_model


def run_pair(job: tuple[int, list[int], int, float]) -> dict:
    import numpy as np

    from injcheck.budget import Budget
    from injcheck.deep.global_check import check_global
    from injcheck.deep.pair_split import prove_by_pair_splitting, prove_layer_by_layer
    from injcheck.networks import as_layers, random_relu_net

    n, widths, seed, limit = job
    layers = as_layers(random_relu_net(n, widths, seed=seed))
    record = {"n": n, "widths": widths, "seed": seed, "limit": limit}
    for name, flag in (("split", True), ("milp", False)):
        start = time.perf_counter()
        verdict = check_global(layers, time_limit=limit, pair_split=flag)
        record[name] = {
            "status": verdict.status,
            "method": verdict.method,
            "seconds": min(time.perf_counter() - start, limit),
            "exact": bool(verdict.certificate.get("exact", False)),
        }
    lo, hi = -np.ones(n), np.ones(n)
    for name, search in (("whole", prove_by_pair_splitting), ("layered", prove_layer_by_layer)):
        start = time.perf_counter()
        result = search(layers, lo, hi, True, budget=Budget.seconds(limit))
        record[name] = {
            "outcome": result.outcome.value,
            "pairs": result.pairs,
            "seconds": min(time.perf_counter() - start, limit),
        }
    return record


def _counts(rows: list[dict], route: str) -> str:
    """``I/N/U (exact)`` for one route."""
    c = [
        sum(r[route]["status"] == s for r in rows)
        for s in ("injective", "non-injective", "unknown")
    ]
    exact = sum(r[route]["status"] == "injective" and r[route]["exact"] for r in rows)
    return f"{c[0]}/{c[1]}/{c[2]} ({exact})"


def _by_size(records: list[dict]):
    """``(head, rows)`` per net size, in order; ``head`` opens its table row
    (``| n | widths | nets |``)."""
    for key in sorted({(r["n"], tuple(r["widths"])) for r in records}):
        rows = [r for r in records if (r["n"], tuple(r["widths"])) == key]
        yield f"| {key[0]} | {','.join(map(str, key[1]))} | {len(rows)} |", rows


def table(records: list[dict]) -> str:
    lines = [
        "| n | widths | nets | default median s | MILP route median s | median ratio "
        "| default I/N/U (exact) | MILP route I/N/U (exact) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for head, rows in _by_size(records):
        med = {
            route: statistics.median(r[route]["seconds"] for r in rows)
            for route in ("split", "milp")
        }
        ratio = statistics.median(
            r["milp"]["seconds"] / max(r["split"]["seconds"], 1e-3) for r in rows
        )
        lines.append(
            f"{head} {med['split']:.2f} | "
            f"{med['milp']:.2f} | {ratio:.1f}x | {_counts(rows, 'split')} | {_counts(rows, 'milp')} |"
        )
    return "\n".join(lines)


def search_table(records: list[dict]) -> str:
    lines = [
        "| n | widths | nets | whole net: proven, median s, median pairs "
        "| prefix by prefix: proven, median s, median pairs |",
        "|---|---|---|---|---|",
    ]
    for head, rows in _by_size(records):
        cells = []
        for name in ("whole", "layered"):
            proven = sum(r[name]["outcome"] == "proven" for r in rows)
            sec = statistics.median(r[name]["seconds"] for r in rows)
            pairs = statistics.median(r[name]["pairs"] for r in rows)
            cells.append(f"{proven}/{len(rows)}, {sec:.2f}, {pairs:.0f}")
        lines.append(f"{head} " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ns", default="2,3")
    parser.add_argument("--alphas", default="4,5,6")
    parser.add_argument("--depth", type=int, default=2)
    parser.add_argument("--seeds", type=int, default=4)
    parser.add_argument("--time-limit", type=float, default=30.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", default="results/deep")
    args = parser.parse_args()
    jobs = [
        (n, [a * n] * args.depth, seed, args.time_limit)
        for n in map(int, args.ns.split(","))
        for a in map(int, args.alphas.split(","))
        for seed in range(args.seeds)
    ]
    start = time.time()
    os.makedirs(args.out, exist_ok=True)
    log = os.path.join(args.out, "pair_split.jsonl")
    with open(log, "w") as fh, ProcessPoolExecutor(args.workers, initializer=warm_up) as pool:
        records = []
        for rec in pool.map(run_pair, jobs):
            records.append(rec)
            fh.write(json.dumps(rec) + "\n")
            fh.flush()
            print(json.dumps(rec), flush=True)
    text = (
        f"Machine: {os.cpu_count()} cores, {cpu_model()}; {args.workers} nets in parallel, "
        f"HiGHS 1 thread; time limit {args.time_limit:g} s per route; total "
        f"{time.time() - start:.0f} s.\n\nCommand: `python experiments/bench_pair_split.py "
        f"--ns {args.ns} --alphas {args.alphas} --depth {args.depth} --seeds {args.seeds} "
        f"--time-limit {args.time_limit:g}`\n\n" + table(records) + "\n\n"
        "Pair search alone (same nets, same limit; a search that ends unproven is counted "
        "at its time):\n\n" + search_table(records) + "\n"
    )
    with open(os.path.join(args.out, "pair_split.md"), "w") as fh:
        fh.write(text)
    print(text)


if __name__ == "__main__":
    main()
