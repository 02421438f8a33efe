"""Random-duality / replica predictions for the injectivity of random ReLU networks.

One layer ``x -> ReLU(W x)``, ``W`` Gaussian ``m x n``, ``alpha = m / n``:
``e*(alpha) = lim P*(W) / n`` is the minimal fraction (per input dimension) of
non-negative pre-activations over the sphere, and the injectivity capacity solves
``e*(alpha) = 1``. Methods, from the loosest to the sharpest:

``"rs"``
    plain random duality = Gordon = replica symmetric (a rigorous upper bound 7.6477).
``"1rsb"``
    one step of lifting = one-step replica symmetry breaking.
``"2rsb"``, ``"3rsb"``, ... (``"<k>rsb"``)
    k-step RSB via the zero-temperature Parisi recursion.
``"frsb"``
    full RSB, extrapolated from ``k = 1..K`` (value and error bar).

Deep networks: :func:`deep_table` gives the plain-RDT layer expansions (local rank only);
:func:`deep_notions` gives the weak (local) and strong (global, fold-aware) conditions per
layer with their status (:mod:`injcheck.theory.deep_fold`).
Everything expensive is cached on disk (:mod:`injcheck.theory.cache`).
Derivations and citations: ``docs/theory.md``.

Examples
--------
>>> from injcheck import theory
>>> round(theory.capacity("rs"), 4)
7.6477
>>> round(theory.ground_state(5.0, "1rsb"), 4)
0.5419
"""

from __future__ import annotations

import math
import re
from typing import Any

from ..exceptions import InvalidArgumentError
from . import cache, deep, deep_fold, parisi, rs, rsb
from .cache import cached

__all__ = [
    "METHODS",
    "FRSB_KMAX",
    "capacity",
    "capacity_levels",
    "ground_state",
    "ground_state_levels",
    "reference_lines",
    "deep_table",
    "deep_notions",
    "predictions",
    "cache",
    "deep",
    "deep_fold",
    "parisi",
    "rs",
    "rsb",
]

METHODS = ("rs", "1rsb", "2rsb", "3rsb", "frsb")
#: Levels used for the full-RSB extrapolation of the capacity and of e*(alpha).
FRSB_KMAX = 6
FRSB_KMAX_GROUND_STATE = 5
#: The discretisation of every Parisi computation here (part of each cache key).
GRID = parisi.Grid()
#: Largest expansion accepted (the 1RSB continuation is tested up to 100).
ALPHA_MAX = 100.0
_EULER_ALPHA = 8.34  # cited (Paleka; Clum et al.; see docs), not computed here


def _parse_method(method: str) -> tuple[str, int]:
    """``"rs" -> ("rs", 0)``, ``"1rsb" -> ("krsb", 1)``, ``"frsb" -> ("frsb", 0)``."""
    if not isinstance(method, str):
        raise InvalidArgumentError(f"method must be a string, got {type(method).__name__}")
    m = method.strip().lower()
    if m in ("rs", "rdt", "gordon"):
        return "rs", 0
    if m in ("frsb", "full"):
        return "frsb", 0
    mk = re.fullmatch(r"(\d+)rsb", m)
    if mk and 1 <= int(mk.group(1)) <= 12:
        return "krsb", int(mk.group(1))
    raise InvalidArgumentError(f"unknown method {method!r}; use 'rs', '1rsb'..'12rsb' or 'frsb'")


def _check_alpha(alpha: float) -> float:
    try:
        a = float(alpha)
    except (TypeError, ValueError):
        raise InvalidArgumentError(f"alpha must be a number, got {alpha!r}") from None
    if not math.isfinite(a) or a <= 0 or a > ALPHA_MAX:
        raise InvalidArgumentError(f"alpha must be finite, > 0 and <= {ALPHA_MAX:g}, got {alpha!r}")
    return a


def capacity_levels(kmax: int = FRSB_KMAX, use_cache: bool = True) -> list[dict[str, Any]]:
    """k-RSB thresholds ``k = 1..kmax`` with their stationary points (cached)."""

    def compute():
        return [
            {
                "k": p.k,
                "alpha": p.alpha,
                "q": p.q,
                "chi": p.chi,
                "c": p.c,
                "energy_count": p.energy_count,
                "grad_norm": p.grad_norm,
            }
            for p in parisi.capacity_sequence(kmax, GRID)
        ]

    params = {"kmax": int(kmax), "L": GRID.L, "dx": GRID.dx}
    return cached("capacity_levels", params, compute, use_cache)


def capacity(method: str = "rs", use_cache: bool = True) -> float:
    """Injectivity capacity ``alpha`` with ``e*(alpha) = 1`` predicted by ``method``.

    For ``"frsb"`` the value is the k -> infinity extrapolation; its error bar is in
    :func:`reference_lines` / :func:`predictions`.
    """
    kind, k = _parse_method(method)
    if kind == "rs":
        return rs.capacity_rs()
    if kind == "krsb":
        if k == 1:
            return float(rsb.capacity_1rsb().alpha)
        return float(capacity_levels(max(k, FRSB_KMAX), use_cache)[k - 1]["alpha"])
    levels = capacity_levels(FRSB_KMAX, use_cache)
    lim, _, _ = parisi.extrapolate_frsb([r["k"] for r in levels], [r["alpha"] for r in levels])
    return lim


def ground_state_levels(
    alpha: float, kmax: int = FRSB_KMAX_GROUND_STATE, use_cache: bool = True
) -> list[float]:
    """``e_k(alpha)`` for ``k = 1..kmax`` (k-RSB minimal fractions; cached).

    Close to ``alpha = 2`` the higher levels may not be solvable numerically; the list is
    then shorter than ``kmax`` (the cache records it as incomplete, with the reason).
    """
    a = _check_alpha(alpha)
    if a <= 2.0:
        return [0.0] * kmax

    def compute():
        seq = parisi.ground_state_sequence(a, kmax, GRID, truncate=True)
        return {"levels": [p.energy for p in seq], "complete": len(seq) == kmax}

    params = {"alpha": round(a, 12), "kmax": int(kmax), "L": GRID.L, "dx": GRID.dx}
    return list(cached("ground_state_levels", params, compute, use_cache)["levels"])


def ground_state(alpha: float, method: str = "rs", use_cache: bool = True) -> float:
    """Predicted minimal fraction ``e*(alpha) = lim P*(W)/n`` of non-negative rows.

    Zero for ``alpha <= 2`` (then ``m`` Gaussian points lie in a half-space w.h.p.,
    Wendel 1962, so some ``x`` makes every pre-activation negative).
    """
    a = _check_alpha(alpha)
    kind, k = _parse_method(method)
    if a <= 2.0:
        return 0.0
    if kind == "rs":
        return rs.ground_state_rs(a)
    if kind == "krsb" and k == 1:
        return rsb.ground_state_1rsb(a)
    if kind == "krsb":
        lv = ground_state_levels(a, max(k, FRSB_KMAX_GROUND_STATE), use_cache)
        if len(lv) < k:
            raise RuntimeError(f"{k}-RSB could not be solved at alpha={a:g} (near alpha = 2)")
        return float(lv[k - 1])
    levels = ground_state_levels(a, FRSB_KMAX_GROUND_STATE, use_cache)
    lim, _, _ = parisi.extrapolate_frsb(range(1, len(levels) + 1), levels)
    return lim


def reference_lines(use_cache: bool = True, kmax: int = FRSB_KMAX) -> dict[str, dict[str, Any]]:
    """Reference values of ``alpha = m/n`` with a one-line meaning and provenance."""
    dat = cached("dat_alpha", {}, rs.dat_alpha, use_cache)
    levels = capacity_levels(kmax, use_cache)
    frsb, _, _ = parisi.extrapolate_frsb([r["k"] for r in levels], [r["alpha"] for r in levels])
    return {
        "trivial": {
            "alpha": 2.0,
            "computed": True,
            "meaning": "alpha < 2: not injective (half-space); also pointwise recovery",
        },
        "puthawala_witness": {
            "alpha": rs.puthawala_witness_alpha(),
            "computed": True,
            "meaning": "c Phi(-1/sqrt(c)) = 1: below it x0 = -mean w/|w| "
            "is a witness of non-injectivity",
        },
        "dAT": {
            "alpha": dat,
            "computed": True,
            "meaning": "RS solution at the temperature where e = 1 becomes AT-unstable",
        },
        "frsb": {"alpha": frsb, "computed": True, "meaning": "full-RSB capacity (extrapolated)"},
        "rs": {
            "alpha": rs.capacity_rs(),
            "computed": True,
            "meaning": "Gordon / plain RDT: rigorous upper bound on the capacity",
        },
        "euler": {
            "alpha": _EULER_ALPHA,
            "computed": False,
            "meaning": "expected-Euler-characteristic prediction (cited; refuted by the RS bound)",
        },
    }


def deep_table(depth: int, use_cache: bool = True) -> list[dict[str, float]]:
    """Plain-RDT expansions per layer for ``l = 1..depth`` (list of dict rows)."""
    if not isinstance(depth, int) or depth < 1 or depth > 50:
        raise InvalidArgumentError(f"depth must be an integer in 1..50, got {depth!r}")
    return cached(
        "deep_table",
        {"depth": depth},
        lambda: [r.as_dict() for r in deep.deep_expansion(depth)],
        use_cache,
    )


def deep_notions(
    depth: int, source: str = "gordon", lifted: bool = True, use_cache: bool = True
) -> list[dict[str, Any]]:
    """Weak and strong needed widths per layer for ``l = 1..depth`` (cached dict rows).

    ``source``: ``"gordon"`` (width recursion at finite widths) or ``"kernel"`` (earlier
    layers infinitely wide). Each row has ``layer``, ``weak`` and ``strong``, each with
    ``m_over_n``, ``expansion``, ``overall``, ``status`` ("rigorous bound" / "estimate"),
    ``lifted_m_over_n`` (1RSB estimate or None) and ``meaning``.
    """
    if not isinstance(depth, int) or isinstance(depth, bool) or not 1 <= depth <= 20:
        raise InvalidArgumentError(f"depth must be an integer in 1..20, got {depth!r}")
    try:
        src = deep_fold.WidthSource(source)
    except ValueError:
        raise InvalidArgumentError(f"source must be 'gordon' or 'kernel', got {source!r}") from None
    return cached(
        "deep_notions",
        {"depth": depth, "source": src.value, "lifted": bool(lifted)},
        lambda: [r.as_dict() for r in deep_fold.fold_table(depth, src, lifted)],
        use_cache,
    )


def predictions(
    alphas=(3.0, 5.0, 8.0), depth: int = 5, kmax: int = FRSB_KMAX, use_cache: bool = True
) -> dict[str, Any]:
    """All predictions as one JSON-serialisable dict (the ``injcheck theory --json`` output).

    Keys: ``thresholds`` (per method), ``capacity_levels`` (k, alpha, change from the
    previous level), ``frsb`` (extrapolation details), ``ground_state`` (per alpha and
    method), ``reference_lines`` and ``deep`` (per-layer table; ``deep.notions``: weak and
    strong conditions per layer for ``l <= 10``, see :func:`deep_notions`).
    """
    alphas = [_check_alpha(a) for a in alphas]
    levels = capacity_levels(kmax, use_cache)
    ks = [r["k"] for r in levels]
    vals = [r["alpha"] for r in levels]
    lim, err, p = parisi.extrapolate_frsb(ks, vals)
    thresholds = {"rs": rs.capacity_rs()}
    for r in levels:
        thresholds[f"{r['k']}rsb"] = r["alpha"]
    thresholds["frsb"] = lim
    conv = [{"level": "rs", "k": 0, "alpha": thresholds["rs"], "delta": None}]
    prev = thresholds["rs"]
    for r in levels:
        conv.append(
            {"level": f"{r['k']}rsb", "k": r["k"], "alpha": r["alpha"], "delta": r["alpha"] - prev}
        )
        prev = r["alpha"]
    conv.append({"level": "frsb", "k": None, "alpha": lim, "delta": lim - prev})

    gs: dict[str, dict[str, float]] = {}
    kmax_gs = min(kmax, FRSB_KMAX_GROUND_STATE)
    for a in alphas:
        lv = ground_state_levels(a, kmax_gs, use_cache)
        row: dict[str, float | None] = {"rs": rs.ground_state_rs(a) if a > 2 else 0.0}
        for k in range(1, kmax_gs + 1):
            row[f"{k}rsb"] = lv[k - 1] if k <= len(lv) else None  # None: not solvable
        if len(lv) >= 3:
            e_lim, e_err, _ = parisi.extrapolate_frsb(range(1, len(lv) + 1), lv)
        else:
            e_lim, e_err = None, None
        row["frsb"] = e_lim
        row["frsb_err"] = e_err
        gs[f"{a:g}"] = row
    out: dict[str, Any] = {
        "thresholds": thresholds,
        "capacity_levels": conv,
        "frsb": {
            "alpha": lim,
            "err": err,
            "tail_exponent": p,
            "kmax": kmax,
            "method": "power-law fit alpha_k = a_inf + a k^-p through the last 3 levels",
        },
        "ground_state": gs,
        "reference_lines": reference_lines(use_cache, kmax),
        "cache_version": cache.CODE_VERSION,
    }
    if depth:
        out["deep"] = {
            "depth": depth,
            "layers": deep_table(depth, use_cache),
            "method": "plain RDT (Gordon), layers at their own thresholds",
            "notions": deep_notions(min(depth, 10), "gordon", True, use_cache),
            "notions_method": "weak: count >= n (local rank, necessary); strong: count >= 2n "
            "on the image (sufficient; >= n at layer 1); Gordon with the Gordon-chain width, "
            "lifted_m_over_n: 1RSB with the image as a sphere of dimension omega^2 n",
        }
    return out
