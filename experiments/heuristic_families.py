"""Compare start families, surrogates and schedules of the heuristic on the same layers.

Each configuration searches the same seeded layers (n, alpha) with
:func:`injcheck.one_layer.heuristic.search_cells` (no polishing) and reports exact counts
(certified signs). Studies (``--study``), each a section of ``results/large_n/families.md``
(a rerun replaces its own section and keeps the others):

* ``families``: surrogates and schedules of the descent (8 starts x 1000 steps);
* ``schedule``: longer annealing (``--steps``, 4 starts): count / n against steps and seconds;
* ``amp``: the staged AMP starts (``init="amp"``, ``--starts``) against random starts;
* ``amp_polish``: the staged AMP start (``--starts`` runs, first value) followed by the exact
  margin-LP flips with row generation (``polish_tries=--tries``, ``polish_band=--band``):
  counts before and after the flips, LP solves and rows, wall and CPU seconds a layer;
* ``flips``: first-order single-row flips (Han's least-squares method for linear
  inequalities, no LP) against the exact margin-LP flips of ``polish_cell``, one layer.

Usage::

    python experiments/heuristic_families.py [--study families] [--n 500] [--alpha 5] [--nets 3]
    python experiments/heuristic_families.py --study amp --n 1000 --starts 1,4
    python experiments/heuristic_families.py --study amp_polish --n 1000 --starts 1 --tries 20
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
from machine import cpu_model  # experiments/machine.py

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


def _layers(n: int, alpha: float, nets: int) -> list[np.ndarray]:
    m = int(round(alpha * n))
    return [np.random.default_rng(s).standard_normal((m, n)) for s in range(nets)]


def _run(weights, settings, per_layer: bool = False) -> tuple[list[int], float, list]:
    """Exact counts, median wall seconds a layer and the per-start counts of each layer.
    ``per_layer`` searches one layer at a time (the seconds are then a layer's own)."""
    from injcheck.one_layer.heuristic import search_cells

    if not per_layer:
        start = time.perf_counter()
        found = search_cells(weights, settings)
        wall = (time.perf_counter() - start) / len(weights)
        return [f.count for f in found], wall, [f.stats["start_counts"] for f in found]
    found, walls = [], []
    for weight in weights:
        start = time.perf_counter()
        found += search_cells([weight], settings)
        walls.append(time.perf_counter() - start)
    return (
        [f.count for f in found],
        float(np.median(walls)),
        [f.stats["start_counts"] for f in found],
    )


def study_families(args) -> list[str]:
    from injcheck.one_layer.heuristic import SearchSettings

    weights = _layers(args.n, args.alpha, args.nets)
    lines = [
        "| configuration | mean count / n | counts | seconds (all layers) |",
        "|---|---|---|---|",
    ]
    for label, overrides in CONFIGS:
        settings = SearchSettings(**{"starts": 8, "steps": 1000, "polish_tries": 0, **overrides})
        counts, wall, _ = _run(weights, settings)
        lines.append(
            f"| {label} | {np.mean(counts) / args.n:.4f} | {counts} | {wall * len(weights):.1f} |"
        )
        print(json.dumps({"config": label, "counts": counts, "seconds": wall}), flush=True)
    return lines


def study_schedule(args) -> list[str]:
    """Longer annealing: 4 random starts, the default window and step schedule."""
    from injcheck.one_layer.heuristic import SearchSettings

    weights = _layers(args.n, args.alpha, args.nets)
    lines = [
        "| steps | median count / n | counts (best of 4) | mean count / n of a start | s / layer |",
        "|---|---|---|---|---|",
    ]
    for steps in args.steps:
        settings = SearchSettings(starts=4, steps=steps, polish_tries=0)
        counts, wall, starts = _run(weights, settings)
        per_start = np.mean([c for layer in starts for c in layer]) / args.n
        lines.append(
            f"| {steps} | {np.median(counts) / args.n:.3f} | {counts} | {per_start:.3f} | "
            f"{wall:.1f} |"
        )
        print(lines[-1], flush=True)
    return lines


def study_amp(args) -> list[str]:
    """Staged AMP starts (settings_for(init="amp")) against the default random starts."""
    from injcheck.one_layer.heuristic import settings_for

    weights = _layers(args.n, args.alpha, args.nets)
    m = weights[0].shape[0]
    configs = [("random starts", settings_for(args.n, m, init="random", polish_tries=0))]
    configs.append(
        (
            "AMP, first stage only (beta <= 3.3), 1 run",
            settings_for(args.n, m, init="amp", starts=1, amp_stages=0, polish_tries=0),
        )
    )
    extra = json.loads(args.amp)
    for starts in args.starts:
        configs.append(
            (
                f"staged AMP, {starts} run(s) {args.amp if extra else ''}".rstrip(),
                settings_for(args.n, m, init="amp", starts=starts, polish_tries=0, **extra),
            )
        )
    lines = [
        "| configuration | median count / n | counts | counts of each run | s / layer (median) |",
        "|---|---|---|---|---|",
    ]
    for label, settings in configs:
        counts, wall, starts = _run(weights, settings, per_layer=True)
        lines.append(
            f"| {label} | {np.median(counts) / args.n:.3f} | {counts} | {starts} | {wall:.1f} |"
        )
        print(lines[-1], flush=True)
    return lines


def study_amp_polish(args) -> list[str]:
    """Staged AMP start, then exact single-row flips by row-generation margin LPs."""
    from injcheck.one_layer.heuristic import search_cells, settings_for

    weights = _layers(args.n, args.alpha, args.nets)
    settings = settings_for(
        args.n,
        weights[0].shape[0],
        init="amp",
        starts=args.starts[0],
        polish_tries=args.tries,
        polish_band=args.band,
    )
    lines = [
        f'`settings_for(n, m, init="amp", starts={args.starts[0]}, polish_tries={args.tries}, '
        f"polish_band={args.band})`, one layer at a time.",
        "",
        "| layer | count before flips | after | flips / tried | LP solves | LP rows at the end "
        "| AMP + descent s | polish s | wall s | CPU s |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    counts = []
    for seed, weight in enumerate(weights):
        cpu, wall = time.process_time(), time.perf_counter()
        found = search_cells([weight], settings)[0]
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        st = found.stats
        counts.append(found.count)
        lines.append(
            f"| {seed} | {found.descent_count} | {found.count} | {st['flips']} / "
            f"{st['flips_tried']} | {st.get('polish_solves')} | {st.get('polish_lp_rows')} | "
            f"{st['descent_time']:.0f} | {st['polish_time']:.0f} | {wall:.0f} | {cpu:.0f} |"
        )
        print(lines[-1], flush=True)
    lines += [
        "",
        f"Median count / n: {np.median(counts) / args.n:.3f} (counts {counts}); every count is "
        "the exact count of the returned point (certified signs).",
    ]
    return lines


STUDIES = {
    "families": ("Descent families", study_families),
    "schedule": ("Longer annealing schedules", study_schedule),
    "amp": ("Staged AMP starts", study_amp),
    "amp_polish": ("Staged AMP then row-generation LP flips", study_amp_polish),
}


def _write_section(path: Path, title: str, lines: list[str]) -> None:
    """Replace the section ``## title`` of ``path`` (or append it), keeping the others."""
    text = path.read_text() if path.exists() else "# One-layer heuristic: families and starts\n"
    head, *sections = text.split("\n## ")
    new = title + "\n\n" + "\n".join(lines)
    sections = [new if sec.startswith(title) else sec for sec in sections]
    if new not in sections:
        sections.append(new)
    parts = [head.rstrip("\n") + "\n"] + [sec.rstrip("\n") + "\n" for sec in sections]
    path.write_text("\n## ".join(parts))


def _han_flip(rows, gram, h, x, keep, kappa: float, max_iter: int):
    """Han's method for ``rows[keep] x <= -kappa`` from ``x``: least-squares steps on the
    violated rows (``gram`` = rows rows^T keeps the field update at O(m) a row)."""
    for _ in range(max_iter):
        bad = np.flatnonzero(keep & (h > -kappa))
        if bad.size == 0:
            return x, h, True
        sub = gram[np.ix_(bad, bad)] + 1e-9 * np.eye(bad.size)
        lam = np.linalg.solve(sub, h[bad] + kappa)
        x, h = x - rows[bad].T @ lam, h - gram[:, bad] @ lam
    return x, h, not np.any(keep & (h > -kappa))


def study_flips(args) -> list[str]:
    """One pass over the positive rows (smallest field first) of a descent point: Han's
    first-order flips against the exact margin-LP flips (polish_cell), first layer only."""
    from injcheck.one_layer.heuristic import SearchSettings, _exact_count
    from injcheck.one_layer.polish import polish_cell

    weight = _layers(args.n, args.alpha, 1)[0]
    found = search_cells_one(weight, SearchSettings(starts=4, steps=2000, polish_tries=0))
    rows = weight / np.linalg.norm(weight, axis=1, keepdims=True) * np.sqrt(args.n)
    gram = rows @ rows.T
    x, start = found.x / np.linalg.norm(found.x), time.perf_counter()
    h = rows @ x
    order = np.flatnonzero(h >= 0)
    for j in order[np.argsort(h[order])]:
        keep = h < 0
        keep[j] = True
        x2, h2, ok = _han_flip(rows, gram, h, x, keep, 1e-4, 200)
        if ok and h[j] >= 0:
            x, h = x2 / np.linalg.norm(x2), h2 / np.linalg.norm(x2)
    han = (_exact_count(weight, x)[0], time.perf_counter() - start)
    start = time.perf_counter()
    x_lp = polish_cell(weight, found.x).x  # one full pass over the positive rows
    lp = (_exact_count(weight, x_lp)[0], time.perf_counter() - start)
    return [
        "| method | count after one pass | count / n | seconds |",
        "|---|---|---|---|",
        f"| descent (4 starts x 2000 steps) | {found.count} | {found.count / args.n:.3f} | |",
        f"| Han flips (kappa 1e-4, <= 200 steps a row) | {han[0]} | {han[0] / args.n:.3f} | "
        f"{han[1]:.0f} |",
        f"| margin-LP flips (polish_cell) | {lp[0]} | {lp[0] / args.n:.3f} | {lp[1]:.0f} |",
    ]


def search_cells_one(weight, settings):
    from injcheck.one_layer.heuristic import search_cells

    return search_cells([weight], settings)[0]


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--study", choices=sorted(STUDIES) + ["flips"], default="families")
    parser.add_argument("--n", type=int, default=500)
    parser.add_argument("--alpha", type=float, default=5.0)
    parser.add_argument("--nets", type=int, default=3)
    parser.add_argument("--steps", type=_ints, default=[2000, 5000, 10000, 20000])
    parser.add_argument("--starts", type=_ints, default=[1, 4])
    parser.add_argument("--tries", type=int, default=20, help="amp_polish: LP moves tried")
    parser.add_argument("--band", type=float, default=0.1, help="amp_polish: row band")
    parser.add_argument("--amp", default="{}", help="JSON overrides of the AMP settings")
    parser.add_argument("--out", default="results/large_n")
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    if args.study == "flips":
        title, lines = "Single-row flips", study_flips(args)
    else:
        name, study = STUDIES[args.study]
        title, lines = name, study(args)
    layers = "1 layer, seed 0" if args.study == "flips" else f"{args.nets} layers, seeds 0.."
    title = f"{title} at n = {args.n}, alpha = {args.alpha} ({layers})"
    argv_text = " ".join(sys.argv[1:]) if argv is None else " ".join(argv)
    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    intro = [
        f"Command: `python experiments/heuristic_families.py {argv_text}` (one torch thread, "
        f"{cpu_model()}, {os.cpu_count()} cores, load average at the end {load}).",
        "",
    ]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    _write_section(out / "families.md", title, intro + lines)
    print("\n".join(lines))


def _ints(text: str) -> list[int]:
    return [int(v) for v in text.split(",") if v]


if __name__ == "__main__":
    main()
