"""Exact injectivity of one ReLU layer ``x -> ReLU(W x)``.

Three independent methods:

* ``gordan`` (default): LP-only branching on Gordan certificates with a pool of
  certificates and a disjoint-certificate bound (:mod:`.gordan`).
* ``milp``: the CVXPY/HiGHS MILP of :mod:`.milp`.
* ``brute``: exact enumeration of the arrangement's cells (:mod:`.brute_force`), ``n <= 3``.

Generic ``W`` (every ``n`` rows independent) is injective iff ``P*(W) >= n``; for
other ``W`` the rank form of the spanning criterion is decided instead.
"""

from __future__ import annotations

import time

import numpy as np

from ..budget import NODELESS_METHODS, Budget
from ..exceptions import InvalidArgumentError
from ..networks import Layer
from ..verdict import Verdict
from ..verify import exact_signs, verify_witness
from .brute_force import EnumerationTimeout, best_collision_pair, brute_force_layer
from .compiled import CompiledSearch, core_applies, p_star_compiled
from .geometry import cell_point, collision_from_cell_point, genericity, greedy_low_depth_cell
from .gordan import GordanSearch

__all__ = ["check_layer", "halfspace_depth"]

#: Largest n accepted by the brute-force method.
BRUTE_MAX_N = 4


def _verdict(weight, method, status, **fields) -> Verdict:
    m, n = weight.shape
    return Verdict(status=status, mode="global", method=method, architecture=[n, m], **fields)


def _unknown(weight, method, **fields) -> Verdict:
    return _verdict(weight, method, "unknown", **fields)


def _solver_unknown(
    weight, method, certificate, stats, solver_status, message, **fields
) -> Verdict:
    """An ``unknown`` verdict that keeps the solver's certificate, stats and status."""
    return _unknown(
        weight,
        method,
        certificate=certificate,
        stats=stats,
        solver_status=solver_status,
        message=message,
        **fields,
    )


def _witness_verdict(weight, method, x_cell, certificate, stats, solver_status) -> Verdict:
    """Turn a cell point with rank-deficient active rows into a verified verdict."""
    pair = collision_from_cell_point(weight, x_cell)
    if pair is None:
        message = "the solver's cell has spanning active rows; no witness could be built"
        return _solver_unknown(weight, method, certificate, stats, solver_status, message)
    return _verified(weight, method, pair, certificate, stats, solver_status)


def _verified(weight, method, pair, certificate, stats, solver_status) -> Verdict:
    check = verify_witness([Layer(weight)], *pair)
    if not check.ok:
        message = f"witness failed verification: {check.reason}"
        return _solver_unknown(
            weight, method, certificate, stats, solver_status, message, verification=check.to_dict()
        )
    active = int(np.sum(weight @ check.x > 0))
    certificate = dict(certificate, active_rows_at_x=active)
    return _verdict(
        weight,
        method,
        "non-injective",
        certificate=certificate,
        stats=stats,
        solver_status=solver_status,
        verification=check.to_dict(),
        witness={"x": check.x.tolist(), "y": check.y.tolist()},
    )


# --------------------------------------------------------------------------- gordan
def _decide_gordan(
    weight, budget: Budget, exact_certificates=False, compiled=True, workers: int | None = None
) -> Verdict:
    m, n = weight.shape
    gen = genericity(weight)
    criterion = "count" if gen.generic else "rank"
    cert = {
        "n": n,
        "m": m,
        "criterion": criterion,
        "genericity": gen.reason,
        "generic_verified": gen.verified,
    }
    if gen.generic:
        # A cheap greedy search settles many non-injective layers before any branching;
        # its point, like every other, becomes a verdict only after exact verification.
        x_cell = greedy_low_depth_cell(weight, n - 1)
        if x_cell is not None and np.sum(weight @ x_cell >= 0) <= n - 1:
            verdict = _witness_verdict(
                weight, "gordan", x_cell, cert, {"heuristic": True}, "greedy"
            )
            if verdict.status == "non-injective":
                return verdict
    if compiled and gen.generic and core_applies(weight) and not exact_certificates:
        # Count budget only: a non-generic W always takes the rank form below.
        search = CompiledSearch(
            weight,
            limit=n - 1,
            deadline=budget.deadline,
            workers=workers,
            node_limit=budget.nodes,
        )
    else:
        search = GordanSearch(
            weight,
            budget=criterion,
            limit=n - 1,
            packing=gen.generic,
            exact_certificates=exact_certificates,
            deadline=budget.deadline,
            node_limit=budget.nodes,
        )
    result = search.run()
    if result.outcome == "found":
        return _witness_verdict(weight, "gordan", result.x, cert, result.stats, "found")
    if result.outcome == "exhausted" and not search.ambiguous_span:
        if criterion == "count":
            cert["p_star_lower"] = n
        return _verdict(
            weight,
            "gordan",
            "injective",
            certificate=cert,
            stats=result.stats,
            solver_status="exhausted",
        )
    message = result.message or "a near-dependent row made the rank decisions fragile"
    return _unknown(
        weight,
        "gordan",
        certificate=cert,
        stats=result.stats,
        solver_status=result.outcome,
        message=message,
    )


def _p_star_gordan(
    weight, budget: Budget, start: int = 0, compiled: bool = True
) -> tuple[int | None, int, np.ndarray | None, dict, str]:
    """Exact P* by iterative deepening on the count budget, from ``P* >= start`` (proven).

    The compiled core (branch and bound) is used where it applies; on its trouble the
    pure-Python iterative deepening runs instead.

    Returns ``(p_star or None, proven lower bound, witness cell point, stats, status)``.
    """
    m, n = weight.shape
    if compiled and core_applies(weight):
        p_star, lower, x, stats, status = p_star_compiled(
            weight, budget.deadline, lower=start, node_limit=budget.nodes
        )
        if status != "trouble":
            return p_star, max(lower, start), x, stats, status
    zero_rows = int(np.sum(~weight.any(axis=1)))
    stats: dict = {"nodes": 0, "lps": 0}
    for k in range(max(zero_rows, start), m + 1):
        result = GordanSearch(
            weight, budget="count", limit=k, deadline=budget.deadline, node_limit=budget.nodes
        ).run()
        stats = {key: stats.get(key, 0) + result.stats.get(key, 0) for key in ("nodes", "lps")}
        if result.outcome == "found":
            return k, k, result.x, stats, "found"
        if result.outcome != "exhausted":
            return None, max(k, start), None, stats, result.outcome
    return m, m, None, stats, "exhausted"  # pragma: no cover - the all-rows set is always feasible


def _exact_value_gordan(weight, budget: Budget, compiled=True) -> Verdict:
    """The decision first, then ``P*(W)`` with the time that is left.

    The verdict rests on the decision alone: an injective layer has ``P* >= n`` (its
    non-negative rows span everywhere), so a P* search that times out afterwards only
    leaves ``p_star_lower`` short of ``p_star``; it never turns a proof into ``unknown``.
    """
    m, n = weight.shape
    decision = _decide_gordan(weight, budget, compiled=compiled)
    if decision.status == "unknown":
        return decision
    start = n if decision.status == "injective" else 0
    p_star, lower, x_best, stats, status = _p_star_gordan(
        weight, budget, start=start, compiled=compiled
    )
    cert = dict(decision.certificate, p_star_lower=lower)
    if p_star is not None:
        cert["p_star"] = p_star
    else:
        # Any x != 0 bounds P* by its count (exact signs keep the bound a proven one): the
        # decision's witness, and the best point of a P* search that was stopped.
        points = [x_best] if x_best is not None else []
        if decision.status == "non-injective" and decision.witness is not None:
            points.append(np.asarray(decision.witness["x"]))
        if points:
            counts = [int(np.sum(exact_signs(weight, x) >= 0)) for x in points]
            cert["p_star_upper"] = min(counts)
    decision.certificate = cert
    decision.stats = dict(decision.stats or {}, p_star_search=dict(stats, status=status))
    if p_star is None:
        reasons = {"timeout": "time limit reached", "node-limit": "node limit reached"}
        reason = reasons.get(status, f"search trouble ({status})")
        decision.message = f"P* not computed exactly ({reason}); the verdict stands"
    return decision


# --------------------------------------------------------------------------- milp
def _decide_milp(weight, budget, exact_value) -> Verdict:
    """Decide the layer, or compute ``P*`` with ``exact_value``, by the CVXPY/HiGHS MILP."""
    from .milp import build_layer_milp, solve_layer_milp  # cvxpy is slow to import

    m, n = weight.shape
    milp = build_layer_milp(weight, decision=not exact_value)
    result = solve_layer_milp(milp, time_limit=budget.solver_seconds())
    stats = {"binaries": milp.binaries, "solve_time": result.wall_time}
    cert: dict = {"n": n, "m": m}
    if result.dual_bound is not None and exact_value:
        cert["p_star_lower"] = int(np.ceil(result.dual_bound - 1e-6))
    if result.outcome in ("optimal", "feasible"):
        return _milp_incumbent(weight, result, cert, stats, budget, exact_value)
    if result.outcome == "infeasible" and not exact_value:
        return _milp_injective(weight, cert, stats, result.raw_status, budget)
    if cert.get("p_star_lower", 0) >= n:  # a time-out with no incumbent, but the bound holds
        return _milp_injective(weight, cert, stats, result.raw_status, budget)
    message = "time limit reached" if result.raw_status == "user_limit" else "solver trouble"
    return _milp_unknown(weight, cert, stats, result.raw_status, message)


def _milp_incumbent(weight, result, cert, stats, budget: Budget, exact_value) -> Verdict:
    """The verdict from the MILP's incumbent (solved to optimality or not)."""
    n = weight.shape[1]
    x = result.values["x"]
    count = int(round(float(np.sum(result.values["z"]))))
    if exact_value:
        cert["p_star_upper"] = count
        if result.outcome == "optimal":
            cert["p_star"] = count
    if count <= n - 1:
        return _milp_low_count(weight, result, cert, stats, budget)
    if result.outcome == "feasible":
        if cert.get("p_star_lower", 0) >= n:
            # The dual bound already proves P* >= n: the time-out only cost the value.
            return _milp_injective(weight, cert, stats, result.raw_status, budget)
        return _milp_unknown(weight, cert, stats, result.raw_status, "time limit reached")
    # Optimal with >= n positive rows: sanity-check the incumbent against its count.
    if int(np.sum(weight @ x > 1e-9 * np.abs(weight).sum(axis=1))) > count:
        message = "solver point disagrees with its objective"
        return _milp_unknown(weight, cert, stats, result.raw_status, message)
    return _milp_injective(weight, cert, stats, result.raw_status, budget)


def _milp_low_count(weight, result, cert, stats, budget: Budget) -> Verdict:
    """An incumbent with fewer than ``n`` positive rows: a witness, or the rank form."""
    # Push the rows the MILP kept non-positive strictly negative (exact cell normalisation).
    cell = cell_point(weight, result.values["z"] < 0.5)
    verdict = (
        None
        if cell is None
        else _witness_verdict(weight, "milp", cell, cert, stats, result.raw_status)
    )
    if verdict is not None and verdict.status == "non-injective":
        return verdict
    if not genericity(weight).generic:
        # The MILP counts rows > 0, a lower bound on P* when W is not generic:
        # its point need not be a witness. Decide the rank form instead.
        return _rank_fallback(weight, cert, budget)
    return verdict or _milp_unknown(
        weight, cert, stats, result.raw_status, "the MILP point is not in an open cell"
    )


def _milp_unknown(weight, cert, stats, raw_status, message) -> Verdict:
    """An ``unknown`` verdict of the MILP method."""
    return _solver_unknown(weight, "milp", cert, stats, raw_status, message)


def _milp_injective(weight, cert, stats, raw_status, budget: Budget) -> Verdict:
    """P* >= n is proven; injectivity follows for generic W, else confirm with the rank form."""
    n = weight.shape[1]
    cert.setdefault("p_star_lower", n)
    gen = genericity(weight)
    cert.update(genericity=gen.reason, generic_verified=gen.verified)
    if gen.generic:
        cert["criterion"] = "count"
        return _verdict(
            weight, "milp", "injective", certificate=cert, stats=stats, solver_status=raw_status
        )
    return _rank_fallback(weight, cert, budget)


def _rank_fallback(weight, cert, budget: Budget) -> Verdict:
    """Non-generic W: the MILP's count is not the criterion; decide the rank form."""
    rank_verdict = _decide_gordan(weight, budget)
    rank_verdict.method = "milp+rank"
    rank_verdict.certificate = dict(cert, **rank_verdict.certificate)
    return rank_verdict


# --------------------------------------------------------------------------- brute
def _decide_brute(weight, budget: Budget) -> Verdict:
    m, n = weight.shape
    if n > BRUTE_MAX_N:
        raise InvalidArgumentError(
            f"method='brute' enumerates cells and needs n <= {BRUTE_MAX_N}, got n={n}"
        )
    start = time.perf_counter()
    try:
        found = brute_force_layer(weight, budget.deadline)
    except EnumerationTimeout:
        return _unknown(
            weight,
            "brute",
            certificate={"n": n, "m": m},
            stats={"enumeration_time": time.perf_counter() - start},
            solver_status="timeout",
            message="time limit reached before every cell was enumerated",
        )
    stats = {"cells": found["cells"], "enumeration_time": time.perf_counter() - start}
    cert = {"n": n, "m": m, "p_star": found["p_star"], "criterion": "rank"}
    if found["injective"]:
        return _verdict(
            weight, "brute", "injective", certificate=cert, stats=stats, solver_status="enumerated"
        )
    x_q, y_q = best_collision_pair(weight, found["witness_points"])
    pair = (np.array([float(v) for v in x_q]), np.array([float(v) for v in y_q]))
    return _verified(weight, "brute", pair, cert, stats, "enumerated")


# --------------------------------------------------------------------------- public
def check_layer(
    weight: np.ndarray,
    *,
    method: str = "auto",
    time_limit: float | None = None,
    exact_value: bool = False,
    budget: Budget | None = None,
    threads: int = 1,
) -> Verdict:
    """Decide injectivity of ``x -> ReLU(W x)`` (validated float64 ``W`` of shape ``(m, n)``).

    Parameters
    ----------
    method : {"auto", "gordan", "gordan-python", "milp", "brute"}
        ``gordan`` runs the compiled core (:mod:`.compiled`) where it applies (generic W
        without zero rows, m <= 256), ``gordan-python`` the pure-Python reference search.
        ``heuristic``: batched witness search, non-injective or unknown
        (:mod:`.heuristic_check`, which also states the size rule of ``auto``).
    time_limit : float, optional
        Seconds; on expiry the verdict is ``unknown`` with the bounds proven so far.
    exact_value : bool
        Also compute ``P*(W)`` exactly (``certificate["p_star"]``).
    budget : Budget, optional
        The caller's budget (:mod:`injcheck.budget`); overrides ``time_limit``. Its node
        limit (``budget.nodes``) bounds each Gordan search tree; the methods without one
        (``milp``, ``brute``, ``heuristic``) refuse it.
    threads : int
        Above 1, the compiled decision search splits its tree over this many threads
        (:class:`.compiled.CompiledSearch` ``workers``): the same status and, for any
        ``threads >= 2``, the same witness. Not under a node limit, whose search runs on
        one thread (so the verdict is the same for every ``threads``).

    Returns
    -------
    Verdict
    """
    budget = budget or Budget.seconds(time_limit)
    if budget.nodes is not None and method in NODELESS_METHODS:
        raise InvalidArgumentError(
            f"node_limit bounds the Gordan search (methods auto, gordan, gordan-python); "
            f"method {method!r} has no nodes to count"
        )
    if method == "heuristic" or (method == "auto" and not exact_value):
        from .heuristic_check import auto_heuristic, decide_heuristic  # imports torch

        if method == "heuristic":
            if exact_value:
                raise InvalidArgumentError(
                    "exact_value needs an exact method (gordan, milp, brute); the heuristic "
                    "gives only an upper bound on P* (certificate['heuristic_count'])"
                )
            return decide_heuristic(weight, time_limit=budget.remaining())
        # Under a node limit the heuristic runs uncut (it counts steps, not seconds, and
        # takes about a second at n = 15): a time share could cut it on a loaded machine
        # and leave to the node-limited search a layer it would have settled.
        share = None if budget.nodes is not None else budget.remaining()
        verdict = auto_heuristic(weight, share)
        if verdict is not None:
            return verdict
    if method == "brute":
        return _decide_brute(weight, budget)
    if method == "milp":
        return _decide_milp(weight, budget, exact_value)
    compiled = method != "gordan-python"
    if not exact_value:
        workers = threads if threads > 1 else None
        return _decide_gordan(weight, budget, compiled=compiled, workers=workers)
    return _exact_value_gordan(weight, budget, compiled=compiled)


def halfspace_depth(
    weight, *, method: str = "gordan", time_limit: float | None = None
) -> int | None:
    """``P*(W) = min_{x != 0} #{i : <w_i, x> >= 0}``, the halfspace depth of the origin.

    Returns None when the time limit is reached first.

    Examples
    --------
    >>> import numpy as np
    >>> halfspace_depth(np.array([[1.0], [-1.0], [2.0]]))
    1
    """
    from ..networks import make_layers

    weight = make_layers([weight])[0].weight
    if method == "brute":
        return _decide_brute(weight, Budget.seconds(time_limit)).certificate.get("p_star")
    if method == "milp":
        return _decide_milp(weight, Budget.seconds(time_limit), True).certificate.get("p_star")
    return _p_star_gordan(weight, Budget.seconds(time_limit))[0]
