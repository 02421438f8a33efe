import math

import numpy as np
import pytest

from injcheck.sweep.analysis import (
    crossings_by_n,
    extrapolate_inverse_n,
    fit_crossing,
    summarize_points,
    wilson_interval,
)


@pytest.mark.parametrize(
    "k, n, lo, hi",
    [
        (5, 10, 0.236593, 0.763407),
        (0, 10, 0.0, 0.277533),
        (10, 10, 0.722467, 1.0),
    ],
)
def test_wilson_known_values(k, n, lo, hi):
    got = wilson_interval(k, n)
    assert got == pytest.approx((lo, hi), abs=1e-5)


def test_wilson_endpoints_solve_the_score_equation():
    # |k/n - p| = z sqrt(p (1 - p) / n) at both ends of the Wilson interval.
    k, n, z = 81, 263, 1.959964
    for p in wilson_interval(k, n):
        assert abs(k / n - p) == pytest.approx(z * math.sqrt(p * (1 - p) / n), rel=1e-6)


def test_wilson_empty():
    assert all(math.isnan(x) for x in wilson_interval(0, 0))


def _synthetic(seed, true=5.3, scale=0.4, trials=400):
    rng = np.random.default_rng(seed)
    alpha = np.arange(3.0, 8.01, 0.5)
    m = np.full(alpha.size, trials)
    return alpha, rng.binomial(m, 1 / (1 + np.exp(-(alpha - true) / scale))), m


def test_logistic_recovers_known_crossing():
    fit = fit_crossing(*_synthetic(1))
    assert abs(fit.alpha50 - 5.3) < 0.1  # sd of the estimate is ~0.02 here
    assert fit.ci_low < 5.3 < fit.ci_high
    assert fit.ci_high - fit.ci_low < 0.3
    assert fit.slope == pytest.approx(2.5, rel=0.25)
    assert fit.note == ""


@pytest.mark.slow
def test_logistic_interval_coverage():
    # 95% intervals: over 30 fixed data sets at most a few may miss (P(<25 hits) ~ 0.3%).
    hits = 0
    for seed in range(30):
        fit = fit_crossing(*_synthetic(seed, trials=60))
        hits += fit.ci_low < 5.3 < fit.ci_high
    assert hits >= 25


def test_logistic_edge_cases():
    step = fit_crossing([3, 4, 5, 6], [0, 0, 10, 10], [10] * 4)
    assert 4.0 <= step.ci_low <= step.alpha50 <= step.ci_high <= 5.0 and "separated" in step.note
    none = fit_crossing([3, 4], [0, 0], [5, 5])
    assert math.isnan(none.alpha50) and none.ci_low == 4 and none.ci_high == math.inf
    every = fit_crossing([3, 4], [5, 5], [5, 5])
    assert math.isnan(every.alpha50) and every.ci_high == 3
    one = fit_crossing([3, 4], [2, 0], [5, 0])
    assert math.isnan(one.alpha50) and "fewer than 2" in one.note
    few = fit_crossing([3, 8], [1, 2], [3, 3])  # weak data: the interval stays open
    assert not math.isfinite(few.ci_low) or not math.isfinite(few.ci_high)


def test_extrapolation():
    exact = extrapolate_inverse_n("y", [2, 4, 8], [1.5, 1.25, 1.125], [0.01] * 3)
    assert exact.value == pytest.approx(1.0) and exact.slope == pytest.approx(1.0)
    assert exact.ci_low < 1.0 < exact.ci_high
    two = extrapolate_inverse_n("y", [2, 4], [1.5, 1.25], [0.1, 0.1])
    assert two.value == pytest.approx(1.0) and "two sizes" in two.note
    # Scatter beyond the errors widens the interval.
    noisy = extrapolate_inverse_n("y", [2, 4, 8], [1.5, 1.35, 1.1], [0.01] * 3)
    assert "scaled" in noisy.note and noisy.se > exact.se
    one = extrapolate_inverse_n("y", [4, 6], [1.0, math.nan], [0.1, 0.1])
    assert math.isnan(one.value) and "left out n=[6]" in one.note


def _row(n, alpha, trial, status, p_star=None):
    return {
        "point_key": f"n={n};widths={round(alpha * n)}",
        "n": n,
        "widths": [round(alpha * n)],
        "depth": 1,
        "alpha": alpha,
        "alpha_nominal": alpha,
        "trial": trial,
        "status": status,
        "p_star": p_star,
        "solver_status": "error" if status == "unknown" else "optimal",
        "trial_time": 0.1,
    }


def test_unknowns_are_counted_not_dropped():
    rows = [
        _row(4, 3.0, i, s, p)
        for i, (s, p) in enumerate(
            [("injective", 4), ("non-injective", 3), ("unknown", None), ("unknown", None)]
        )
    ]
    (point,) = summarize_points(rows)
    assert (point["trials"], point["injective"], point["non_injective"], point["unknown"]) == (
        4,
        1,
        1,
        2,
    )
    assert point["errors"] == 2
    assert point["frac_injective"] == 0.5
    assert (point["frac_if_unknown_non"], point["frac_if_unknown_inj"]) == (0.25, 0.75)
    assert point["pstar_count"] == 2 and point["pstar_over_n_mean"] == pytest.approx(7 / 8)
    (cross,) = crossings_by_n(summarize_points(rows + [_row(4, 5.0, 0, "injective")]))
    assert cross["unknown"] == 2


def test_sharp_transitions_get_an_interval_around_the_crossing():
    # Published exact counts (1000 layers per (n, m)): sharp profiles whose 95% interval is
    # narrower than the profile grid (n = 3 raised IndexError) or was misplaced by a linear
    # interpolation of the grid (n = 5: the crossing fell outside its own interval).
    import json
    from pathlib import Path

    from injcheck.sweep.analysis import fit_crossing

    data = Path(__file__).resolve().parents[2] / "experiments/data/published_counts_gamma1398.json"
    rows = json.loads(data.read_text())["rows"]
    for n in range(2, 7):
        mine = [r for r in rows if r[0] == n]
        fit = fit_crossing([r[1] / n for r in mine], [r[2] for r in mine], [r[3] for r in mine])
        assert fit.ci_low < fit.alpha50 < fit.ci_high, (n, fit)
        assert fit.ci_high - fit.ci_low < 0.2
    step = fit_crossing([2.9, 3.0, 3.1, 3.2], [0, 10, 990, 1000], [1000] * 4)
    assert step.ci_low < step.alpha50 < step.ci_high
