"""Monte Carlo of the image width ``omega_l`` against the kernel (Parisi) and Gordon values.

``omega_l = E sup_x <g, u(x)> / sqrt(n)`` for ``l`` Gaussian ReLU layers of width
``beta n`` (``deep.width_monte_carlo``: projected Adam from several starts, a *lower*
estimate of the supremum). Theory: ``deep_fold.kernel_width(l)`` (earlier layers infinitely
wide; exact in that limit) and the Gordon chain ``deep.width_map`` at ``beta``.

    nice -n 5 python experiments/kernel_width_mc.py --out results/deep_theory
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from machine import cpu_model  # experiments/machine.py

from injcheck.theory import deep, deep_fold


def gordon_chain(beta: float, depth: int) -> float:
    omega = 1.0
    for _ in range(depth):
        omega = deep.width_map(beta, omega).omega_out
    return omega


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=60)
    ap.add_argument("--betas", default="8,24")
    ap.add_argument("--depths", default="1,2,3")
    ap.add_argument("--samples", type=int, default=6)
    ap.add_argument("--restarts", type=int, default=16)
    ap.add_argument("--out", default="results/deep_theory")
    args = ap.parse_args()
    lines = [
        f"Machine: {cpu_model()}, shared with other jobs; torch one thread.",
        "",
        f"Command: `python experiments/kernel_width_mc.py --n {args.n} --betas {args.betas} "
        f"--depths {args.depths} --samples {args.samples} --restarts {args.restarts}`",
        "",
        "| layers | beta = m/n | MC omega (lower est.) | stderr | restart spread | "
        "kernel (beta = inf) | Gordon chain at beta | seconds |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for d in (int(x) for x in args.depths.split(",")):
        kw = deep_fold.kernel_width(d)
        for beta in (float(x) for x in args.betas.split(",")):
            t0 = time.perf_counter()
            mc = deep.width_monte_carlo(
                [beta] * d, args.n, seed=d, restarts=args.restarts, steps=300, samples=args.samples
            )
            lines.append(
                f"| {d} | {beta:g} | {mc['omega']:.4f} | {mc['stderr']:.4f} | "
                f"{mc['restart_spread']:.4f} | {kw:.4f} | {gordon_chain(beta, d):.4f} | "
                f"{time.perf_counter() - t0:.0f} |"
            )
            print(lines[-1], flush=True)
    Path(args.out).mkdir(parents=True, exist_ok=True)
    (Path(args.out) / "width_mc.md").write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
