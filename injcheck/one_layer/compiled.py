"""The compiled search core (``_cellsearch``, C++ via pybind11) behind the count budget.

It runs the search of :mod:`.gordan` for generic ``W`` (count budget ``|A| <= limit``):
a dense simplex for the certificate LPs, certificates re-checked in safe floating
point before they prune (see ``_core/cellsearch.cpp``), active certificates kept
incrementally down the tree, a packing bound and an exact hitting-set bound over the
active certificates (implicit hitting set: a hitting set is tested by the LP and either
is a witness or adds a certificate). Witness sets come back as allowed rows; the cell
point is computed and verified here, in Python, as for every other method.

A node whose certificate LP gives nothing the safe check accepts (0 within rounding of
the boundary of the rows' hull) is branched on every free row when deciding, which is exact
without settling the node (``stats["doubtful_nodes"]``). If the core still reports trouble
(such a node with no room or no free row, while minimising or writing a proof; a
degenerate LP), the search is repeated with the pure-Python :class:`.gordan.GordanSearch`,
which is also the test oracle for this module.
"""

from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

try:
    from . import _cellsearch
except ImportError as exc:  # a source tree without the build step: say what to run
    raise ImportError(
        "injcheck's compiled core (injcheck/one_layer/_cellsearch) is not built in "
        f"{os.path.dirname(__file__)}: run `pip install -e .` or "
        "`python setup.py build_ext --inplace` there"
    ) from exc
from .geometry import cell_point
from .gordan import GordanSearch, SearchResult

__all__ = ["CompiledSearch", "CoreOptions", "check_certificate"]

#: Seed of the local search's random directions (results do not depend on it; times do).
LOCAL_SEARCH_SEED = 16


@dataclass(frozen=True)
class CoreOptions:
    """Tuning of the compiled search (defaults: what measured best, docs/one_layer.md).

    packing : bool
        The disjoint-certificate bound.
    hs_room : int
        Run the exact hitting-set bound at nodes with at most this many releases left.
    hs_budget : int
        Nodes of the hitting-set branch and bound per call (beyond it: no pruning).
    hs_rounds : int
        Implicit-hitting-set rounds per node (LP tests of a hitting set found).
    hs_family : int
        The bound uses at most this many active certificates (smallest free parts first).
    act_cap : int
        A child inherits at most this many active certificates (smallest free parts first).
    ls_size : int
        ``P*`` only: the local search drops up to this many rows of a witness set at a time.
    ls_restarts : int or None
        ``P*`` only: descents of the local search from seeded random directions. None:
        10 for ``n >= 10``, else 0 (measured: they save 5-15% of the P* time at n = 10-12
        and cost 20-50% of it, a few milliseconds a layer, at n <= 8).
    warm_lp : bool
        Start each certificate LP from the previous LP's basis (else a cold two-phase LP).
    transversal : bool
        Where the packing stops exactly one certificate short, search the transversals of
        the packed parts (one released row per part) against the other active certificates
        (``_core/cellsearch.cpp``, ``transversal_bound``). Not used when writing proofs.
    lp_branch : bool
        Before branching, ask the LP for a certificate (least weight on the free rows) and
        branch on it when it has fewer free rows than the smallest active one. Not used
        when writing proofs (each extra certificate costs rational arithmetic there).
    """

    packing: bool = True
    hs_room: int = 0
    hs_budget: int = 2000
    hs_rounds: int = 3
    hs_family: int = 256
    act_cap: int = 300
    ls_size: int = 3
    ls_restarts: int | None = None
    warm_lp: bool = True
    transversal: bool = True
    lp_branch: bool = True


def check_certificate(weight: np.ndarray, support) -> np.ndarray | None:
    """The core's safe check of a Gordan certificate: positive weights, or None.

    ``support`` must have ``n + 1`` rows; the weights solve ``W_S^T lam = 0, sum lam = 1``
    and are returned only when an a-posteriori error bound proves every exact weight > 0.
    """
    lam = _cellsearch.check_certificate(np.ascontiguousarray(weight, float), list(support))
    return None if lam is None else np.array(lam)


class CompiledSearch:
    """Count-budget search in compiled code: is there a cell with at most ``limit`` rows >= 0?

    Parameters
    ----------
    weight : (m, n) array without zero rows, m <= 256
    limit : int
        Largest ``|A|`` searched for.
    minimise : bool
        Keep searching after a witness with a smaller limit: the last witness has the
        fewest rows (``P*`` when the search is exhausted).
    deadline : float or None
        ``time.perf_counter()`` value at which to give up.
    options : CoreOptions
    workers : int or None
        None: one search of the whole tree. An integer: the tree is split two levels
        below the root (about (n + 1)^2 / 2 subtrees, :meth:`_regions`), and the subtrees
        run on that many threads, each taking the next one as it frees up (each with its
        own pool); outcome, nodes and witness are the same for any number of workers (the
        witness of the first subtree, in order, that has one).
    lower : int
        A proven bound ``P* >= lower``: minimising stops at a witness with ``lower`` rows.
    node_limit : int or None
        Stop (outcome ``"node-limit"``) after this many nodes of the tree, including the
        nodes of :meth:`improve`. Unlike the deadline it gives the same outcome on any
        machine under any load. A node-limited search is never split over ``workers``:
        which subtree would use up a shared count first depends on the threads' timing.
    """

    def __init__(
        self,
        weight: np.ndarray,
        *,
        limit: int,
        minimise: bool = False,
        deadline: float | None = None,
        options: CoreOptions | None = None,
        workers: int | None = None,
        lower: int = 0,
        node_limit: int | None = None,
    ):
        self.weight = np.ascontiguousarray(weight, dtype=float)
        self.limit = int(limit)
        self.minimise = minimise
        self.deadline = deadline
        self.options = options or CoreOptions()
        self.workers = workers
        self.lower = int(lower)
        self.node_limit = node_limit
        self._prepared = None  # the core improve() ran on, with its pool, for run()
        self.ambiguous_span = False  # the count budget has no span decisions
        self.fallback = False

    def _seconds_left(self) -> float:
        if self.deadline is None:
            return 0.0  # the core reads 0 as "no limit"
        return max(self.deadline - time.perf_counter(), 1e-3)

    def _core(self):
        opts = self.options
        core = _cellsearch.Search(
            self.weight,
            self.limit,
            packing=opts.packing,
            hs_room=opts.hs_room,
            hs_budget=opts.hs_budget,
            hs_rounds=opts.hs_rounds,
            hs_family=opts.hs_family,
            act_cap=opts.act_cap,
            minimise=self.minimise,
            time_limit=self._seconds_left(),
            lower=self.lower,
            warm_lp=opts.warm_lp,
            transversal=opts.transversal,
            lp_branch=opts.lp_branch,
        )
        if self.node_limit is not None:
            core.set_node_limit(self.node_limit)
        return core

    def improve(self, start) -> list[int]:
        """The core's local search from the witness set ``start`` (rows allowed >= 0).

        Returns the smallest witness set found (``start`` itself when none is smaller).
        The next :meth:`run` continues on the same core, whose pool the local search filled.
        """
        opts = self.options
        restarts = opts.ls_restarts
        if restarts is None:
            restarts = 10 if self.weight.shape[1] >= 10 else 0
        self._prepared = self._core()
        return self._prepared.improve(
            [int(i) for i in start], opts.ls_size, restarts, LOCAL_SEARCH_SEED
        )

    def _regions(self) -> list[tuple[list[int], list[int]]] | None:
        """The subtrees two levels below the root, in the order of a serial search.

        Child ``i`` of a node releases row ``i`` of a certificate that misses the node's
        allowed rows and forbids the certificate's rows before it; every witness set below
        the node contains a non-forbidden row of that certificate, so the children cover the
        node. None when the root has no safe certificate (no split).
        """
        probe = self._core()
        root = probe.certificate_at([], [])
        if not root:
            return None
        regions = []
        for i, row in enumerate(root):
            allowed, forbidden = [row], root[:i]
            below = probe.certificate_at(allowed, forbidden) if self.limit >= 2 else None
            if not below:  # no second level here: the core searches the whole child
                regions.append((allowed, forbidden))
                continue
            free = [r for r in below if r not in forbidden]  # none free: the child is empty
            regions += [(allowed + [r], forbidden + free[:j]) for j, r in enumerate(free)]
        return regions

    def _split(self) -> dict | None:
        """Run the subtrees of :meth:`_regions` on ``workers`` threads (None: no split).

        Threads take regions in order as they free up, so a large region does not hold the
        others back; each region has its own core and pool, so outcome, node count and
        witness (that of the first region in order that has one) do not depend on the
        number of workers.
        """
        regions = self._regions() if self.limit >= 1 else None
        if not regions:
            return None

        def solve(region):
            core = self._core()
            core.start_at(*region)
            return core.run()  # releases the GIL

        with ThreadPoolExecutor(max_workers=self.workers) as pool:
            outs = list(pool.map(solve, regions))
        # Counters add up over the regions (the times are per region, so they are left out).
        counters = [k for k, v in outs[0]["stats"].items() if isinstance(v, int)]
        stats = {key: sum(o["stats"].get(key, 0) for o in outs) for key in counters}
        stats.update(subtrees=len(outs), workers=self.workers)
        # A witness is a fact (verified by finish()), so it outranks another region's trouble.
        for kind in ("found", "trouble", "timeout"):
            hit = [o for o in outs if o["outcome"] == kind]
            if hit:
                return dict(hit[0], stats=stats)
        return {"outcome": "exhausted", "message": "", "found_rows": [], "stats": stats}

    def run(self) -> SearchResult:
        split = self.workers is not None and not self.minimise and self.node_limit is None
        out = self._split() if split else None
        if out is None:
            core, self._prepared = self._prepared or self._core(), None
            core.set_limit(self.limit)
            out = core.run()
        return self.finish(out)

    def finish(self, out: dict) -> SearchResult:
        """The :class:`SearchResult` of a core run's output (witness sets become points)."""
        stats = dict(out["stats"], engine="compiled")
        if out["outcome"] == "trouble":
            return self._fallback(out["message"], stats)
        if out["outcome"] in ("timeout", "node-limit") and out["found_rows"]:
            # Minimising: the best witness so far is kept, the optimum is not proven.
            x, allowed = self._cell(out["found_rows"])
            return SearchResult(out["outcome"], x, allowed, stats, out["message"])
        if out["outcome"] != "found":
            return SearchResult(out["outcome"], None, None, stats, out["message"])
        x, allowed = self._cell(out["found_rows"])
        if x is None:
            return self._fallback("the core's witness set has no strictly negative point", stats)
        return SearchResult("found", x, allowed, stats)

    def _cell(self, rows) -> tuple[np.ndarray | None, np.ndarray]:
        allowed = np.zeros(self.weight.shape[0], dtype=bool)
        allowed[list(rows)] = True
        return cell_point(self.weight, ~allowed), allowed

    def _fallback(self, why: str, stats: dict) -> SearchResult:
        """Repeat the search in pure Python (gordan) when the core cannot be trusted."""
        self.fallback = True
        if self.minimise:
            return SearchResult("trouble", None, None, stats, why)
        result = GordanSearch(
            self.weight,
            budget="count",
            limit=self.limit,
            deadline=self.deadline,
            node_limit=self.node_limit,
        ).run()
        result.stats = dict(result.stats, engine="gordan (core fallback)", core_trouble=why)
        return result


def core_applies(weight: np.ndarray) -> bool:
    """Whether the compiled core can run on ``W`` (no zero rows, at most 256 rows)."""
    return weight.shape[0] <= 256 and bool(np.all(np.any(weight != 0, axis=1)))


def p_star_compiled(
    weight: np.ndarray,
    deadline: float | None,
    options: CoreOptions | None = None,
    lower: int = 0,
    node_limit: int | None = None,
) -> tuple[int | None, int, np.ndarray | None, dict, str]:
    """Exact ``P*(W)`` by branch and bound in the core (same return as ``_p_star_gordan``).

    ``lower``: a proven bound ``P* >= lower`` (``n`` once the decision proved injectivity).
    The upper bound comes from the greedy heuristic improved by the core's local search
    (``Search.improve``); when it meets ``lower`` nothing is left to search. Otherwise the
    core minimises from one below it (every witness lowers the limit; a witness with
    ``lower`` rows ends the search) on the pool the local search filled, and an exhausted
    search proves the best set optimal. Every witness set becomes a cell point here and
    its count is checked before it is returned. ``node_limit`` bounds the local search and
    the minimising search together (:class:`CompiledSearch`).
    Returns ``(p_star or None, proven lower bound, witness cell point, stats, status)``;
    when the search was stopped (time or node limit) the point is the best one found, whose
    count bounds ``P*`` from above.
    """
    from .geometry import greedy_low_depth_cell

    m = weight.shape[0]
    x_greedy = greedy_low_depth_cell(weight, m)
    if x_greedy is None:  # pragma: no cover - the greedy always ends in a cell
        return None, 0, None, {"engine": "compiled"}, "trouble"
    search = CompiledSearch(
        weight,
        limit=m,
        minimise=True,
        deadline=deadline,
        options=options,
        lower=lower,
        node_limit=node_limit,
    )
    rows = search.improve(np.flatnonzero(weight @ x_greedy >= 0))
    x_best, _ = search._cell(rows)
    if x_best is None or int(np.sum(weight @ x_best >= 0)) > len(rows):
        # A witness set's cell point has at most its rows >= 0; anything else is a
        # numerical doubt about the set, which the exact search must not build on.
        return None, 0, None, {"engine": "compiled"}, "trouble"
    upper = int(np.sum(weight @ x_best >= 0))
    if upper <= lower:
        # The local search reached the proven bound: nothing is left to search.
        stats = dict(search._prepared.result()["stats"], engine="compiled")
        return upper, upper, x_best, stats, "found"
    search.limit = upper - 1
    return _p_star_outcome(weight, search.run(), upper, x_best)


def _p_star_outcome(weight, result, upper, x_best):
    """The return of :func:`p_star_compiled` from the minimising search's result."""
    stats = result.stats
    if result.outcome == "exhausted":
        return upper, upper, x_best, stats, "found"
    if result.outcome == "found":
        count = int(np.sum(weight @ result.x >= 0))
        if count != int(result.allowed.sum()) or count >= upper:
            # The cell point sits in a cell with fewer non-negative rows than the core's set:
            # then the core missed a smaller set, which its exhausted search rules out.
            return None, 0, None, stats, "trouble"
        return count, count, result.x, stats, "found"
    if result.outcome in ("timeout", "node-limit"):
        # Stopped: P* is not known, but the best cell point found bounds it from above.
        better = result.x is not None and int(np.sum(weight @ result.x >= 0)) < upper
        return None, 0, result.x if better else x_best, stats, result.outcome
    return None, 0, None, stats, result.outcome
