"""``method="auto"`` on deep nets: the heuristic first above the size rule, the exact checks
otherwise; and the deep ``heuristic_count`` (certificate and sweep column)."""

import numpy as np
import pytest

import injcheck
import injcheck.deep as deep
from injcheck.deep import check_deep
from injcheck.deep.brute_force import analyse
from injcheck.deep.heuristic_check import AUTO_HEURISTIC_ABOVE_N, auto_plan, heuristic_count
from injcheck.networks import as_layers, make_layers, random_relu_net
from injcheck.sweep.trials import TrialTask, check_trial
from injcheck.verdict import Verdict
from injcheck.verify import verify_witness


def _net(n, widths, seed):
    return as_layers(random_relu_net(n, widths, seed=seed))


def _task(n, widths, seed, mode, method):
    return TrialTask(
        spec_hash="x",
        point_key="p",
        trial=seed,
        seed=seed,
        n=n,
        widths=tuple(widths),
        mode=mode,
        method=method,
        time_limit=30.0,
        exact_value=False,
        trial_fn="injcheck.sweep.trials:check_trial",
    )


def _narrow_last_layer(n, seed):
    """A net whose last layer has fewer than n units: locally (and globally) non-injective
    everywhere, so a witness surely exists."""
    rng = np.random.default_rng(seed)
    return make_layers([rng.standard_normal((4 * n, n)), rng.standard_normal((n - 2, 4 * n))])


def _rotated_abs(n, seed):
    """``x -> (relu(Qx), relu(-Qx))`` then a positive permutation: exactly n active units
    in every layer on every open region, globally injective; no witness exists."""
    rng = np.random.default_rng(seed)
    q = np.linalg.qr(rng.standard_normal((n, n)))[0]
    w2 = np.diag(rng.uniform(0.5, 2.0, 2 * n))[rng.permutation(2 * n)]
    return make_layers([np.vstack([q, -q]), w2])


@pytest.mark.parametrize(
    ("mode", "n", "widths"),
    [
        ("local", 3, [12, 8]),
        ("local", 5, [20, 12]),
        ("global", 2, [8, 5]),
        ("global", 3, [9, 6]),
        ("global", 4, [12, 7]),
    ],
)
def test_small_nets_run_the_exact_checks_alone(mode, n, widths):
    """Below the size rule auto is the exact pipeline: the same status and layer as
    ``milp`` (the same checks), and only the exact stage ran."""
    assert n <= AUTO_HEURISTIC_ABOVE_N[mode]
    for seed in range(3):
        layers = _net(n, widths, seed)
        auto = check_deep(layers, mode=mode, method="auto", time_limit=30)
        exact = check_deep(layers, mode=mode, method="milp", time_limit=30)
        assert auto.stats["auto"] == {"stages": ["exact"]}
        assert auto.method == exact.method != "heuristic"
        assert (auto.status, auto.layer) == (exact.status, exact.layer)
        assert "heuristic_count" not in auto.certificate


def test_rule_does_not_apply_to_biases_boxes_and_pointwise():
    layers = _net(8, [40, 6], 0)
    biased = make_layers([lay.weight for lay in layers], [np.ones(40), np.zeros(6)])
    box = (-np.ones(8), np.ones(8))
    assert auto_plan(layers, "local", None) is True
    assert auto_plan(layers, "global", None) is True
    assert auto_plan(layers, "pointwise", None) is None
    assert auto_plan(layers, "local", box) is None
    assert auto_plan(biased, "local", None) is None
    # A box: the exact pipeline, without a stage record (today's behaviour).
    verdict = check_deep(_net(3, [9, 6], 0), mode="local", box=(-np.ones(3), np.ones(3)))
    assert "auto" not in verdict.stats


@pytest.mark.parametrize("mode", ["local", "global"])
def test_large_net_with_a_witness_is_settled_by_the_search(mode, monkeypatch):
    n = AUTO_HEURISTIC_ABOVE_N[mode] + 3
    layers = _narrow_last_layer(n, seed=1)

    def no_exact(*args, **kwargs):
        raise AssertionError("the exact stage must not run after a verified witness")

    monkeypatch.setattr(deep, "_check_exact", no_exact)
    verdict = check_deep(layers, mode=mode, method="auto", time_limit=60)
    assert verdict.status == "non-injective" and verdict.method == "heuristic"
    assert verdict.stats["auto"]["stages"] == ["heuristic"]
    assert verify_witness(layers, verdict.witness["x"], verdict.witness["y"]).ok
    assert verdict.verification["exact_check"] == "rational collision"
    # Layer 2 has n - 2 units: its best count is at most n - 2.
    assert verdict.certificate["heuristic_count"] <= n - 2


@pytest.mark.parametrize("mode", ["local", "global"])
def test_search_never_decides_injective(mode, monkeypatch):
    """No witness exists: the search is ``unknown`` and hands over to the exact stage,
    whose verdict (here a stand-in) is what auto returns, with the search's bound."""
    n = AUTO_HEURISTIC_ABOVE_N[mode] + 1
    layers = _rotated_abs(n, seed=2)
    calls = []

    def exact_stage(layers, mode, budget, x0, box, threads):
        calls.append(budget.remaining())
        return Verdict("unknown", mode, "milp", [n, 2 * n, 2 * n], message="exact stand-in")

    monkeypatch.setattr(deep, "_check_exact", exact_stage)
    verdict = check_deep(layers, mode=mode, method="auto", time_limit=60)
    assert verdict.message == "exact stand-in" and len(calls) == 1
    assert verdict.stats["auto"]["stages"] == ["heuristic", "exact"]
    assert verdict.stats["auto"]["heuristic"]["status"] == "unknown"
    # Every region has exactly n active units in layer 1, so that is the search's bound.
    assert verdict.certificate["heuristic_count"] == n
    # The exact stage got the time the search left (it used at most about half).
    assert calls[0] is not None and calls[0] > 25


def test_auto_above_the_rule_never_claims_injectivity_without_the_exact_stage(monkeypatch):
    """Random nets above the local rule: a verdict from the search is non-injective with a
    verified witness; everything else comes from the exact stage."""

    def exact_stage(layers, mode, budget, x0, box, threads):
        return Verdict("unknown", mode, "milp", [6, 48, 29], message="exact stand-in")

    monkeypatch.setattr(deep, "_check_exact", exact_stage)
    searched = 0
    for seed in range(4):
        layers = _net(6, [48, 29], seed)
        verdict = check_deep(layers, mode="local", method="auto", time_limit=60)
        assert verdict.status != "injective"
        if verdict.stats["auto"]["stages"] == ["heuristic"]:
            searched += 1
            assert verdict.status == "non-injective"
            assert verify_witness(layers, verdict.witness["x"], verdict.witness["y"]).ok
        else:
            assert verdict.message == "exact stand-in"
    # Measured (widths 8n, 0.6 x 8n): the search finds a witness on seed 1 only; the exact
    # checks prove seeds 0, 2, 3 injective, so both branches run here.
    assert 1 <= searched < 4


def test_heuristic_count_is_the_smallest_best_count():
    assert heuristic_count([7, None, 5, 9]) == 5
    assert heuristic_count([None, None]) is None
    verdict = check_deep(_net(8, [40, 30], 0), mode="local", method="heuristic")
    assert verdict.certificate["heuristic_count"] == min(
        c for c in verdict.stats["best_counts"] if c is not None
    )


def test_sweep_records_of_deep_searches_bound_the_brute_force_minimum():
    """The stored ``heuristic_count`` of a deep trial is never below the smallest active
    count of any layer on any open region (brute force), in unknown and non-injective
    records alike; the exact ``p_star`` columns stay empty."""
    statuses = set()
    for seed in range(5):
        n, widths = 2, (8, 5)
        record = check_trial(_task(n, widths, seed, "local", "heuristic"))
        truth = analyse(_net(n, list(widths), seed))
        minimum = min(min(r.active_counts()) for r in truth.regions)
        assert record["p_star"] is None and record["p_star_lower"] is None
        assert record["heuristic_count"] is not None
        assert record["heuristic_count"] >= minimum, (seed, record["heuristic_count"], minimum)
        statuses.add(record["status"])
    # Measured: seed 1 is unknown (count 2 = n), the others non-injective.
    assert statuses == {"unknown", "non-injective"}


def test_sweep_record_of_deep_auto_carries_the_search_bound():
    above = check_trial(_task(7, (21, 5), 0, "local", "auto"))
    assert above["status"] == "non-injective"  # layer 2 has 5 < 7 units
    assert above["heuristic_count"] is not None and above["heuristic_count"] <= 5
    below = check_trial(_task(3, (9, 6), 0, "local", "auto"))
    assert below["heuristic_count"] is None  # the exact stage alone: no search bound


def test_public_check_uses_the_deep_rule():
    net = random_relu_net(7, [21, 5], seed=0)
    verdict = injcheck.check(net, mode="local", time_limit=60)
    assert verdict.status == "non-injective"
    assert verdict.stats["auto"]["stages"] == ["heuristic"]
