"""Benchmark of the deep MILP checks (global and local) on random bias-free ReLU nets.

Grid: depth 2 and 3, n = 3..6, every layer of width ``alpha * n`` (so the first layer
has expansion alpha and the later ones 1), plus the target point n = 5, widths (30, 30).
Each trial runs in its own process with a time limit; a time-out counts at the limit
in the median (so a median equal to the limit means "mostly undecided").

Usage::

    python experiments/bench_deep.py --seeds 2 --time-limit 15 --workers 2 \
        --out results/deep
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from concurrent.futures import ProcessPoolExecutor

from machine import cpu_model  # experiments/machine.py


def grid(alphas, ns, depths, seeds):
    for depth in depths:
        for n in ns:
            for alpha in alphas:
                for seed in range(seeds):
                    yield {"n": n, "widths": [alpha * n] * depth, "alpha": alpha, "seed": seed}


def warm_up() -> None:
    """Import cvxpy and the checks once per worker, so no trial pays the import."""
    import cvxpy  # noqa: F401

    from injcheck.deep import check_deep
    from injcheck.networks import as_layers, random_relu_net

    tiny = as_layers(random_relu_net(2, [8, 8], seed=0))
    for mode in ("global", "local"):  # first HiGHS instance, lazy imports
        check_deep(tiny, mode=mode, time_limit=10)


def run_trial(point: dict, mode: str, time_limit: float) -> dict:
    """One check; a flat record (status, seconds, binaries)."""
    from injcheck.deep import check_deep
    from injcheck.networks import as_layers, random_relu_net

    layers = as_layers(random_relu_net(point["n"], point["widths"], seed=point["seed"]))
    start = time.perf_counter()
    verdict = check_deep(layers, mode=mode, time_limit=time_limit)
    return {
        **point,
        "mode": mode,
        "status": verdict.status,
        "layer": verdict.layer,
        "seconds": time.perf_counter() - start,
        "binaries": verdict.stats.get("binaries"),
        "method": verdict.method,
        "exact": bool(verdict.certificate.get("exact", False)),
        "time_limit": time_limit,
    }


def table(records: list[dict]) -> str:
    """Markdown table: one row per (n, widths, mode, time limit)."""
    keys = sorted(
        {(r["n"], tuple(r["widths"]), r["mode"], r["time_limit"]) for r in records},
        key=lambda k: (len(k[1]), k[3], k[0], k[1], k[2]),
    )
    lines = [
        "| n | widths | mode | limit s | median s | max s | injective | non-injective | unknown "
        "| exact proofs | decided by | binaries |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for key in keys:
        n, widths, mode, limit = key
        rows = [
            r for r in records if (r["n"], tuple(r["widths"]), r["mode"], r["time_limit"]) == key
        ]
        med = statistics.median(min(r["seconds"], limit) for r in rows)
        top = max(min(r["seconds"], limit) for r in rows)
        methods = sorted({r.get("method", "milp") for r in rows if r["status"] != "unknown"})
        count = {
            s: sum(r["status"] == s for r in rows)
            for s in ("injective", "non-injective", "unknown")
        }
        exact = sum(r["status"] == "injective" and r.get("exact", False) for r in rows)
        lines.append(
            f"| {n} | {','.join(map(str, widths))} | {mode} | {limit:g} | {med:.2f} | {top:.2f} | "
            f"{count['injective']} | {count['non-injective']} | {count['unknown']} | "
            f"{exact}/{count['injective']} | {', '.join(methods) or '-'} | {rows[0]['binaries']} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--time-limit", type=float, default=15.0)
    parser.add_argument("--target-time-limit", type=float, default=60.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--alphas", default="3,6")
    parser.add_argument("--ns", default="3,4,5,6")
    parser.add_argument("--depths", default="2,3")
    parser.add_argument("--out", default="results/deep")
    parser.add_argument("--target-seeds", type=int, default=3)
    parser.add_argument("--note", default="", help="free text for the header (machine load)")
    args = parser.parse_args()
    alphas = [int(a) for a in args.alphas.split(",")]
    ns = [int(a) for a in args.ns.split(",")]
    depths = [int(a) for a in args.depths.split(",")]
    jobs = [
        (p, m, args.time_limit)
        for p in grid(alphas, ns, depths, args.seeds)
        for m in ("global", "local")
    ]
    jobs += [
        ({"n": 5, "widths": [30, 30], "alpha": 6, "seed": s}, m, args.target_time_limit)
        for s in range(args.target_seeds)
        for m in ("global", "local")
    ]
    os.makedirs(args.out, exist_ok=True)
    records = []
    start = time.time()
    with (
        ProcessPoolExecutor(args.workers, initializer=warm_up) as pool,
        open(os.path.join(args.out, "bench.jsonl"), "w") as log,
    ):
        for rec in pool.map(run_trial, *zip(*jobs, strict=True)):
            records.append(rec)
            log.write(json.dumps(rec) + "\n")
            log.flush()
            print(json.dumps(rec), flush=True)
    header = (
        f"Machine: {os.cpu_count()} cores, {cpu_model()}; {args.workers} trials in parallel, "
        f"HiGHS 1 thread each; time limit {args.time_limit:g} s "
        f"({args.target_time_limit:g} s for n=5, widths 30,30); {args.seeds} seeds per grid point "
        f"({args.target_seeds} for the target); total {time.time() - start:.0f} s. {args.note}\n\n"
        "Command: `python experiments/bench_deep.py "
        f"--seeds {args.seeds} --time-limit {args.time_limit:g} --workers {args.workers} "
        f"--alphas {args.alphas} --ns {args.ns} --depths {args.depths} "
        f"--target-seeds {args.target_seeds}`\n\n"
    )
    text = header + table(records) + "\n"
    with open(os.path.join(args.out, "bench.md"), "w") as fh:
        fh.write(text)
    print(text)


if __name__ == "__main__":
    main()
