"""Benchmark of the sweep machinery: overhead per trial and parallel throughput.

Usage::

    python experiments/bench_sweep.py [--trials 400] [--busy 40] [--seconds 0.3] \\
        [--out results/sweep]

1. *Overhead per trial beyond the solver*: a trial function that returns at once
   (``noop_trial``) run through the runner and the SQLite store (one committed row per
   trial). Measured in this process (``--workers 0``) and through the process pool with 1
   and 2 workers, in steady state: from the ``finished_at`` stamps of the rows, leaving
   out worker start-up (spawn + import of torch, reported separately). Target < 5 ms.
2. *Throughput* on 1 and 2 pool workers for solver-bound trials: ``busy_trial`` holds one
   core for ``--seconds`` of CPU time per trial (a stand-in for a one-layer check). Target:
   2 workers >= 1.8x the trials/s of 1 worker, in steady state.

The machine (CPU model, cores, load average) is written next to the numbers: on a shared
machine other jobs take cores and lower the speed-up.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from datetime import datetime

from machine import cpu_model  # experiments/machine.py

from injcheck.sweep import Store, SweepSpec, run_sweep


def stamps(store_path: str, spec: SweepSpec) -> tuple[list[float], list[float]]:
    """Sorted finish times (s since epoch) and the trials' own run times."""
    with Store(store_path) as store:
        rows = store.rows(spec.spec_hash)
    finished = sorted(datetime.fromisoformat(r["finished_at"]).timestamp() for r in rows)
    return finished, [r["trial_time"] or 0.0 for r in rows]


def measure(spec: SweepSpec, workers: int, tmp: str, skip: int) -> dict:
    """Run ``spec`` into a fresh store; steady-state rate from the finish stamps."""
    path = os.path.join(tmp, f"bench_{spec.spec_hash}_{workers}.sqlite")
    start = time.time()
    res = run_sweep(spec, path, workers=workers, progress=False)
    end = time.time()
    finished, trial_times = stamps(path, spec)
    # Skip the first trials (workers still starting, caches cold).
    k = min(skip, len(finished) - 2)
    steady = (len(finished) - 1 - k) / (finished[-1] - finished[k])
    return {
        "workers": workers,
        "trials": res.ran,
        "elapsed_s": end - start,
        "startup_s": finished[0] - start,
        "steady_trials_per_s": steady,
        "end_to_end_trials_per_s": res.ran / (end - start),
        "mean_trial_time_s": sum(trial_times) / len(trial_times),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=400, help="no-op trials per overhead run")
    parser.add_argument("--busy", type=int, default=40, help="CPU-bound trials per throughput run")
    parser.add_argument("--seconds", type=float, default=0.3, help="CPU seconds per busy trial")
    parser.add_argument("--out", default="results/sweep", help="output directory")
    args = parser.parse_args(argv)

    machine = {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "loadavg_before": os.getloadavg() if hasattr(os, "getloadavg") else None,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "date": time.strftime("%Y-%m-%d %H:%M:%S"),
    }
    noop = "injcheck.sweep.trials:noop_trial"
    busy = "injcheck.sweep.trials:busy_trial"
    results: dict = {"machine": machine, "overhead": [], "throughput": []}
    with tempfile.TemporaryDirectory() as tmp:
        for seed, workers in enumerate((0, 1, 2)):
            spec = SweepSpec(n=(3,), alpha=(4.0,), trials=args.trials, trial_fn=noop, seed=seed)
            row = measure(spec, workers, tmp, skip=20)
            # Time between finished trials, and that times K: what one worker spends per
            # trial beyond the trial itself (an upper bound when the driver is the bottleneck).
            row["overhead_ms_per_trial"] = 1000.0 / row["steady_trials_per_s"]
            row["overhead_ms_per_worker_trial"] = (
                1000.0 * max(workers, 1) / row["steady_trials_per_s"]
            )
            results["overhead"].append(row)
            print(
                f"overhead workers={workers}: {row['overhead_ms_per_worker_trial']:.3f} ms/trial "
                f"(start-up {row['startup_s']:.2f} s)",
                flush=True,
            )
        options = (("seconds", args.seconds),)
        for workers in (1, 2):
            spec = SweepSpec(
                n=(3,),
                alpha=(4.0,),
                trials=args.busy,
                trial_fn=busy,
                trial_options=options,
                seed=10,
            )
            row = measure(spec, workers, tmp, skip=2 * workers)
            results["throughput"].append(row)
            print(
                f"throughput workers={workers}: {row['steady_trials_per_s']:.3f} trials/s steady, "
                f"{row['end_to_end_trials_per_s']:.3f} end-to-end",
                flush=True,
            )
    one, two = results["throughput"]
    results["speedup_steady"] = two["steady_trials_per_s"] / one["steady_trials_per_s"]
    results["speedup_end_to_end"] = two["end_to_end_trials_per_s"] / one["end_to_end_trials_per_s"]
    machine["loadavg_after"] = os.getloadavg() if hasattr(os, "getloadavg") else None
    print(
        f"speed-up 2 vs 1 worker: {results['speedup_steady']:.2f}x steady, "
        f"{results['speedup_end_to_end']:.2f}x end-to-end"
    )

    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "bench_sweep.json"), "w") as fh:
        json.dump(results, fh, indent=2)
    with open(os.path.join(args.out, "bench_sweep.md"), "w") as fh:
        fh.write(markdown(results, args))
    print(f"wrote {args.out}/bench_sweep.json and bench_sweep.md")
    return 0


def markdown(r: dict, args) -> str:
    m = r["machine"]
    lines = [
        "# Sweep benchmark",
        "",
        f"Command: `python experiments/bench_sweep.py --trials {args.trials} --busy {args.busy} "
        f"--seconds {args.seconds}`",
        "",
        f"Machine: {m['cpu']}, {m['cores']} cores, Python {m['python']}, {m['date']}; "
        f"load average before/after: {_load(m['loadavg_before'])} / {_load(m['loadavg_after'])}",
        "",
        "## Overhead per trial beyond the solver (no-op trial; target < 5 ms)",
        "",
        "| workers | trials | ms between finished trials | ms per trial per worker | "
        "worker start-up (s) |",
        "|---|---|---|---|---|",
    ]
    for row in r["overhead"]:
        w = "0 (in process)" if row["workers"] == 0 else str(row["workers"])
        lines.append(
            f"| {w} | {row['trials']} | {row['overhead_ms_per_trial']:.3f} | "
            f"{row['overhead_ms_per_worker_trial']:.3f} | {row['startup_s']:.2f} |"
        )
    lines += [
        "",
        f"## Throughput, solver-bound trials ({args.seconds} s CPU each; target >= 1.8x)",
        "",
        "| workers | trials | steady trials/s | end-to-end trials/s (incl. start-up) |",
        "|---|---|---|---|",
    ]
    for row in r["throughput"]:
        lines.append(
            f"| {row['workers']} | {row['trials']} | {row['steady_trials_per_s']:.3f} | "
            f"{row['end_to_end_trials_per_s']:.3f} |"
        )
    lines += [
        "",
        f"Speed-up 2 vs 1 worker: **{r['speedup_steady']:.2f}x** steady state, "
        f"{r['speedup_end_to_end']:.2f}x end to end (start-up of a worker: spawn + import torch).",
        "",
    ]
    load = m["loadavg_before"]
    if (
        load is not None
        and m["cores"]
        and max(load[0], (m["loadavg_after"] or load)[0]) > m["cores"]
    ):
        lines += [
            f"**Caveat:** the load average exceeded the {m['cores']} cores during this run (other "
            "jobs on a shared machine), so the workers shared their cores with them: the "
            "speed-up measures that contention, not the runner. Re-run on an idle machine.",
            "",
        ]
    return "\n".join(lines)


def _load(avg) -> str:
    return "n/a" if avg is None else ", ".join(f"{x:.2f}" for x in avg)


if __name__ == "__main__":
    sys.exit(main())
