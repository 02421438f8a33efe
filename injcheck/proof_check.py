"""Independent checker of one-layer proofs (``injcheck verify-proof FILE``).

Exact rational arithmetic only (fractions, Python integers), no solver, and no code
shared with the search that wrote the proof. A proof file claims that no set ``A`` of
at most ``limit`` rows leaves the open cone ``{x : <w_i, x> < 0 for i not in A}``
non-empty; then every ``x != 0`` has at least ``limit + 1`` rows with ``<w_i, x> >= 0``
(take ``A`` = those rows), i.e. ``P*(W) >= limit + 1``. With ``limit = n - 1`` and
generic ``W`` (every ``n`` rows independent) the layer ``ReLU(W .)`` is injective. A
file's ``limit`` must be ``n - 1``, the only value injcheck writes: a smaller one proves
a weaker bound that says nothing about injectivity, and is rejected.

Each certificate is a row set ``C`` with positive integers ``lam`` and
``sum lam_k w_k = 0`` exactly: by Gordan's theorem no ``x`` has ``<w_k, x> < 0`` on all
of ``C``. A tree node covers the sets ``A'`` with ``A <= A'``, ``A'`` disjoint from the
forbidden rows ``F`` and ``|A'| <= limit``; the root has ``A = F = {}``. Node kinds:

* ``["branch", c, rows]``: ``c`` misses ``A``; ``rows`` lists ``c`` minus ``F``, each once;
  child ``i`` has ``A + rows[i]`` and ``F + rows[:i]`` (every ``A'`` with an open cone
  meets ``c``; the first row of ``rows`` it contains names its child).
* ``["empty", c]``: ``c`` lies inside ``F`` (so inside the complement of every ``A'``).
* ``["full", c]``: ``|A| >= limit`` and ``c`` misses ``A`` (the only ``A'`` is ``A``).
* ``["pack", [c_1..c_k]]``: each ``c_j`` misses ``A``, their parts outside ``F`` are
  pairwise disjoint and ``k > limit - |A|`` (an ``A'`` would need ``k`` more rows).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from fractions import Fraction

FORMAT = "injcheck-layer-proof-1"

__all__ = ["ProofCheck", "verify_proof", "verify_proof_file"]


@dataclass
class ProofCheck:
    """Result of checking a proof: ``ok``, and why not when it is not."""

    ok: bool
    reason: str
    n: int = 0
    m: int = 0
    limit: int = 0
    nodes: int = 0
    certificates: int = 0


class _Reject(Exception):
    pass


def _int(value, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _Reject(f"{what} is not an integer")
    return value


def _weight(doc: dict) -> list[list[Fraction]]:
    n, m = _int(doc.get("n"), "n"), _int(doc.get("m"), "m")
    rows = doc.get("weight")
    if n < 1 or m < 1 or not isinstance(rows, list) or len(rows) != m:
        raise _Reject("weight must be a list of m rows")
    out = []
    for row in rows:
        if not isinstance(row, list) or len(row) != n:
            raise _Reject("every weight row must have n entries")
        try:
            values = [float.fromhex(v) for v in row]
        except (TypeError, ValueError) as exc:
            raise _Reject("weight entries must be float.hex strings") from exc
        if not all(math.isfinite(v) for v in values):
            raise _Reject("weight entries must be finite")
        out.append([Fraction(v) for v in values])
    return out


def _certificate(entry, weight: list[list[Fraction]]) -> int:
    """Check one certificate exactly; return its rows as a bit mask."""
    if not isinstance(entry, dict):
        raise _Reject("a certificate must be an object")
    rows, lam = entry.get("rows"), entry.get("lam")
    if not isinstance(rows, list) or not isinstance(lam, list) or len(rows) != len(lam):
        raise _Reject("a certificate needs rows and lam of the same length")
    m, n = len(weight), len(weight[0])
    mask = 0
    for r in rows:
        if not 0 <= _int(r, "a certificate row") < m or mask >> r & 1:
            raise _Reject("certificate rows must be distinct rows of W")
        mask |= 1 << r
    try:
        mult = [int(v) for v in lam]
    except (TypeError, ValueError) as exc:
        raise _Reject("multipliers must be integers (decimal strings)") from exc
    if not rows or any(v <= 0 for v in mult):
        raise _Reject("multipliers must be positive")
    for j in range(n):
        if sum(v * weight[r][j] for v, r in zip(mult, rows)) != 0:
            raise _Reject("a certificate's weighted sum of rows is not zero")
    return mask


def _cert(masks: list[int], index) -> int:
    if not 0 <= _int(index, "a certificate index") < len(masks):
        raise _Reject("certificate index out of range")
    return masks[index]


def _branch(node: list, masks: list[int], allowed: int, forbidden: int, limit: int):
    if len(node) != 3 or not isinstance(node[2], list):
        raise _Reject("a branch needs a certificate and a list of rows")
    cert = _cert(masks, node[1])
    rows = [_int(r, "a branch row") for r in node[2]]
    if any(r < 0 for r in rows):
        raise _Reject("negative row in a branch")
    released = sum(1 << r for r in set(rows))
    if cert & allowed or len(set(rows)) != len(rows) or released != cert & ~forbidden:
        raise _Reject("a branch must release exactly the free rows of a certificate missing A")
    if allowed.bit_count() >= limit:
        raise _Reject("a branch below the limit's depth")
    out, forb = [], forbidden
    for r in rows:
        out.append((allowed | 1 << r, forb))
        forb |= 1 << r
    return out


def _empty(node: list, masks: list[int], allowed: int, forbidden: int, limit: int):
    if len(node) != 2 or _cert(masks, node[1]) & ~forbidden:
        raise _Reject("an 'empty' leaf whose certificate has rows outside F")
    return []


def _full(node: list, masks: list[int], allowed: int, forbidden: int, limit: int):
    if len(node) != 2 or allowed.bit_count() < limit or _cert(masks, node[1]) & allowed:
        raise _Reject("a 'full' leaf with room left or a certificate meeting A")
    return []


def _pack(node: list, masks: list[int], allowed: int, forbidden: int, limit: int):
    if len(node) != 2 or not isinstance(node[1], list):
        raise _Reject("a packing leaf needs a list of certificates")
    seen = 0
    for index in node[1]:
        cert = _cert(masks, index)
        if cert & allowed or cert & ~forbidden & seen:
            raise _Reject("a packing leaf with overlapping free parts or meeting A")
        seen |= cert & ~forbidden
    if len(node[1]) <= limit - allowed.bit_count():
        raise _Reject("a packing leaf with too few certificates")
    return []


_KINDS = {"branch": _branch, "empty": _empty, "full": _full, "pack": _pack}


def _children(node, masks: list[int], allowed: int, forbidden: int, limit: int):
    """Check one node; return the (allowed, forbidden) pairs of its children."""
    kind = node[0] if isinstance(node, list) and node and isinstance(node[0], str) else None
    if kind not in _KINDS:
        raise _Reject(f"malformed tree node {str(node)[:60]}")
    return _KINDS[kind](node, masks, allowed, forbidden, limit)


def verify_proof(doc: dict) -> ProofCheck:
    """Check a proof document (the parsed JSON)."""
    try:
        if not isinstance(doc, dict) or doc.get("format") != FORMAT:
            raise _Reject(f"not a proof file of format {FORMAT}")
        weight = _weight(doc)
        limit = _int(doc.get("limit"), "limit")
        if limit != len(weight[0]) - 1:
            raise _Reject(
                f"limit is {limit}, but a proof of injectivity needs limit = n - 1 = "
                f"{len(weight[0]) - 1}"
            )
        certs, tree = doc.get("certificates"), doc.get("tree")
        if not isinstance(certs, list) or not isinstance(tree, list):
            raise _Reject("certificates and tree must be lists")
        masks = [_certificate(entry, weight) for entry in certs]
        stack, pos = [(0, 0)], 0
        while stack:
            allowed, forbidden = stack.pop()
            if pos >= len(tree):
                raise _Reject("the tree ends before every node is covered")
            children = _children(tree[pos], masks, allowed, forbidden, limit)
            pos += 1
            stack.extend(reversed(children))
        if pos != len(tree):
            raise _Reject("nodes left over after the tree is complete")
    except _Reject as exc:
        return ProofCheck(False, str(exc))
    n, m = len(weight[0]), len(weight)
    return ProofCheck(True, f"P*(W) >= {limit + 1} proven", n, m, limit, len(tree), len(masks))


def verify_proof_file(path: str) -> ProofCheck:
    """Read and check a proof file; unreadable or non-JSON files are rejected, not raised."""
    try:
        with open(path) as f:
            doc = json.load(f)
    except (OSError, ValueError) as exc:
        return ProofCheck(False, f"cannot read {path}: {exc}")
    return verify_proof(doc)
