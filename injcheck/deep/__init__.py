"""Deep ReLU networks: global, local and pointwise injectivity.

Exact searches first (layer 1 by the one-layer Gordan search, input splitting for the
local check, pair splitting for the global check), MILPs for what they leave, and box
covers with the difference-cone certificate that close the MILPs' separation margins. A
brute-force region enumeration (:mod:`.brute_force`) is the reference for tiny nets.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..budget import Budget
from ..exceptions import InvalidArgumentError
from ..layers import Layer
from ..verdict import Verdict

DEEP_METHODS = ("auto", "milp", "brute", "heuristic")


def check_deep(
    layers: Sequence[Layer],
    *,
    mode: str,
    method: str = "auto",
    time_limit: float | None = None,
    x0: np.ndarray | None = None,
    box: tuple[np.ndarray, np.ndarray] | None = None,
    threads: int = 1,
    budget: Budget | None = None,
) -> Verdict:
    """Check a (validated) network in one of the three modes.

    Parameters
    ----------
    layers : list of Layer
        Validated layers (see :func:`injcheck.networks.as_layers`).
    mode : {"global", "local", "pointwise"}
    method : {"auto", "milp", "brute", "heuristic"}
        ``auto``/``milp``: the checks of this package (exact searches, then MILPs).
        ``brute``: region enumeration by LPs, for ``n <= 3`` and a few dozen units only.
        ``heuristic``: batched witness search (bias-free, local/global; ``non-injective``
        with a verified witness or ``unknown``, :mod:`.heuristic_check`).
    time_limit : float, optional
        Wall-clock budget of the whole call in seconds (or pass ``budget``).
    x0 : ndarray, optional
        The point of a pointwise check.
    box : (lo, hi), optional
        Input box; required for networks with biases.
    threads : int
        HiGHS threads.
    budget : Budget, optional
        The caller's budget (:mod:`injcheck.budget`); overrides ``time_limit``.

    Returns
    -------
    Verdict

    Examples
    --------
    >>> import numpy as np
    >>> from injcheck.networks import make_layers
    >>> fold = make_layers([np.array([[1.0], [-1.0]]), np.array([[1.0, 1.0]])])
    >>> check_deep(fold, mode="global").status
    'non-injective'
    >>> check_deep(fold, mode="local").status
    'injective'
    """
    if method not in DEEP_METHODS:
        raise InvalidArgumentError(
            f"deep-network method must be one of {DEEP_METHODS}, got {method!r}"
        )
    budget = budget or Budget.seconds(time_limit)
    if method == "brute":
        from .brute_force import check_brute

        return check_brute(layers, mode=mode, x0=x0, box=box, time_limit=budget.remaining())
    if method == "heuristic":
        # Batched witness search (docs/heuristic.md): non-injective or unknown, never injective.
        from .heuristic_check import check_heuristic

        return check_heuristic(layers, mode=mode, budget=budget, box=box)
    if mode == "global":
        from .global_check import check_global

        return check_global(layers, budget=budget, box=box, threads=threads)
    if mode == "local":
        from .local_check import check_local

        return check_local(layers, budget=budget, box=box, threads=threads)
    if mode == "pointwise":
        from .pointwise_check import check_pointwise

        if x0 is None:
            raise InvalidArgumentError("mode='pointwise' needs x0, the input to check")
        return check_pointwise(layers, x0, budget=budget, box=box, threads=threads)
    raise InvalidArgumentError(f"unknown mode {mode!r}")


__all__ = ["DEEP_METHODS", "check_deep"]
