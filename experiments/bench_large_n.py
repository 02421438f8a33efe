"""Benchmark the targets of issue 13 with ``method="heuristic"`` on one CPU core.

* n = 1000, alpha = 5: wall time to a verified witness and the best count against
  e*_FRSB(5) n (several seeds);
* n = 400, alpha = 6: how many of 10 seeded layers get a witness within 60 s each.

Each layer goes through :func:`injcheck.check` (search, exact cell signs, float check),
exactly as a user would call it. Writes ``results/large_n/bench.jsonl`` (one record per
layer, appended as it finishes) and ``bench.md``.

Usage::

    python experiments/bench_large_n.py [--seeds-1000 3] [--seeds-400 10]
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np


def one(n: int, alpha: float, seed: int, time_limit: float) -> dict:
    import injcheck

    weight = np.random.default_rng(seed).standard_normal((int(round(alpha * n)), n))
    start = time.perf_counter()
    verdict = injcheck.check(weight, method="heuristic", time_limit=time_limit)
    wall = time.perf_counter() - start
    cert = verdict.certificate
    return {
        "n": n,
        "alpha": alpha,
        "seed": seed,
        "status": verdict.status,
        "count": cert.get("heuristic_count"),
        "count_over_n": cert.get("heuristic_count") / n,
        "wall_s": wall,
        "search_s": verdict.stats.get("search_time"),
        "steps": verdict.stats.get("steps_run"),
        "starts": verdict.stats.get("starts"),
        "exact_check": (verdict.verification or {}).get("exact_check"),
    }


def _machine() -> str:
    """CPU model, cores and load average at the end of the run."""
    model = "unknown CPU"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        names = [ln.split(":", 1)[1].strip() for ln in cpuinfo.read_text().splitlines()
                 if ln.startswith("model name")]  # fmt: skip
        model = names[0] if names else model
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return f"{model}, {os.cpu_count()} cores, load average {load}"


def table(records: list[dict], e_frsb: dict) -> str:
    lines = [
        "| n | alpha | seed | status | count | count / n | count / (e*_FRSB n) | wall s |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in records:
        ratio = r["count_over_n"] / e_frsb[r["alpha"]]
        lines.append(
            f"| {r['n']} | {r['alpha']} | {r['seed']} | {r['status']} | {r['count']} | "
            f"{r['count_over_n']:.3f} | {ratio:.3f} | {r['wall_s']:.1f} |"
        )
    return "\n".join(lines)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds-1000", type=int, default=3)
    parser.add_argument("--seeds-400", type=int, default=10)
    parser.add_argument("--out", default="results/large_n")
    args = parser.parse_args(argv)
    import torch

    from injcheck import theory

    torch.set_num_threads(1)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    jsonl = out / "bench.jsonl"
    jsonl.write_text("")
    plan = [(1000, 5.0, s, 600.0) for s in range(args.seeds_1000)]
    plan += [(400, 6.0, s, 60.0) for s in range(args.seeds_400)]
    records = []
    for n, alpha, seed, limit in plan:
        rec = one(n, alpha, seed, limit)
        records.append(rec)
        with jsonl.open("a") as fh:
            fh.write(json.dumps(rec) + "\n")
        print(rec, flush=True)
    e_frsb = {a: theory.ground_state(a, "frsb") for a in {r["alpha"] for r in records}}
    lines = [
        "# Heuristic witness search: benchmark of the issue-13 targets",
        "",
        "Command: `python experiments/bench_large_n.py` (torch on one thread, default settings",
        f"of `method='heuristic'`; {_machine()}; a shared machine, so wall times depend on",
        "the load). No GPU: not measured.",
        "",
        table(records, e_frsb),
        "",
    ]
    for n, alpha in sorted({(r["n"], r["alpha"]) for r in records}):
        group = [r for r in records if (r["n"], r["alpha"]) == (n, alpha)]
        found = [r for r in group if r["status"] == "non-injective"]
        lines.append(
            f"* n = {n}, alpha = {alpha}: {len(found)}/{len(group)} verified witnesses; median "
            f"wall {np.median([r['wall_s'] for r in group]):.1f} s; mean count / n "
            f"{np.mean([r['count_over_n'] for r in group]):.3f} (e*_FRSB = {e_frsb[alpha]:.3f})"
        )
    (out / "bench.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
