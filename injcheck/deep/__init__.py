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
        ``milp``: the checks of this package (exact searches, then MILPs). ``auto``: the
        same, except on bias-free nets without a box in local mode above ``n = 5`` and
        global mode above ``n = 4`` (where the exact checks often time out), where the
        heuristic search runs first with half of the budget: a verified witness is
        the verdict, otherwise the exact checks run with the rest (``unknown`` on a
        time-out). ``stats["auto"]["stages"]`` says which ran
        (:func:`.heuristic_check.auto_plan`, docs/deep_heuristic.md).
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
    if method == "auto":
        return _check_auto(layers, mode, budget, x0, box, threads)
    return _check_exact(layers, mode, budget, x0, box, threads)


def _check_auto(layers, mode: str, budget: Budget, x0, box, threads: int) -> Verdict:
    """``method="auto"``: the heuristic search first where the size rule says so
    (:func:`.heuristic_check.auto_plan`), then the exact pipeline with what is left."""
    from .heuristic_check import auto_heuristic, auto_plan

    plan = auto_plan(layers, mode, box)
    if plan is None:  # biases, a box, pointwise: the exact pipeline, as always
        return _check_exact(layers, mode, budget, x0, box, threads)
    if not plan:
        verdict = _check_exact(layers, mode, budget, x0, box, threads)
        verdict.stats = dict(verdict.stats or {}, auto={"stages": ["exact"]})
        return verdict
    found, summary = auto_heuristic(layers, mode=mode, budget=budget)
    if found is not None:
        found.stats["auto"] = {"stages": ["heuristic"], "heuristic": summary}
        return found
    verdict = _check_exact(layers, mode, budget, x0, box, threads)
    verdict.stats = dict(verdict.stats or {}, auto={"stages": ["heuristic", "exact"]})
    verdict.stats["auto"]["heuristic"] = summary
    if summary["heuristic_count"] is not None:
        # The search's bound, its own key (never an exact count): the sweep column.
        verdict.certificate = dict(
            verdict.certificate or {},
            heuristic_count=summary["heuristic_count"],
            heuristic_truncated=summary["heuristic_truncated"],
        )
    return verdict


def _check_exact(layers, mode: str, budget: Budget, x0, box, threads: int) -> Verdict:
    """The exact pipeline of ``mode`` (``milp``; ``auto`` below its size rule)."""
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
