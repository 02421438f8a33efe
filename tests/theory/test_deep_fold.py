"""Weak / strong deep layer conditions (``injcheck.theory.deep_fold``) and their JSON."""

import json
import math

import numpy as np
import pytest

from injcheck.cli import _Parser
from injcheck.cli import theory as cli_theory
from injcheck.theory import deep, deep_fold, rs
from injcheck.theory.deep_fold import Notion, Status, WidthSource


def test_depth_one_recovers_the_one_layer_gordon_threshold():
    assert deep_fold.count_expansion(1.0, 1.0) == pytest.approx(rs.capacity_rs(), abs=1e-9)
    row = deep_fold.fold_table(1, lifted=False)[0]
    assert row.weak.m_over_n == pytest.approx(7.6477, abs=1e-4)
    # one piece (the input space): no folds at layer 1, strong = weak, a theorem
    assert row.strong.m_over_n == row.weak.m_over_n
    assert row.weak.status is Status.RIGOROUS_BOUND
    assert row.strong.status is Status.RIGOROUS_BOUND


@pytest.mark.parametrize("omega", [0.5, 0.8, 0.95, 1.0])
def test_count_expansion_with_e_one_is_the_existing_layer_expansion(omega):
    assert deep_fold.count_expansion(omega, 1.0) == pytest.approx(
        deep.layer_expansion(omega), rel=1e-9
    )


@pytest.mark.parametrize("omega", [0.6, 0.9, 1.0])
def test_strong_needs_more_than_weak_and_more_count_needs_more_width(omega):
    e1, e2, e3 = (deep_fold.count_expansion(omega, e) for e in (1.0, 2.0, 3.0))
    assert e1 < e2 < e3
    assert deep_fold.count_expansion(omega * 0.9, 2.0) < e2  # smaller image, less width


def test_table_strong_at_least_weak_and_statuses():
    for source in WidthSource:
        rows = deep_fold.fold_table(3, source, lifted=False)
        for r in rows[1:]:
            assert r.strong.m_over_n > r.weak.m_over_n + 1.0
            assert r.weak.status is Status.ESTIMATE and r.strong.status is Status.ESTIMATE
            assert r.weak.notion is Notion.WEAK and r.strong.notion is Notion.STRONG
        # expansion is the ratio to the previous layer of the same chain
        assert rows[1].strong.expansion == pytest.approx(
            rows[1].strong.m_over_n / rows[0].strong.m_over_n
        )


def _aux_distance_sq(h: np.ndarray, keep: int) -> float:
    """dist(h, {at most `keep` positive entries})^2: pay h_i^2 for positives beyond `keep`."""
    pos = np.sort(h[h > 0])[::-1]
    return float(np.sum(pos[keep:] ** 2))


@pytest.mark.parametrize("omega", [1.0, 0.9])
def test_strong_threshold_by_monte_carlo_of_gordons_auxiliary_problem(omega):
    # At beta = count_expansion(omega, 2): E dist(h, C_2n)^2 / n = omega^2 (Gordon's balance).
    rng = np.random.default_rng(7)
    n = 3000
    beta = deep_fold.count_expansion(omega, 2.0)
    vals = [
        _aux_distance_sq(rng.standard_normal(int(round(beta * n))), 2 * n) / n for _ in range(4)
    ]
    assert np.mean(vals) == pytest.approx(omega**2, abs=0.03)
    # and 10 % less width falls clearly short of the balance
    h = rng.standard_normal(int(round(0.9 * beta * n)))
    assert _aux_distance_sq(h, 2 * n) / n < omega**2 - 0.05


def test_parisi_ground_state_known_models():
    # 2-spin: largest eigenvalue, sqrt 2 exactly; pure 3-spin: 1.657 (known value)
    assert deep_fold.spherical_ground_state(lambda t: 2 * np.asarray(t), 300) == pytest.approx(
        math.sqrt(2), abs=1e-4
    )
    assert deep_fold.spherical_ground_state(lambda t: 3 * np.asarray(t) ** 2, 300) == (
        pytest.approx(1.657, abs=2e-3)
    )


def test_kernel_widths_below_the_rs_value_and_shrinking():
    k1, slope1 = deep_fold.composed_kernel(1)
    assert float(k1(1.0)) == pytest.approx(1.0) and float(slope1(1.0)) == pytest.approx(1.0)
    assert float(k1(0.0)) == pytest.approx(1 / math.pi)
    w = [deep_fold.kernel_width(d, grid=300) for d in (0, 1, 2, 3)]
    assert w[0] == 1.0
    # RS (replica-symmetric) value sqrt(xi'(1)) = 1 at every depth; the Parisi value is lower
    assert 0.98 < w[1] < 0.995 and w[1] > w[2] > w[3] > 0.9


def _theory_json(argv, capsys):
    parser = _Parser(prog="injcheck")
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)
    cli_theory.register(sub)
    args = parser.parse_args(argv)
    assert args.handler(args) == 0
    return json.loads(capsys.readouterr().out)


def test_cli_depth4_json_has_both_notions_with_status(capsys):
    d = _theory_json(["theory", "--depth", "4", "--json", "--kmax", "3", "--alpha", "5"], capsys)
    rows = d["deep"]["notions"]
    assert [r["layer"] for r in rows] == [1, 2, 3, 4]
    for r in rows:
        for name in ("weak", "strong"):
            c = r[name]
            assert c["notion"] == name
            assert c["status"] in {s.value for s in Status}
            assert c["m_over_n"] > 2.0 and c["lifted_m_over_n"] < c["m_over_n"]
    assert rows[0]["weak"]["status"] == "rigorous bound"
    assert rows[3]["strong"]["status"] == "estimate"
    assert rows[1]["strong"]["m_over_n"] > rows[1]["weak"]["m_over_n"]
    assert d["deep"]["layers"][0]["m_over_n"] == pytest.approx(7.6477, abs=1e-4)  # kept
