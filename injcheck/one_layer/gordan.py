"""Exact search for a low-depth cell by branching on Gordan certificates (LP only).

The question "is there x != 0 whose non-negative rows are few (or fail to span)?"
is answered by a depth-first search over sets ``A`` of rows *allowed* to be
non-negative. At a node every other row must be strictly negative; by Gordan's
theorem either that open cone is non-empty (a witness cell) or ``0`` is in the
convex hull of those rows, and an LP returns the weights ``lam`` (a certificate
with at most ``n + 1`` rows). Any witness below the node must release one row of
the certificate, so we branch on it; siblings already explored are *forbidden*
(they stay negative), which makes the tree a partition of the search space.

Two budgets:

* ``count``: ``|A| <= k``; finds whether ``P*(W) <= k`` (P* = halfspace depth of 0).
* ``rank``: ``rank(W_A) <= n - 1`` with ``A`` closed under linear span; this is the
  spanning criterion of Puthawala et al. and is exact for non-generic ``W``.

Pruning (valid in the count budget, and in the rank budget for generic ``W``): if
``b + 1`` certificates have pairwise disjoint non-forbidden parts, ``b`` more
releases cannot break them all. The certificate LP minimises the weight on
non-forbidden rows, so certificates lean on forbidden rows and prune early.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from ..solvers import quiet_highs
from .geometry import (
    SPAN_TOL,
    cell_point,
    certificate_is_exact,
    certificate_is_valid,
    minimal_support,
    to_csc,
)

#: lam_i above this (relative to sum lam = 1) puts row i in the certificate's support.
SUPPORT_TOL = 1e-9


class SearchTrouble(Exception):
    """The LP solver or a certificate check failed: the search cannot be trusted."""


class SearchTimeout(Exception):
    """The deadline passed."""


class SearchNodeLimit(Exception):
    """The node limit was reached."""


@dataclass
class SearchResult:
    """Outcome of one search.

    outcome : {"found", "exhausted", "timeout", "node-limit", "trouble"}
        ``exhausted`` is the proof: no admissible ``A`` has a non-empty cone. ``timeout``
        (the deadline passed) depends on the machine and its load, ``node-limit`` does not.
    """

    outcome: str
    x: np.ndarray | None = None
    allowed: np.ndarray | None = None
    stats: dict = field(default_factory=dict)
    message: str = ""


class CertificateLP:
    """``min c^T lam  s.t.  U^T lam = 0, sum(lam) = 1, 0 <= lam_i <= ub_i`` on unit rows ``U``.

    One HiGHS instance is kept for the whole search; only bounds and costs change
    between nodes, so every solve is warm-started from the previous basis.
    """

    def __init__(self, unit_rows: np.ndarray):
        import highspy

        self._highspy = highspy
        m, n = unit_rows.shape
        self.m = m
        self.highs = quiet_highs()
        lp = highspy.HighsLp()
        lp.num_col_, lp.num_row_ = m, n + 1
        lp.col_cost_ = np.ones(m)
        lp.col_lower_ = np.zeros(m)
        lp.col_upper_ = np.full(m, highspy.kHighsInf)
        rhs = np.zeros(n + 1)
        rhs[-1] = 1.0
        lp.row_lower_, lp.row_upper_ = rhs, rhs.copy()
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        starts, index, values = to_csc(np.vstack([unit_rows.T, np.ones(m)]))
        lp.a_matrix_.start_, lp.a_matrix_.index_, lp.a_matrix_.value_ = starts, index, values
        # Tight tolerances: a certificate accepted at 1e-7 may not be one (see _certificate).
        self.highs.setOptionValue("primal_feasibility_tolerance", 1e-10)
        self.highs.setOptionValue("dual_feasibility_tolerance", 1e-10)
        self.highs.passModel(lp)
        self._all = np.arange(m, dtype=np.int32)
        self._zeros = np.zeros(m)
        self.solves = 0

    def solve(self, excluded: np.ndarray, cost: np.ndarray) -> np.ndarray | None:
        """Certificate weights, or None when no certificate exists (the cone is non-empty)."""
        hs = self._highspy
        upper = np.where(excluded, 0.0, hs.kHighsInf)
        self.highs.changeColsBounds(self.m, self._all, self._zeros, upper)
        self.highs.changeColsCost(self.m, self._all, cost)
        self.highs.run()
        self.solves += 1
        status = self.highs.getModelStatus()
        if status not in (hs.HighsModelStatus.kOptimal, hs.HighsModelStatus.kInfeasible):
            # Rare numerical trouble of a warm start: solve again from scratch once.
            self.highs.clearSolver()
            self.highs.run()
            status = self.highs.getModelStatus()
        if status == hs.HighsModelStatus.kOptimal:
            return np.array(self.highs.getSolution().col_value)
        if status == hs.HighsModelStatus.kInfeasible:
            return None
        raise SearchTrouble(f"certificate LP ended with status {status.name}")


class GordanSearch:
    """Depth-first search for a cell whose allowed rows fit the budget.

    Parameters
    ----------
    weight : (m, n) array
    budget : {"count", "rank"}
    limit : int
        Count budget: the largest ``|A|``. Rank budget: ignored (``rank(A) <= n-1``).
    packing : bool
        Use the disjoint-certificate bound (only valid for the rank budget when W is generic).
    exact_certificates : bool
        Also check every certificate in rational arithmetic (slow; for audits and tests).
    deadline : float or None
        ``time.perf_counter()`` value at which to give up.
    node_limit : int or None
        Give up (outcome ``"node-limit"``) after this many nodes.
    """

    def __init__(
        self,
        weight: np.ndarray,
        *,
        budget: str = "count",
        limit: int | None = None,
        packing: bool = True,
        exact_certificates: bool = False,
        deadline: float | None = None,
        node_limit: int | None = None,
    ):
        self.weight = weight
        m, n = weight.shape
        self.n = n
        norms = np.linalg.norm(weight, axis=1)
        self.zero_rows = norms == 0
        self.unit = np.where(
            self.zero_rows[:, None], 0.0, weight / np.where(norms > 0, norms, 1)[:, None]
        )
        self.budget = budget
        self.limit = n - 1 if limit is None else int(limit)
        self.packing = packing
        self.exact_certificates = exact_certificates
        self.deadline = deadline
        self.node_limit = node_limit
        self.lp = CertificateLP(self.unit)
        self.pool = CertificatePool(m)
        self.nodes = 0
        self.pruned_by_packing = 0
        self.ambiguous_span = False
        self.rejected_certificates = 0

    # ------------------------------------------------------------------ helpers
    def _room(self, allowed: np.ndarray, basis: np.ndarray) -> int:
        """How many more releases the budget allows at this node."""
        if self.budget == "count":
            return self.limit - int(allowed.sum())
        return self.n - 1 - basis.shape[0]

    def _release(self, allowed: np.ndarray, basis: np.ndarray, row: int):
        """Child state after allowing ``row``; closes A under span in the rank budget."""
        child = allowed.copy()
        child[row] = True
        if self.budget == "count":
            return child, basis
        vec = self.unit[row] - basis.T @ (basis @ self.unit[row])
        vec /= np.linalg.norm(vec)
        new_basis = np.vstack([basis, vec])
        residual = np.linalg.norm(self.unit - (self.unit @ new_basis.T) @ new_basis, axis=1)
        in_span = (residual < SPAN_TOL) & ~self.zero_rows
        if np.any((residual >= SPAN_TOL) & (residual < 1e-6) & ~self.zero_rows):
            self.ambiguous_span = True  # a near-dependent row: rank decisions are fragile
        child |= in_span
        return child, new_basis

    def _certificate(self, excluded: np.ndarray, cost: np.ndarray) -> np.ndarray | None:
        lam = self.lp.solve(excluded, cost)
        if lam is None:
            return None
        support = np.flatnonzero(lam > SUPPORT_TOL)
        if support.size == 0 or np.any(excluded[support]):
            raise SearchTrouble("certificate LP returned an empty or excluded support")
        support = minimal_support(self.unit, support, lam[support])
        if not certificate_is_valid(self.unit, support):
            # The LP accepted weights within its tolerance that are no certificate: 0 is
            # only near the hull, so the cone may be a thin open cell. Treat it as "no
            # certificate"; the caller then needs an actual strictly negative point.
            self.rejected_certificates += 1
            return None
        if self.exact_certificates and not certificate_is_exact(self.weight, support):
            raise SearchTrouble("a Gordan certificate failed its exact rational check")
        return support

    # ------------------------------------------------------------------ search
    def run(self) -> SearchResult:
        start = time.perf_counter()
        allowed = self.zero_rows.copy()
        forbidden = np.zeros_like(allowed)
        basis = np.zeros((0, self.n))
        try:
            found = self._node(allowed, forbidden, basis)
            outcome = "found" if found is not None else "exhausted"
            x, allowed_at = found if found is not None else (None, None)
            message = ""
        except SearchTimeout:
            outcome, x, allowed_at, message = "timeout", None, None, "time limit reached"
        except SearchNodeLimit:
            message = f"node limit reached ({self.node_limit} nodes)"
            outcome, x, allowed_at = "node-limit", None, None
        except SearchTrouble as exc:
            outcome, x, allowed_at, message = "trouble", None, None, str(exc)
        stats = {
            "nodes": self.nodes,
            "lps": self.lp.solves,
            "certificates": self.pool.size,
            "pruned_by_packing": self.pruned_by_packing,
            "rejected_certificates": self.rejected_certificates,
            "search_time": time.perf_counter() - start,
        }
        return SearchResult(outcome, x, allowed_at, stats, message)

    def _new_certificate(self, excluded: np.ndarray, forbidden: np.ndarray) -> int | None:
        """Solve the certificate LP; add the certificate to the pool and return its index."""
        support = self._certificate(excluded, np.where(forbidden, 0.0, 1.0))
        if support is None:
            return None
        mask = np.zeros(self.weight.shape[0], dtype=bool)
        mask[support] = True
        return self.pool.add(mask)

    def _node(self, allowed, forbidden, basis):
        self.nodes += 1
        if self.deadline is not None and time.perf_counter() > self.deadline:
            raise SearchTimeout
        if self.node_limit is not None and self.nodes > self.node_limit:
            raise SearchNodeLimit
        allowed_bits, forbidden_bits = self.pool.bits(allowed), self.pool.bits(forbidden)
        active = self.pool.disjoint_from(allowed_bits)
        if active.size == 0:
            index = self._new_certificate(allowed, forbidden)
            if index is None:
                x = cell_point(self.weight, ~allowed)
                if x is None:
                    raise SearchTrouble("no certificate, yet no strictly negative point was found")
                return x, allowed
            active = np.array([index])
        free_sizes = self.pool.free_sizes(active, forbidden_bits)
        if free_sizes.min() == 0:
            return None  # a certificate of forbidden rows alone: the cone is empty
        room = self._room(allowed, basis)
        if room <= 0:
            return None
        order = np.argsort(free_sizes, kind="stable")
        branch_on = active[order[0]]
        if self.packing and self._packing_bound_exceeds(allowed, forbidden, active[order], room):
            self.pruned_by_packing += 1
            return None
        free = np.flatnonzero(self.pool.mask(branch_on) & ~forbidden)
        # Release first the rows that break the most known certificates: measured to
        # halve the tree at n = 10 (later siblings, with more rows forbidden, prune fast).
        hits = self.pool.row_counts(active)[free]
        free = free[np.argsort(-hits, kind="stable")]
        child_forbidden = forbidden.copy()
        for row in free:
            child, child_basis = self._release(allowed, basis, row)
            if self._room(child, child_basis) >= 0 and not np.any(child & child_forbidden):
                found = self._node(child, child_forbidden.copy(), child_basis)
                if found is not None:
                    return found
            child_forbidden[row] = True
        return None

    def _packing_bound_exceeds(self, allowed, forbidden, candidates, room) -> bool:
        """True if ``room + 1`` certificates with pairwise disjoint non-forbidden parts exist.

        Greedy over the pool (smallest free part first), then new certificates from
        the LP with the rows already used excluded.
        """
        free_bits = self.pool.data[candidates] & ~self.pool.bits(forbidden)
        used = np.zeros(self.pool.words, dtype=np.uint64)
        count = 0
        while count <= room:
            disjoint = np.flatnonzero(~(free_bits & used).any(axis=1))
            if disjoint.size == 0:
                break
            used |= free_bits[disjoint[0]]  # candidates are sorted by free size
            free_bits = free_bits[disjoint[1:]]
            count += 1
        if count > room:
            return True
        excluded = allowed | self.pool.unbits(used)
        while count <= room:
            index = self._new_certificate(excluded, forbidden)
            if index is None:
                return False
            more = self.pool.mask(index) & ~forbidden
            if not more.any():
                return True
            excluded |= more
            count += 1
        return True


class CertificatePool:
    """Supports of all certificates found so far, as rows of 64-bit words.

    A certificate stays valid at every node whose allowed set misses it, so the pool
    replaces most LP solves by bitwise operations.
    """

    def __init__(self, m: int):
        self.m = m
        self.words = (m + 63) // 64
        self.data = np.zeros((64, self.words), dtype=np.uint64)
        self.size = 0

    def bits(self, mask: np.ndarray) -> np.ndarray:
        padded = np.zeros(self.words * 64, dtype=bool)
        padded[: self.m] = mask
        return np.packbits(padded, bitorder="little").view(np.uint64)

    def unbits(self, bits: np.ndarray) -> np.ndarray:
        return np.unpackbits(bits.view(np.uint8), bitorder="little")[: self.m].astype(bool)

    def mask(self, index: int) -> np.ndarray:
        return self.unbits(self.data[index])

    def add(self, mask: np.ndarray) -> int:
        if self.size == self.data.shape[0]:
            self.data = np.vstack([self.data, np.zeros_like(self.data)])
        self.data[self.size] = self.bits(mask)
        self.size += 1
        return self.size - 1

    def disjoint_from(self, bits: np.ndarray) -> np.ndarray:
        """Indices of certificates with no row in ``bits``."""
        hit = (self.data[: self.size] & bits).any(axis=1)
        return np.flatnonzero(~hit)

    def row_counts(self, indices: np.ndarray) -> np.ndarray:
        """How many of the certificates ``indices`` contain each row."""
        unpacked = np.unpackbits(self.data[indices].view(np.uint8), axis=1, bitorder="little")
        return unpacked[:, : self.m].sum(axis=0)

    def free_sizes(self, indices: np.ndarray, forbidden_bits: np.ndarray) -> np.ndarray:
        return np.bitwise_count(self.data[indices] & ~forbidden_bits).sum(axis=1)
