"""Exact helpers shared by the deep tests (brute force on boxes)."""

from __future__ import annotations

import numpy as np
from scipy.optimize import linprog

from injcheck.deep.bounds import compute_bounds
from injcheck.deep.brute_force import enumerate_regions


def box_bounds(layers, lo, hi):
    """Sound (CROWN) bounds of every layer on one box."""
    return compute_bounds(layers, lo, hi, method="crown")


def cross_collision(layers, box_x, box_y) -> bool:
    """Exact: is there x in box_x, y in box_y, x != y, f(x) = f(y)? (Regions of each box
    by the brute force; per pair of regions, max and min of w.(x - y) by LPs.)"""
    n = box_x[0].size
    w = np.sqrt(np.arange(2, n + 2)) + 0.3
    regions_x, _ = enumerate_regions(layers, box=box_x)
    regions_y, _ = enumerate_regions(layers, box=box_y)
    bounds = list(zip(*box_x, strict=True)) + list(zip(*box_y, strict=True))
    for ra in regions_x:
        for rb in regions_y:
            a_ub = np.block(
                [[ra.g, np.zeros((ra.g.shape[0], n))], [np.zeros((rb.g.shape[0], n)), rb.g]]
            )
            for sign in (1.0, -1.0):
                res = linprog(
                    -sign * np.concatenate([w, -w]),
                    A_ub=a_ub if a_ub.size else None,
                    b_ub=np.concatenate([ra.h, rb.h]) if a_ub.size else None,
                    A_eq=np.hstack([ra.jac, -rb.jac]),
                    b_eq=rb.off - ra.off,
                    bounds=bounds,
                    method="highs",
                )
                if res.status != 0:
                    break
                if -res.fun > 1e-8:
                    return True
    return False


def certifies(certificate, layers, lo, hi) -> bool:
    """Does ``certificate`` (:mod:`injcheck.deep.certificates`) clear the box ``[lo, hi]``?"""
    from injcheck.deep.domains import Domain

    bounds = compute_bounds(layers, lo[None], hi[None], method="crown")
    return bool(certificate.clears(layers, [Domain.box(lo, hi)], [bounds], np.array([0]))[0])
