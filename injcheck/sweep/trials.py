"""Trial functions: one pure function runs one trial and returns a flat record.

A trial function takes a :class:`TrialTask` and returns a dict with at least
``status`` (``"injective"``, ``"non-injective"`` or ``"unknown"``) and optionally any of
:data:`RESULT_FIELDS`. The runner adds timing and bookkeeping; exceptions are turned into
``unknown`` rows by the runner, so trial functions need not catch them.

:func:`check_trial` is the default (a seeded Gaussian network and
:func:`injcheck.check.check`). :func:`fake_trial` and :func:`busy_trial` are cheap
deterministic stand-ins for tests and benchmarks of the sweep machinery.
"""

from __future__ import annotations

import hashlib
import importlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..exceptions import SpecError
from .store import COLUMNS, IDENTITY_COLUMNS, RUNNER_COLUMNS

#: Fields a trial function may return (everything else is ignored): the store's columns
#: less those the runner fills in, in the store's order.
RESULT_FIELDS = tuple(c for c in COLUMNS if c not in IDENTITY_COLUMNS + RUNNER_COLUMNS)


@dataclass(frozen=True)
class TrialTask:
    """Everything one trial needs; small and picklable so it can travel to any worker."""

    spec_hash: str
    point_key: str
    trial: int
    seed: int
    n: int
    widths: tuple[int, ...]
    mode: str
    method: str
    time_limit: float | None
    exact_value: bool
    trial_fn: str
    options: dict[str, Any] = field(default_factory=dict)
    node_limit: int | None = None


TrialFn = Callable[[TrialTask], dict]


def resolve_trial_fn(name: str) -> TrialFn:
    """Import ``"package.module:function"``.

    Raises
    ------
    SpecError
        If the module or function does not exist.
    """
    module_name, _, attr = name.partition(":")
    try:
        obj: Any = importlib.import_module(module_name)
        for part in attr.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError) as exc:
        raise SpecError(f"trial_fn: cannot import {name!r}: {exc}") from exc
    if not callable(obj):
        raise SpecError(f"trial_fn: {name!r} is not callable")
    return obj


def trial_fn_name(fn: TrialFn) -> str:
    """``"module:qualname"`` of a module-level function (what a spec stores)."""
    name = f"{fn.__module__}:{fn.__qualname__}"
    if "<" in name:
        raise SpecError(
            f"trial_fn must be a module-level function (workers import it by name), got {name}"
        )
    return name


def record_from_verdict(verdict) -> dict[str, Any]:
    """Flatten a :class:`~injcheck.verdict.Verdict` into a trial record."""
    cert = verdict.certificate or {}
    return {
        "status": verdict.status,
        "p_star": cert.get("p_star"),
        "p_star_lower": cert.get("p_star_lower"),
        "p_star_upper": cert.get("p_star_upper"),
        # A count from a search the time limit cut short depends on the machine's load:
        # it is not stored (the verdict still is: a verified witness is a proof).
        "heuristic_count": None if cert.get("heuristic_truncated") else cert.get("heuristic_count"),
        "layer": verdict.layer,
        "method": verdict.method,
        "solver_status": verdict.solver_status,
        "wall_time": verdict.wall_time,
        "witness": verdict.witness,
        "message": verdict.message,
        "stats": verdict.stats,
    }


def check_trial(task: TrialTask) -> dict[str, Any]:
    """The default trial: ``random_relu_net(n, widths, seed)`` and ``injcheck.check``.

    For ``mode="pointwise"`` the input ``x0`` is drawn N(0, I) from the same trial seed
    (a separate stream from the weights).
    """
    import numpy as np

    from ..check import check, is_one_layer_case
    from ..networks import random_relu_net

    net = random_relu_net(task.n, list(task.widths), seed=task.seed)
    x0 = None
    if task.mode == "pointwise":
        x0 = np.random.default_rng([task.seed, 1]).standard_normal(task.n)
    # The spec's exact_value means "P* where a trial has one" (random nets: no bias, no box).
    has_p_star = is_one_layer_case(len(task.widths), False, False, task.mode)
    verdict = check(
        net,
        mode=task.mode,
        method=task.method,
        time_limit=task.time_limit,
        exact_value=task.exact_value and has_p_star,
        x0=x0,
        threads=1,
        node_limit=task.node_limit,
    )
    return record_from_verdict(verdict)


# -- synthetic trials for tests and benchmarks ----------------------------------------
def _unit(seed: int, salt: str) -> float:
    digest = hashlib.blake2b(f"{seed}|{salt}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2.0**64


def fake_trial(task: TrialTask) -> dict[str, Any]:
    """Deterministic fake check: injective with a logistic probability in ``m/n``.

    Options (``trial_options``): ``sleep`` (seconds to wait, default 0), ``crossing``
    (alpha where P(injective) = 1/2, default 5), ``width`` (logistic scale, default 0.5),
    ``unknown_rate`` (fraction reported unknown, default 0), ``fail_rate`` (fraction that
    raise, default 0), ``crash_rate`` (fraction that kill their process, default 0).
    The outcome depends only on the seed, so rows can be compared across runs, orders
    and worker counts.
    """
    import math
    import os

    opts = task.options
    if opts.get("sleep"):
        time.sleep(float(opts["sleep"]))
    if _unit(task.seed, "crash") < float(opts.get("crash_rate", 0.0)):
        os._exit(3)  # a worker that dies mid-trial (segfault, out of memory)
    if _unit(task.seed, "fail") < float(opts.get("fail_rate", 0.0)):
        raise RuntimeError(f"fake failure in trial {task.trial}")
    alpha = task.widths[-1] / task.n
    crossing, width = float(opts.get("crossing", 5.0)), float(opts.get("width", 0.5))
    p_inj = 1.0 / (1.0 + math.exp(-(alpha - crossing) / width))
    p_star = int(round(task.n * alpha / crossing + 2 * (_unit(task.seed, "p") - 0.5)))
    if _unit(task.seed, "unknown") < float(opts.get("unknown_rate", 0.0)):
        return {
            "status": "unknown",
            "method": "fake",
            "message": "fake time-out",
            "solver_status": "time_limit",
        }
    status = "injective" if _unit(task.seed, "status") < p_inj else "non-injective"
    return {
        "status": status,
        "p_star": max(p_star, 0),
        "method": "fake",
        "solver_status": "optimal",
        "witness": None if status == "injective" else {"x": [1.0] * task.n, "y": [2.0] * task.n},
        "stats": {"seed_mod_97": task.seed % 97},
    }


def noop_trial(task: TrialTask) -> dict[str, Any]:
    """Returns at once: measures the runner's and store's overhead per trial."""
    return {"status": "unknown", "method": "noop", "message": "no-op trial"}


def busy_trial(task: TrialTask) -> dict[str, Any]:
    """Burns CPU for ``trial_options["seconds"]`` (default 0.3) in pure Python.

    A stand-in for a solver-bound trial that holds one core and no lock, used to measure
    parallel throughput.
    """
    seconds = float(task.options.get("seconds", 0.3))
    end = time.process_time() + seconds
    x = task.seed % 1000
    while time.process_time() < end:
        for _ in range(2000):
            x = (x * 1103515245 + 12345) % 2147483648
    return {"status": "injective" if x % 2 else "non-injective", "method": "busy", "witness": None}
