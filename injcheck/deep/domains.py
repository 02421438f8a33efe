"""Domains of the branch and bound: one input box (a region) or two (a pair of regions).

A :class:`Domain` is a tuple of *sides*, each a box ``(lo, hi)``. The local check and
the box covers search over single boxes; the global check over pairs of boxes, one for
each point of a possible collision. Boxes may be degenerate in some coordinates (the
facets ``x_j = +-1`` of the cube, through which bias-free networks are searched).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

Box = tuple[np.ndarray, np.ndarray]


@dataclass(frozen=True)
class Domain:
    """One node of the search: a box or a pair of boxes, and how often it was split.

    Attributes
    ----------
    sides : tuple of (lo, hi)
        One box, or two (the boxes of ``x`` and of ``y``).
    depth : int
        Bisections from its root.
    """

    sides: tuple[Box, ...]
    depth: int = 0

    @classmethod
    def box(cls, lo: np.ndarray, hi: np.ndarray) -> Domain:
        return cls(((np.asarray(lo, float), np.asarray(hi, float)),))

    @classmethod
    def pair(cls, box_x: Box, box_y: Box) -> Domain:
        return cls(
            tuple((np.asarray(lo, float), np.asarray(hi, float)) for lo, hi in (box_x, box_y))
        )

    def centres(self) -> tuple[np.ndarray, ...]:
        return tuple(0.5 * (lo + hi) for lo, hi in self.sides)

    def width(self) -> float:
        """The largest width of any side."""
        return max(float(np.max(hi - lo)) for lo, hi in self.sides)

    def volume(self) -> float:
        """Product of the sides' volumes, a degenerate (facet) coordinate counted as 1:
        the measure in which the share of the search space left open is counted."""
        return float(np.prod([box_volumes(hi - lo) for lo, hi in self.sides]))

    def replace_side(self, index: int, box: Box) -> Domain:
        sides = list(self.sides)
        sides[index] = box
        return Domain(tuple(sides), self.depth + 1)


def box_volumes(widths: np.ndarray) -> np.ndarray:
    """Volumes of boxes from their widths (last axis), a degenerate (facet) coordinate
    counted as 1."""
    return np.prod(np.where(widths > 0, widths, 1.0), axis=-1)


def bisect(lo: np.ndarray, hi: np.ndarray, coord: int) -> tuple[Box, Box]:
    """The two halves of a box cut at the middle of coordinate ``coord``."""
    mid = 0.5 * (lo[coord] + hi[coord])
    left_hi, right_lo = hi.copy(), lo.copy()
    left_hi[coord], right_lo[coord] = mid, mid
    return (lo, left_hi), (right_lo, hi)


def facet_boxes(n: int) -> Iterator[tuple[int, float, np.ndarray, np.ndarray]]:
    """The ``2n`` facets ``x_j = s`` (``s = +-1``) of ``[-1, 1]^n`` as degenerate boxes.

    Their union is the sphere ``|x|_inf = 1``, which meets every ray of R^n \\ {0}: by
    homogeneity, an open region of a bias-free net meets (relatively openly) at least
    one facet, so searching the facets one by one is the same question as the whole
    sphere. Each facet excludes the origin, so its bounds are tighter than the cube's.
    """
    for j in range(n):
        for s in (1.0, -1.0):
            lo, hi = -np.ones(n), np.ones(n)
            lo[j] = hi[j] = s
            yield j, s, lo, hi


def facets(n: int) -> list[Box]:
    """The boxes ``(lo, hi)`` of :func:`facet_boxes`."""
    return [(lo, hi) for _, _, lo, hi in facet_boxes(n)]


def collision_roots(lo: np.ndarray, hi: np.ndarray, homogeneous: bool) -> list[Domain]:
    """Box pairs that hold (a copy of) every collision ``x != y`` in the domain.

    Bias-free nets on R^n are positively homogeneous, so scaling and swapping give every
    collision a copy with ``|x|_inf = 1 >= |y|_inf``: ``x`` on a facet, ``y`` in the cube.
    With a box both points range over it.
    """
    if not homogeneous:
        return [Domain.pair((lo, hi), (lo, hi))]
    return [Domain.pair(facet, (lo, hi)) for facet in facets(lo.size)]
