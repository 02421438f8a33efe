"""Exact rational linear algebra for one layer: Gauss-Jordan elimination in fractions.

Shared by the brute-force enumeration (:mod:`.brute_force`) and the proof writer
(:mod:`.proof`); neither search (:mod:`.gordan`, the compiled core) uses it, so the
brute force stays independent of the code it checks, and proofs are checked by
:mod:`injcheck.proof_check`, which shares no code with either.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction

__all__ = ["rref"]


def rref(rows: Sequence[Sequence], ncols: int) -> tuple[list[list[Fraction]], list[int]]:
    """Exact reduced row echelon form.

    Parameters
    ----------
    rows : sequence of sequences
        Matrix rows of ints, floats or fractions (each converted exactly by ``Fraction``).
    ncols : int
        Number of columns.

    Returns
    -------
    rows : list of list of Fraction
        The ``rank`` non-zero rows of the reduced form; row ``i`` has a 1 in column
        ``pivots[i]`` and zeros in every other pivot column.
    pivots : list of int
        Pivot columns, increasing.

    Examples
    --------
    >>> red, pivots = rref([[2, 4], [1, 2]], 2)
    >>> [[str(v) for v in r] for r in red], pivots
    ([['1', '2']], [0])
    """
    mat = [[Fraction(v) for v in r] for r in rows]
    pivots: list[int] = []
    rank = 0
    for col in range(ncols):
        if rank == len(mat):
            break  # every row has a pivot
        piv = next((i for i in range(rank, len(mat)) if mat[i][col] != 0), None)
        if piv is None:
            continue
        mat[rank], mat[piv] = mat[piv], mat[rank]
        inv = 1 / mat[rank][col]
        mat[rank] = [v * inv for v in mat[rank]]
        for i in range(len(mat)):
            if i != rank and mat[i][col] != 0:
                f = mat[i][col]
                mat[i] = [a - f * b for a, b in zip(mat[i], mat[rank])]
        pivots.append(col)
        rank += 1
    return mat[:rank], pivots
