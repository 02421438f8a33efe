"""Larger n, heuristic: smallest last-layer width at which a search finds no rank loss.

Same nets as ``experiments/deep_expansion.py`` (earlier layers ``8n``, last layer nested
rows). For a width ``m`` a batched descent on the input sphere (torch, float64) lowers a
sigmoid surrogate of the count ``#{i <= m : (W_l h_{l-1}(x))_i > 0}`` with an annealed
temperature from several starts; a final point with fewer than ``n`` positive rows, all
pre-activations of all layers at least ``1e-9`` away from 0 (an open cell), shows a rank
loss. The search proves nothing when it fails, so the critical width it gives is a *lower*
estimate of the true local one. Bisection over ``m`` as in the exact experiment.

    nice -n 5 python experiments/deep_expansion_heuristic.py --out results/deep_theory
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from deep_expansion import Config, weights  # noqa: E402

PLAN = [(6, (1, 2), 16), (16, (1, 2, 3), 12), (32, (1, 2, 3), 8)]


def _forward(ws, x):
    """Pre-activations of every layer for a batch of inputs (rows of x)."""
    pres, h = [], x
    for w in ws:
        z = h @ w.T
        pres.append(z)
        h = torch.relu(z)
    return pres


def _cell_rows(ws: list[np.ndarray], x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows ``C`` (pre-activations ``C x`` of every earlier unit, signed so the current cell
    is ``C x > 0``) and ``L`` (last layer, linear in x inside this cell)."""
    signed, c = [], np.eye(len(x))
    for w in ws[:-1]:
        c = w @ c
        s = np.where(c @ x > 0, 1.0, -1.0)
        signed.append(s[:, None] * c)
        c = c * (s > 0)[:, None]
    last = ws[-1] @ c
    return (np.vstack(signed) if signed else np.zeros((0, len(x)))), last


def polish(ws: list[np.ndarray], x: np.ndarray) -> int:
    """Lower the last layer's count inside x's cell of the earlier layers by margin LPs.

    Keep the negative rows ``N``; for each positive row ``j`` (smallest field first) solve
    ``max t : C y >= t, L_i y + t <= 0 (i in N + {j}), |y|_inf <= 1``; ``t > 0`` adds ``j``.
    Returns the count of the last point reached (an open cell with margin ``t > 0``), or
    ``len(L)`` when the start is not in an open cell.
    """
    from scipy.optimize import linprog

    cell, last = _cell_rows(ws, x)
    z = last @ x
    if cell.size and (cell @ x).min() <= 1e-12 or np.abs(z).min() <= 1e-12:
        return last.shape[0]
    neg = list(np.nonzero(z < 0)[0])
    n = len(x)
    for j in np.argsort(np.where(z > 0, z, np.inf)):
        if z[j] <= 0:
            break
        rows = [-cell, last[neg + [j]]]
        a = np.vstack([np.hstack([r, np.ones((r.shape[0], 1))]) for r in rows if r.size])
        res = linprog(
            np.r_[np.zeros(n), -1.0],
            A_ub=a,
            b_ub=np.zeros(a.shape[0]),
            bounds=[(-1, 1)] * n + [(None, 1)],
            method="highs",
        )
        if res.status == 0 and -res.fun > 1e-9:
            neg.append(j)
    return last.shape[0] - len(neg)


def found_rank_loss(ws: list[np.ndarray], n: int, starts: int, steps: int, seed: int) -> bool:
    """Does the descent (then LP polishing) reach an open cell with fewer than n positive
    rows at the last layer?"""
    tw = [torch.as_tensor(w, dtype=torch.float64) for w in ws]
    scale = tw[-1].norm(dim=1)
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(starts, n, generator=gen, dtype=torch.float64).requires_grad_(True)
    opt = torch.optim.Adam([x], lr=0.05)
    for it in range(steps):
        temp = 0.5 * (0.01 / 0.5) ** (it / max(steps - 1, 1))
        xs = x / x.norm(dim=1, keepdim=True)
        pres = _forward(tw, xs)
        hprev = torch.relu(pres[-2]) if len(pres) > 1 else xs
        z = pres[-1] / (scale * hprev.norm(dim=1, keepdim=True).clamp_min(1e-300))
        loss = torch.sigmoid(z / temp).sum()
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        xs = x / x.norm(dim=1, keepdim=True)
        pres = _forward(tw, xs)
        open_cell = torch.stack([p.abs().min(dim=1).values for p in pres]).min(dim=0).values > 1e-9
        counts = (pres[-1] > 0).sum(dim=1)
    if bool((open_cell & (counts < n)).any()):
        return True
    # polish the best few open-cell starts exactly (LPs inside their cells)
    order = [int(i) for i in torch.argsort(counts) if bool(open_cell[i])][:2]
    return any(polish(ws, xs[i].numpy()) < n for i in order)


def critical_width(ws, n: int, starts: int, steps: int, seed: int) -> int:
    """Smallest m (by bisection over nested rows) where the search finds no rank loss."""
    lo, hi = n - 1, ws[-1].shape[0]
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if found_rank_loss(ws[:-1] + [ws[-1][:mid]], n, starts, steps, seed):
            lo = mid
        else:
            hi = mid
    return hi


def run(out: Path, starts: int, steps: int) -> None:
    torch.set_num_threads(1)
    path = out / "heuristic_records.jsonl"
    done = set()
    if path.exists():
        done = {(r["n"], r["depth"], r["seed"]) for r in map(json.loads, open(path))}
    with open(path, "a", encoding="utf-8") as fh:
        for seed in range(max(p[2] for p in PLAN)):
            for n, depths, nets in PLAN:
                for d in depths:
                    if seed >= nets or (n, d, seed) in done:
                        continue
                    cfg = Config(n, d, "local", nets, 0.0)
                    t0 = time.perf_counter()
                    m = critical_width(weights(cfg, seed), n, starts, steps, seed)
                    rec = {
                        "n": n,
                        "depth": d,
                        "seed": seed,
                        "critical": m,
                        "m_prev": cfg.m_prev,
                        "seconds": round(time.perf_counter() - t0, 2),
                    }
                    fh.write(json.dumps(rec) + "\n")
                    fh.flush()
                    print(rec, flush=True)


def summarise(out: Path) -> str:
    recs = [json.loads(line) for line in open(out / "heuristic_records.jsonl")]
    lines = [
        "| n | depth l | nets | median critical m_l / m_{l-1} | m_l,50 / m_1,50 |",
        "|---|---|---|---|---|",
    ]
    base = {}
    for n in sorted({r["n"] for r in recs}):
        for d in sorted({r["depth"] for r in recs if r["n"] == n}):
            rs = [r for r in recs if r["n"] == n and r["depth"] == d]
            med = statistics.median(r["critical"] for r in rs)
            if d == 1:
                base[n] = med
            rel = med / base[n] if d > 1 and n in base else math.nan
            lines.append(
                f"| {n} | {d} | {len(rs)} | {med / rs[0]['m_prev']:.3f} | "
                f"{'' if math.isnan(rel) else f'{rel:.3f}'} |"
            )
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="results/deep_theory")
    ap.add_argument("--starts", type=int, default=16)
    ap.add_argument("--steps", type=int, default=400)
    ap.add_argument("--analyse", action="store_true")
    args = ap.parse_args()
    out = Path(args.out)
    if not args.analyse:
        run(out, args.starts, args.steps)
    text = summarise(out)
    (out / "heuristic_summary.md").write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
