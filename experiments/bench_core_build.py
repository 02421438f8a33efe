"""CPU seconds of the compiled decision search on fixed injective layers, for comparing
two builds of the core (run alternately with ``PYTHONPATH`` pointing at each checkout).

    git worktree add /tmp/old <commit> && (cd /tmp/old && python setup.py build_ext --inplace)
    PYTHONPATH=/tmp/old python experiments/bench_core_build.py
    python experiments/bench_core_build.py

The layers are three injective layers of the study at n = 14, m = 85 (their trial seeds);
a change that only speeds the arithmetic must print the same node counts.
"""

from __future__ import annotations

import argparse
import time

import injcheck
from injcheck.one_layer.compiled import CompiledSearch

STUDY_SEEDS = (4319553001847292845, 7055896189885932529, 8176372230426568399)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=14)
    p.add_argument("--m", type=int, default=85)
    args = p.parse_args(argv)
    print(f"core from {injcheck.__file__}")
    for seed in STUDY_SEEDS:
        net = injcheck.random_relu_net(args.n, [args.m], seed=seed)
        weight = net[0].weight.detach().numpy().astype(float)
        start = time.process_time()
        result = CompiledSearch(weight, limit=args.n - 1).run()
        seconds = time.process_time() - start
        print(f"seed {seed}: {result.outcome}, {result.stats['nodes']} nodes, {seconds:.2f} CPU s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
