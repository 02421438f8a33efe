"""Trial seeds from what a trial is, never from when or where it ran.

``trial_seed(master, point_key, trial)`` hashes the three with BLAKE2b. Python's
``hash()`` is salted per process, and counters or ``SeedSequence.spawn`` depend on the
enumeration order, so neither is used: the seed of a trial is the same whatever the
order, the number of workers, or whether the grid was extended later.
"""

from __future__ import annotations

import hashlib

_SEED_BITS = 63  # non-negative and fits a signed 64-bit SQLite INTEGER and torch.manual_seed


def trial_seed(master_seed: int, point_key: str, trial: int) -> int:
    """Seed of trial ``trial`` at grid point ``point_key`` of a sweep with ``master_seed``.

    Parameters
    ----------
    master_seed : int
        The sweep's seed (non-negative).
    point_key : str
        Canonical key of the point (:attr:`injcheck.sweep.spec.Point.key`).
    trial : int
        Replicate index, from 0.

    Returns
    -------
    int
        A seed in ``[0, 2**63)``.

    Examples
    --------
    >>> trial_seed(0, "n=3;widths=12", 0) == trial_seed(0, "n=3;widths=12", 0)
    True
    >>> trial_seed(0, "n=3;widths=12", 0) != trial_seed(0, "n=3;widths=12", 1)
    True
    """
    if isinstance(master_seed, bool) or int(master_seed) != master_seed or master_seed < 0:
        raise ValueError(f"master_seed must be a non-negative integer, got {master_seed!r}")
    if isinstance(trial, bool) or int(trial) != trial or trial < 0:
        raise ValueError(f"trial must be a non-negative integer, got {trial!r}")
    text = f"injcheck-sweep-v1|{int(master_seed)}|{point_key}|{int(trial)}"
    digest = hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big") >> (64 - _SEED_BITS)
