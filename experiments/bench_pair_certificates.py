"""Would other pair tests help pair splitting? Two candidates against the default route.

Pair splitting (``injcheck.deep.pair_split``) clears a pair of input boxes by disjoint
output bounds or by the difference cone. This benchmark plugs two further sound tests
into the same search (its ``certificates`` option) and measures what they buy:

* ``lp``: the LP relaxation of a collision between the two boxes (both copies of the
  network with triangle relaxations of every ReLU on the boxes' bounds, equal outputs),
  tried on pairs of disjoint boxes before the cone. It sees where the boxes are, which
  the cone does not. Infeasible means no collision.
* ``milp``: the difference relaxation that the cone test decides by enumerating rays,
  decided instead by a MILP (one binary per free unit for the sign of its difference),
  tried after the cone and only where its ray test gave up (more than ``MAX_RAYS``
  candidate rays, or forms that do not span).

Routes: ``cone`` (the default), ``lp+cone``, ``cone+milp``. Each run is the search
alone on layers 1..2 (layer 1 proven first by the one-layer check), as in
``time_pair_search.py``. Writes ``results/deep/pair_certificates.{jsonl,md}``::

    python experiments/bench_pair_certificates.py
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import numpy as np
from machine import cpu_model  # experiments/machine.py
from scipy.optimize import linprog

from injcheck.budget import Budget
from injcheck.deep.brute_force import difference_system_is_trivial
from injcheck.deep.certificates import Certificate, DifferenceCone, DisjointOutputs
from injcheck.deep.difference_cone import decide_by_rays
from injcheck.deep.first_layer import global_first_layer
from injcheck.deep.pair_split import prove_layer_by_layer
from injcheck.networks import as_layers, random_relu_net

RESULTS = Path(__file__).resolve().parent.parent / "results" / "deep"


def _relaxed_copy(layers, box, bounds, cols: int, offset: int):
    """Rows ``(matrix, low, high)`` and column bounds of one copy's triangle relaxation;
    its variables ``(x, h_1, ..., h_L)`` start at column ``offset``."""
    n = layers[0].weight.shape[1]
    rows, low_rows, high_rows = [], [], []
    col_lo, col_hi = [box[0]], [box[1]]
    prev, start = np.arange(offset, offset + n), offset + n
    for layer, (low, up) in zip(layers, bounds, strict=True):
        m = layer.weight.shape[0]
        bias = layer.bias
        here, start = np.arange(start, start + m), start + m
        pre = np.zeros((m, cols))
        pre[:, prev] = layer.weight  # the row of p - b
        on, off = low >= 0, up <= 0
        und = ~on & ~off
        rows.append(pre)  # l <= p <= u
        low_rows.append(low - bias)
        high_rows.append(up - bias)
        rise = -pre[~off]  # h - p = 0 (on) or >= 0 (undecided)
        rise[np.arange(rise.shape[0]), here[~off]] = 1.0
        rows.append(rise)
        low_rows.append(bias[~off])
        high_rows.append(np.where(on[~off], bias[~off], np.inf))
        slope = up[und] / (up[und] - low[und])  # h <= slope (p - l) (undecided)
        cap = -slope[:, None] * pre[und]
        cap[np.arange(cap.shape[0]), here[und]] = 1.0
        rows.append(cap)
        low_rows.append(np.full(cap.shape[0], -np.inf))
        high_rows.append(slope * (bias[und] - low[und]))
        col_lo.append(np.where(on, np.maximum(low, 0.0), 0.0))
        col_hi.append(np.where(off, 0.0, np.maximum(up, 0.0)))
        prev = here
    return rows, low_rows, high_rows, col_lo, col_hi, prev


def lp_certificate(layers, pair, bounds_x, bounds_y) -> bool:
    """The LP relaxation of a collision in the pair is infeasible (disjoint boxes only:
    boxes that share a point always admit ``x = y``)."""
    (x_lo, x_hi), (y_lo, y_hi) = pair
    if not np.any((x_lo > y_hi) | (y_lo > x_hi)):
        return False
    per_copy = layers[0].weight.shape[1] + sum(layer.weight.shape[0] for layer in layers)
    parts = [
        _relaxed_copy(layers, box, bounds, 2 * per_copy, c * per_copy)
        for c, (box, bounds) in enumerate((((x_lo, x_hi), bounds_x), ((y_lo, y_hi), bounds_y)))
    ]
    out_x, out_y = parts[0][5], parts[1][5]
    equal = np.zeros((out_x.size, 2 * per_copy))
    equal[np.arange(out_x.size), out_x] = 1.0
    equal[np.arange(out_x.size), out_y] = -1.0
    matrix = np.vstack([r for p in parts for r in p[0]] + [equal])
    low = np.concatenate([r for p in parts for r in p[1]] + [np.zeros(out_x.size)])
    high = np.concatenate([r for p in parts for r in p[2]] + [np.zeros(out_x.size)])
    col_bounds = list(
        zip(
            np.concatenate([c for p in parts for c in p[3]]),
            np.concatenate([c for p in parts for c in p[4]]),
            strict=True,
        )
    )
    finite = np.isfinite(high)
    a_ub = np.vstack([matrix[finite], -matrix[np.isfinite(low)]])
    b_ub = np.concatenate([high[finite], -low[np.isfinite(low)]])
    res = linprog(
        np.zeros(matrix.shape[1]), A_ub=a_ub, b_ub=b_ub, bounds=col_bounds, method="highs"
    )
    return res.status == 2  # infeasible


def milp_certificate(layers, pair, bounds_x, bounds_y) -> bool:
    """The difference relaxation decided by a MILP (see
    :func:`injcheck.deep.brute_force.difference_system_is_trivial`), only where the
    rays did not decide it."""
    if decide_by_rays(layers, bounds_x, bounds_y) is not None:
        return False
    return difference_system_is_trivial(layers, bounds_x, bounds_y)


class PairTest(Certificate):
    """A per-pair test ``test(layers, (box_x, box_y), bounds_x, bounds_y)`` as a certificate."""

    def __init__(self, name: str, test):
        self.name, self.test = name, test

    def clears_one(self, layers, domain, bounds) -> bool:
        return self.test(layers, domain.sides, bounds[0], bounds[-1])


def _route(name: str) -> list[Certificate]:
    """The certificates of a route, in order (disjoint outputs always first)."""
    extra = {
        "cone": [DifferenceCone()],
        "lp+cone": [PairTest("lp", lp_certificate), DifferenceCone()],
        "cone+milp": [DifferenceCone(), PairTest("milp", milp_certificate)],
    }[name]
    return [DisjointOutputs(), *extra]


ROUTES = ("cone", "lp+cone", "cone+milp")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nets", default="3:18:0,3:18:1,3:18:2,4:24:1", help="n:width:seed")
    parser.add_argument("--routes", default=",".join(ROUTES))
    parser.add_argument("--time-limit", type=float, default=60.0)
    parser.add_argument("--out", default=str(RESULTS / "pair_certificates"))
    parser.add_argument("--table-only", action="store_true", help="rewrite the .md from the .jsonl")
    args = parser.parse_args()
    command = (
        f"python experiments/bench_pair_certificates.py --nets {args.nets} "
        f"--routes {args.routes} --time-limit {args.time_limit:g}"
    )
    if args.table_only:
        with open(args.out + ".jsonl") as source:
            write_table([json.loads(line) for line in source], args.out + ".md", command)
        return
    records = []
    with open(args.out + ".jsonl", "w") as sink:
        for net in args.nets.split(","):
            n, width, seed = map(int, net.split(":"))
            layers = as_layers(random_relu_net(n, [width, width], seed=seed))
            if global_first_layer(layers, Budget.unlimited())[0] != "proven":
                continue
            for route in args.routes.split(","):
                result = prove_layer_by_layer(
                    layers,
                    -np.ones(n),
                    np.ones(n),
                    True,
                    first=2,
                    budget=Budget.seconds(args.time_limit),
                    certificates=_route(route),
                )
                record = {"n": n, "widths": [width, width], "seed": seed, "route": route}
                record |= result.summary() | {"time_limit": args.time_limit}
                records.append(record)
                sink.write(json.dumps(record) + "\n")
                sink.flush()
                print(json.dumps(record), flush=True)
    write_table(records, args.out + ".md", command)


def write_table(records: list[dict], path: str, command: str) -> None:
    lines = [
        f"Machine: {os.cpu_count()} cores, {cpu_model()}; one search at a time, nothing "
        "else running. Each search alone (layer 1 proven first); `open share` is the "
        "share of the pair space not cleared when it stopped (a MILP may overrun the "
        "limit by up to its own 10 s).",
        "",
        f"Command: `{command}`",
        "",
        "| net | route | outcome | pairs | cleared by | open share | seconds |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in records:
        net = f"n={r['n']} {r['widths'][0]},{r['widths'][1]} seed {r['seed']}"
        cleared = ", ".join(f"{k} {v}" for k, v in r["cleared_by"].items())
        lines.append(
            f"| {net} | {r['route']} | {r['outcome']} | {r['pairs']} | {cleared} "
            f"| {r['open_share']:.3f} | {r['seconds']:.1f} |"
        )
    Path(path).write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
