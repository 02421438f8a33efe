"""Write a checkable proof that ``P*(W) >= n`` (no cell with fewer than n rows >= 0).

The compiled core runs the decision search with its proof trace on (the exact
hitting-set bound off: the trace knows branch, empty, full and packing nodes only).
The file holds ``W`` exactly (``float.hex``), every certificate used with integer
Farkas multipliers computed here in exact rational arithmetic, and the search tree in
preorder. :mod:`injcheck.proof_check` checks it with no solver and no code shared
with the search.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from fractions import Fraction
from math import lcm

import numpy as np

from . import _cellsearch
from .rational import rref

__all__ = ["FORMAT", "ProofOutcome", "proof_path_problem", "write_proof"]

#: Format tag of the proof files (read by injcheck.proof_check).
FORMAT = "injcheck-layer-proof-1"
_KINDS = {0: "branch", 1: "empty", 2: "full", 3: "pack"}


@dataclass
class ProofOutcome:
    """What the proof search found.

    outcome : {"proof", "found", "timeout", "trouble"}
        ``proof``: the file was written; ``found``: a cell with at most ``n - 1`` rows
        exists (no proof; the verdict needs a witness instead).
    """

    outcome: str
    nodes: int = 0
    certificates: int = 0
    message: str = ""


def exact_multipliers(weight: np.ndarray, rows: list[int]) -> list[int] | None:
    """Positive integers ``lam`` with ``sum_k lam_k w_{rows[k]} = 0`` exactly, or None.

    Gauss-Jordan in rationals on ``W_S^T`` (n x |S|); the support of a vertex
    certificate has a one-dimensional null space.
    """
    cols = len(rows)
    mat, pivots = rref([[float(weight[r, j]) for r in rows] for j in range(weight.shape[1])], cols)
    free = [c for c in range(cols) if c not in pivots]
    if len(free) != 1:
        return None
    lam = [Fraction(0)] * cols
    lam[free[0]] = Fraction(1)
    for i, col in enumerate(pivots):
        lam[col] = -mat[i][free[0]]
    if all(v < 0 for v in lam):
        lam = [-v for v in lam]
    if any(v <= 0 for v in lam):
        return None
    scale = lcm(*(v.denominator for v in lam))
    return [int(v * scale) for v in lam]


def _tree(trace: list[int]) -> tuple[list, set[int]]:
    """Decode the core's flat preorder trace into JSON nodes; also the certificates used."""
    nodes, used, pos = [], set(), 0
    while pos < len(trace):
        kind = _KINDS[trace[pos]]
        if kind == "branch":
            cert, k = trace[pos + 1], trace[pos + 2]
            nodes.append(["branch", cert, trace[pos + 3 : pos + 3 + k]])
            used.add(cert)
            pos += 3 + k
        elif kind == "pack":
            k = trace[pos + 1]
            certs = trace[pos + 2 : pos + 2 + k]
            nodes.append(["pack", certs])
            used.update(certs)
            pos += 2 + k
        else:
            nodes.append([kind, trace[pos + 1]])
            used.add(trace[pos + 1])
            pos += 2
    return nodes, used


def _renumber(nodes: list, old_to_new: dict[int, int]) -> list:
    out = []
    for node in nodes:
        if node[0] == "pack":
            out.append(["pack", [old_to_new[c] for c in node[1]]])
        else:
            out.append([node[0], old_to_new[node[1]], *node[2:]])
    return out


def write_proof(weight: np.ndarray, path: str, time_limit: float | None = None) -> ProofOutcome:
    """Search for a cell with at most ``n - 1`` rows ``>= 0``; if none, write the proof to ``path``.

    ``weight`` must have no zero rows and at most 256 rows (the core's domain).
    """
    weight = np.ascontiguousarray(weight, dtype=float)
    m, n = weight.shape
    core = _cellsearch.Search(weight, n - 1, time_limit=time_limit or 0.0, proof=True)
    out = core.run()
    stats = out["stats"]
    if out["outcome"] != "exhausted":
        return ProofOutcome(out["outcome"], stats["nodes"], stats["certificates"], out["message"])
    nodes, used = _tree(core.trace())
    pool = core.certificates()
    order = sorted(used)
    certificates = []
    for c in order:
        lam = exact_multipliers(weight, pool[c])
        if lam is None:
            return ProofOutcome("trouble", stats["nodes"], len(order), f"certificate {c} not exact")
        certificates.append({"rows": pool[c], "lam": [str(v) for v in lam]})
    doc = {
        "format": FORMAT,
        "claim": "P*(W) >= limit + 1: every x != 0 has at least limit + 1 rows with <w_i, x> >= 0",
        "n": n,
        "m": m,
        "limit": n - 1,
        "weight": [[float(v).hex() for v in row] for row in weight],
        "certificates": certificates,
        "tree": _renumber(nodes, {c: i for i, c in enumerate(order)}),
    }
    with open(path, "w") as f:
        json.dump(doc, f, separators=(",", ":"))
    return ProofOutcome("proof", stats["nodes"], len(order))


def proof_path_problem(path) -> str | None:
    """Why a proof cannot be written to ``path``, or None if it can.

    The directory must exist and be writable; an existing file may be overwritten only
    if it is empty or a proof file (it starts with this format's tag), never another
    file such as the weights it was made from. Cheap: reads at most 64 bytes.
    """
    import os

    path = os.fspath(path)
    if not path:
        return "the proof path is empty"
    if os.path.isdir(path):
        return f"{path} is a directory"
    if os.path.exists(path):
        try:
            with open(path, "rb") as f:
                head = f.read(64)
        except OSError as exc:
            return f"cannot read the existing file {path}: {exc.strerror or exc}"
        if head and not head.startswith(_HEAD):
            return f"{path} exists and is not an injcheck proof file; refusing to overwrite it"
        if not os.access(path, os.W_OK):
            return f"{path} is not writable"
        return None
    parent = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(parent):
        return f"the directory of {path} does not exist"
    if not os.access(parent, os.W_OK):
        return f"the directory of {path} is not writable"
    return None


#: How every proof file starts (json.dump keeps the key order of the document).
_HEAD = ('{"format":"' + FORMAT + '"').encode()


def attach_proof(verdict, weight: np.ndarray, path: str, time_limit: float | None) -> None:
    """Write a proof file for an injective verdict by the count criterion; note it in the verdict.

    Only a layer decided ``injective`` with ``criterion == "count"`` (generic ``W``) gets
    a proof; otherwise ``certificate["proof"]`` says why none was written.
    """
    cert = dict(verdict.certificate or {})
    path_problem = proof_path_problem(path)
    if verdict.status != "injective" or cert.get("criterion") != "count":
        cert["proof"] = {"written": False, "why": "proofs are written for injective generic layers"}
    elif not (weight.shape[0] <= 256 and np.all(np.any(weight != 0, axis=1))):
        cert["proof"] = {"written": False, "why": "the compiled core needs m <= 256, no zero rows"}
    elif path_problem is not None:
        cert["proof"] = {"written": False, "why": path_problem}
    else:
        try:
            done = write_proof(weight, path, time_limit)
        except OSError as exc:
            done = ProofOutcome("trouble", message=f"cannot write {path}: {exc.strerror or exc}")
        cert["proof"] = {
            "written": done.outcome == "proof",
            "file": path,
            "nodes": done.nodes,
            "certificates": done.certificates,
        }
        if done.outcome != "proof":
            cert["proof"]["why"] = done.message or done.outcome
    verdict.certificate = cert
