"""Proof mode on the exhausted layers with n <= 10 of ext_outcomes: write and verify each proof."""

import json
import os
import tempfile

import injcheck.one_layer._cellsearch as cs
import numpy as np

from injcheck.one_layer.proof import write_proof
from injcheck.proof_check import verify_proof_file

d = tempfile.mkdtemp()
for n in range(8, 11):
    for m in (5 * n, 6 * n, 7 * n):
        for s in range(3):
            w = np.random.default_rng([n, m, s]).standard_normal((m, n))
            p = os.path.join(d, f"{n}_{m}_{s}.json")
            o = write_proof(w, p)
            chk = verify_proof_file(p) if o.outcome == "proof" else None
            print(
                json.dumps(
                    {
                        "so": cs.__file__.split("/")[2],
                        "n": n,
                        "m": m,
                        "s": s,
                        "outcome": o.outcome,
                        "nodes": o.nodes,
                        "certs": o.certificates,
                        "check": None if chk is None else str(getattr(chk, "ok", chk))[:80],
                    }
                ),
                flush=True,
            )
