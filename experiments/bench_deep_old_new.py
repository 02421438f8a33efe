"""The deep checks before and after a change, on the same nets, in one run (issue 14).

Two long-lived worker processes import injcheck from two source trees (``--old``, a
checkout of the earlier commit with its extension built, and ``--new``, this tree) and
take the same jobs in turn, old and new alternating which goes first, so that a drift
in machine load hits both alike. Each job is one random bias-free net
(``random_relu_net(n, widths, seed)``) and one of:

* ``global`` / ``local``: ``check_deep(layers, mode=..., time_limit=...)``: status,
  method, seconds, whether the proof is exact, and the work counters (pairs of the pair
  splitting, boxes of the input splitting);
* ``pairs``: the pair search alone, prefix by prefix (``prove_layer_by_layer`` from the
  first layer not proven by the Gordan check): outcome, pairs, seconds.

Commands::

    git worktree add /tmp/old_main <commit> && (cd /tmp/old_main && python setup.py build_ext --inplace)
    nice -n 5 python experiments/bench_deep_old_new.py --old /tmp/old_main \\
        --out results/deep/old_new

Writes ``<out>.jsonl`` (one row per job and tree, appended as they come) and ``<out>.md``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

#: Runs in each worker: reads one job per line on stdin, writes one result per line.
WORKER = r"""
import inspect, json, sys, time
sys.path.insert(0, sys.argv[1])
import numpy as np
import injcheck
assert injcheck.__file__.startswith(sys.argv[1]), injcheck.__file__
from injcheck.deep import check_deep
from injcheck.deep.first_layer import global_first_layer
from injcheck.deep.pair_split import prove_layer_by_layer
from injcheck.networks import as_layers, random_relu_net

def pairs(layers, n, limit):
    unlimited = None
    if "budget" in inspect.signature(global_first_layer).parameters:
        from injcheck.budget import Budget
        unlimited = Budget.unlimited()
    first = 2 if global_first_layer(layers, unlimited)[0] == "proven" else 1
    kwargs = {}
    if "budget" in inspect.signature(prove_layer_by_layer).parameters:
        from injcheck.budget import Budget
        kwargs["budget"] = Budget.seconds(limit)
    else:
        kwargs["deadline"] = time.perf_counter() + limit
    start = time.perf_counter()
    result = prove_layer_by_layer(layers, -np.ones(n), np.ones(n), True, first=first, **kwargs)
    seconds = time.perf_counter() - start
    outcome = getattr(result.outcome, "value", result.outcome)
    return {"status": outcome, "pairs": result.pairs, "seconds": seconds}

def check(layers, mode, limit):
    start = time.perf_counter()
    verdict = check_deep(layers, mode=mode, time_limit=limit)
    seconds = time.perf_counter() - start
    stats = verdict.stats
    return {
        "status": verdict.status, "method": verdict.method, "seconds": seconds,
        "exact": bool(verdict.certificate.get("exact", False)),
        "pairs": stats.get("pair_split", {}).get("pairs"),
        "boxes": stats.get("search", {}).get("split", {}).get("boxes"),
    }

print("ready", flush=True)
for line in sys.stdin:
    job = json.loads(line)
    layers = as_layers(random_relu_net(job["n"], job["widths"], seed=job["seed"]))
    if job["task"] == "pairs":
        out = pairs(layers, job["n"], job["limit"])
    else:
        out = check(layers, job["task"], job["limit"])
    print(json.dumps(out), flush=True)
"""


class Worker:
    """One Python process that imports injcheck from ``tree``."""

    def __init__(self, tree: Path):
        self.tree = tree
        self.proc = subprocess.Popen(
            [sys.executable, "-c", WORKER, str(tree)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=tree,
        )
        if self.proc.stdout.readline().strip() != "ready":
            raise RuntimeError(f"the worker for {tree} did not start")

    def run(self, job: dict) -> dict:
        self.proc.stdin.write(json.dumps(job) + "\n")
        self.proc.stdin.flush()
        return json.loads(self.proc.stdout.readline())

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait()


def jobs(args) -> list[dict]:
    """The grid: checks of both modes on every (n, alpha, depth, seed), then the pair
    search alone on small nets."""
    out = []
    for n in args.ns:
        for alpha in args.alphas:
            for depth in args.depths:
                for seed in range(args.seeds):
                    widths = [alpha * n] * depth
                    for task in ("global", "local"):
                        out.append({"n": n, "widths": widths, "seed": seed, "task": task})
    for n in args.pair_ns:
        for alpha in args.alphas:
            for seed in range(args.seeds):
                out.append({"n": n, "widths": [alpha * n] * 2, "seed": seed, "task": "pairs"})
    for job in out:
        job["limit"] = args.time_limit
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--old", type=Path, required=True, help="source tree of the old commit")
    parser.add_argument("--new", type=Path, default=ROOT)
    parser.add_argument("--ns", type=lambda s: [int(v) for v in s.split(",")], default=[3, 4, 5])
    parser.add_argument("--pair-ns", type=lambda s: [int(v) for v in s.split(",")], default=[2, 3])
    parser.add_argument(
        "--alphas", type=lambda s: [int(v) for v in s.split(",")], default=[4, 5, 6]
    )
    parser.add_argument("--depths", type=lambda s: [int(v) for v in s.split(",")], default=[2, 3])
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--time-limit", type=float, default=15.0)
    parser.add_argument("--out", default=str(ROOT / "results" / "deep" / "old_new"))
    args = parser.parse_args()
    sink = Path(args.out + ".jsonl")
    done = set()
    if sink.exists():
        done = {json.dumps(r["job"], sort_keys=True) for r in map(json.loads, sink.open())}
    workers = {"old": Worker(args.old.resolve()), "new": Worker(args.new.resolve())}
    started = time.time()
    with sink.open("a") as out:
        for index, job in enumerate(jobs(args)):
            if json.dumps(job, sort_keys=True) in done:
                continue
            order = ("old", "new") if index % 2 == 0 else ("new", "old")
            row = {"job": job}
            for tree in order:
                row[tree] = workers[tree].run(job)
            out.write(json.dumps(row) + "\n")
            out.flush()
            print(json.dumps(row), flush=True)
    for worker in workers.values():
        worker.close()
    rows = [json.loads(line) for line in sink.open()]
    command = "python experiments/bench_deep_old_new.py " + " ".join(sys.argv[1:])
    Path(args.out + ".md").write_text(table(rows, command, time.time() - started))


def table(rows: list[dict], command: str, seconds: float) -> str:
    """Per job: old and new status, seconds and work; then the summary."""
    lines = [
        "| n | widths | seed | task | old status | new status | old s | new s | new/old s "
        "| old work | new work |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    same, ratios = 0, []
    for r in rows:
        job, old, new = r["job"], r["old"], r["new"]
        work = [o.get("pairs") or o.get("boxes") for o in (old, new)]
        ratio = new["seconds"] / max(old["seconds"], 1e-9)
        decided = old["status"] not in ("unknown", "time limit")
        if decided and new["status"] not in ("unknown", "time limit"):
            ratios.append(ratio)
        same += old["status"] == new["status"]
        lines.append(
            f"| {job['n']} | {','.join(map(str, job['widths']))} | {job['seed']} | {job['task']} "
            f"| {old['status']} | {new['status']} | {old['seconds']:.2f} | {new['seconds']:.2f} "
            f"| {ratio:.2f} | {work[0]} | {work[1]} |"
        )
    head = [
        "# Deep checks, old tree against new tree, same run",
        "",
        f"Command: `{command}` ({seconds:.0f} s for the rows added by the last call).",
        "",
        f"Same status on {same} of {len(rows)} jobs. Median new/old time on jobs both "
        f"decided: {statistics.median(ratios):.2f} ({len(ratios)} jobs)."
        if ratios
        else f"Same status on {same} of {len(rows)} jobs.",
        "",
        "Work is the pairs of the pair splitting (global, pairs) or the boxes of the input "
        "splitting (local). A search that runs to its end (a proof) does the same work in any "
        "order; one stopped by the time limit did as much as its speed allowed, and one "
        "stopped by a witness may differ with the order in which a batch is taken. Times are "
        "wall clock on a shared machine: a check near its time limit can end either way.",
        "",
    ]
    return "\n".join(head + lines) + "\n"


if __name__ == "__main__":
    main()
