"""The batched heuristic witness search: exact counts, verified witnesses, API and CLI."""

import json
import time
from fractions import Fraction

import numpy as np
import pytest
from heuristic_helpers import rational_count, verified_witnesses

import injcheck
from injcheck.cli import main
from injcheck.exceptions import InvalidArgumentError
from injcheck.networks import Layer
from injcheck.one_layer import halfspace_depth
from injcheck.one_layer import heuristic_check as hc
from injcheck.one_layer.heuristic import (
    CellSearch,
    SearchSettings,
    polish_lp_budget,
    search_cells,
    search_layer,
    settings_for,
)
from injcheck.one_layer.polish import polish_cell
from injcheck.verify import exact_signs, verify_cell_witness, verify_witness

FAST = SearchSettings(starts=8, steps=300, polish_tries=200)


@pytest.mark.parametrize("n", [3, 4, 5, 6, 7, 8])
def test_counts_never_below_exact_p_star(n):
    """The heuristic count is the exact count of a real point, hence >= P* (gordan)."""
    rng = np.random.default_rng(100 + n)
    for _ in range(6 if n < 8 else 3):
        m = int(rng.integers(2 * n, 6 * n + 1))
        weight = rng.standard_normal((m, n))
        found = search_layer(weight, FAST)
        p_star = halfspace_depth(weight, time_limit=120)
        assert p_star is not None
        assert found.count >= p_star, (n, m)
        assert found.count == rational_count(weight, found.x)
        assert found.count <= found.descent_count


def test_heuristic_often_attains_p_star_at_small_n():
    """Not a proof of anything, but a search that never reaches P* would be broken."""
    rng = np.random.default_rng(7)
    hits = 0
    for _ in range(10):
        weight = rng.standard_normal((24, 6))
        hits += search_layer(weight, FAST).count == halfspace_depth(weight)
    assert hits >= 7


@pytest.mark.parametrize("n, alpha", [(6, 3), (12, 3), (20, 4)])
def test_every_heuristic_witness_passes_the_rational_verifier(n, alpha):
    rng = np.random.default_rng(n)
    weights = (rng.standard_normal((alpha * n, n)) for _ in range(4))
    found = verified_witnesses(weights, lambda w: injcheck.check(w, method="heuristic"), n)
    assert found >= 3


def test_cell_sign_witness_is_also_a_rational_collision():
    """Above RATIONAL_MAX_N the verdict rests on the cell signs; the full rational
    snap of verify_witness (slow, so at one size only) must agree."""
    n = hc.RATIONAL_MAX_N + 4
    weight = np.random.default_rng(3).standard_normal((3 * n, n))
    verdict = injcheck.check(weight, method="heuristic")
    assert verdict.status == "non-injective"
    assert verdict.verification["exact_check"] == "cell signs"
    assert verify_witness([Layer(weight)], *verdict.witness_arrays()).ok


def test_exact_signs_against_rationals():
    rng = np.random.default_rng(0)
    x = rng.standard_normal(12)
    base = rng.standard_normal((40, 12))
    # Rows almost orthogonal to x: float products are at the rounding level.
    near = base - np.outer(base @ x, x) / (x @ x)
    weight = np.vstack([base, near, np.zeros((1, 12)), np.eye(12)[:1] * 1e-300])
    want = []
    x_q = [Fraction(float(v)) for v in x]
    for row in weight:
        value = sum(Fraction(float(a)) * b for a, b in zip(row, x_q))
        want.append((value > 0) - (value < 0))
    assert exact_signs(weight, x).tolist() == want
    assert exact_signs(np.array([[0.0, 1.0], [1.0, 0.0]]), np.array([1.0, 0.0])).tolist() == [0, 1]


def test_cell_witness_rejections():
    weight = np.random.default_rng(1).standard_normal((30, 5))
    x = np.random.default_rng(2).standard_normal(5)
    # A generic point of a 30 x 5 layer has far more than 5 positive rows.
    assert not verify_cell_witness(weight, x, x + 1e-3).exact_ok
    on_plane = np.vstack([weight, [[1.0, 0, 0, 0, 0]]])
    check = verify_cell_witness(on_plane, np.eye(5)[1], np.eye(5)[2])
    assert not check.exact_ok and "hyperplane" in check.reason
    rows = np.vstack([-np.eye(5), [[1.0, 1, 0, 0, 0]]])  # x = e1 + e2: one positive row
    x = np.array([1.0, 1, 0, 0, 0]) * 0.5 + np.array([0, 0, 1, 1, 1]) * 1e-3
    good = verify_cell_witness(rows, x, x + np.array([1e-3, -1e-3, 0, 0, 0]))
    assert good.exact_ok and good.float_ok
    bad = verify_cell_witness(rows, x, x + np.array([1e-3, 0, 0, 0, 0]))
    assert bad.exact_ok and not bad.ok  # the pair does not collide: float check fails


def test_batch_shapes_and_device():
    rng = np.random.default_rng(5)
    batch = rng.standard_normal((3, 40, 8))
    results = search_cells(batch, FAST)
    assert len(results) == 3
    for weight, found in zip(batch, results):
        assert found.x.shape == (8,)
        assert found.count == rational_count(weight, found.x)
        assert found.stats["device"] == "cpu"
    with pytest.raises(InvalidArgumentError):
        search_cells([batch[0], batch[0][:, :7]], FAST)
    with pytest.raises(InvalidArgumentError, match="device"):
        search_cells(batch, SearchSettings(device="tpu"))
    import torch

    if not torch.cuda.is_available():
        with pytest.raises(InvalidArgumentError, match="CUDA"):
            search_cells(batch, SearchSettings(device="cuda"))


def test_same_seed_same_result():
    weight = np.random.default_rng(9).standard_normal((60, 12))
    a, b = search_layer(weight, FAST), search_layer(weight, FAST)
    assert a.count == b.count and np.array_equal(a.x, b.x)


class _SlowClock:
    """A clock that jumps 1000 s at every call: any wall-clock budget binds at once."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        self.now += 1000.0
        return self.now


def test_result_does_not_depend_on_the_clock(monkeypatch):
    """Without a time limit the work is counted in steps, starts and LPs: on a machine a
    million times slower (the clock jumps 1000 s a call) the defaults find the same cell,
    polishing included."""
    n, m = 50, 250
    settings = settings_for(n, m)
    # A layer where polishing moves the point, so that the test can fail. Which one depends
    # on the installed versions: seed 12 did until 2026-12-04, and no longer moves
    # with highspy 1.16.0 / numpy 2.4.6 (the search is still the same on both clocks).
    for seed in range(12, 24):
        weight = np.random.default_rng(seed).standard_normal((m, n))
        fast = search_layer(weight, settings)
        if fast.stats["flips"] > 0:
            break
    assert fast.stats["flips"] > 0
    monkeypatch.setattr(time, "perf_counter", _SlowClock())
    slow = search_layer(weight, settings)
    assert (slow.count, slow.stats["flips"]) == (fast.count, fast.stats["flips"])
    assert np.array_equal(slow.x, fast.x) and not slow.truncated and not fast.truncated


def test_a_binding_time_limit_is_marked_and_its_count_is_not_stored():
    from injcheck.sweep.trials import record_from_verdict

    n, m = 40, 200
    weight = np.random.default_rng(12).standard_normal((m, n))
    cut = search_layer(weight, settings_for(n, m), time_limit=1e-4)
    assert cut.truncated and cut.stats["steps_run"] < settings_for(n, m).steps
    assert cut.count == rational_count(weight, cut.x)  # still the exact count of its point
    verdict = hc.decide_heuristic(weight, time_limit=1e-4)
    assert verdict.certificate["heuristic_truncated"]
    assert record_from_verdict(verdict)["heuristic_count"] is None
    whole = hc.decide_heuristic(weight)
    assert not whole.certificate["heuristic_truncated"]
    assert record_from_verdict(whole)["heuristic_count"] == whole.certificate["heuristic_count"]


def test_polish_budget_is_a_number_of_lps():
    n, m = 30, 150
    weight = np.random.default_rng(13).standard_normal((m, n))
    x = search_layer(weight, SearchSettings(starts=2, steps=200)).x
    positive = int(np.sum(weight @ x > 0))
    assert polish_cell(weight, x, max_tries=3).tried == min(3, positive)
    whole = polish_cell(weight, x)
    assert whole.tried == positive and not whole.truncated
    assert rational_count(weight, whole.x) <= positive - whole.flips
    late = polish_cell(weight, x, max_tries=5, deadline=time.perf_counter() - 1.0)
    assert late.truncated and late.tried == 0
    assert polish_lp_budget(5000, 1000) == 0 < polish_lp_budget(1250, 250) < m


def test_failed_search_is_unknown_never_injective():
    weight = np.random.default_rng(4).standard_normal((200, 10))  # alpha 20: P* >> n
    for method in ("heuristic",):
        verdict = injcheck.check(weight, method=method)
        assert verdict.status == "unknown"
        assert verdict.certificate["heuristic_count"] >= 10
        assert "p_star" not in verdict.certificate


def test_heuristic_refuses_exact_value():
    weight = np.random.default_rng(4).standard_normal((40, 10))
    with pytest.raises(InvalidArgumentError, match="exact_value"):
        injcheck.check(weight, method="heuristic", exact_value=True)


def test_a_wrong_search_point_gives_unknown(monkeypatch):
    weight = np.random.default_rng(4).standard_normal((40, 10))
    fake = CellSearch(count=3, x=np.ones(10), open_cell=True, descent_count=3)
    monkeypatch.setattr(hc, "search_layer", lambda *a, **k: fake)
    verdict = hc.decide_heuristic(weight)
    assert verdict.status == "unknown" and verdict.witness is None


def test_auto_size_rule(monkeypatch):
    small = np.random.default_rng(0).standard_normal((30, 5))
    assert injcheck.check(small).method != "heuristic"
    mid = np.random.default_rng(0).standard_normal((36, 12))  # alpha 3: witnesses are easy
    verdict = injcheck.check(mid)
    assert verdict.status == "non-injective" and verdict.method == "heuristic"
    big = np.random.default_rng(0).standard_normal((400, 20))  # alpha 20
    verdict = injcheck.check(big, time_limit=30)
    assert verdict.status == "unknown" and "not started" in verdict.message
    assert hc.auto_plan(hc.AUTO_HEURISTIC_MIN_N) == (False, True)
    assert hc.auto_plan(hc.AUTO_EXACT_MAX_N + 1) == (True, False)


def test_cli_heuristic(capsys):
    assert main(["check", "--arch", "30,90", "--seed", "2", "--method", "heuristic", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["status"] == "non-injective" and data["method"] == "heuristic"
    assert data["verification"]["exact_check"] == "cell signs"
    assert main(["check", "--arch", "30,90", "--seed", "2", "--method", "heuristic"]) == 0
    assert "exact cell signs=True" in capsys.readouterr().out
