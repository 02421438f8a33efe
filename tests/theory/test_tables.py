"""Shipped theory table: agrees with fresh RS/1RSB values, is complete and ordered; loading,
interpolation and the cache-only lookup outside the grid."""

import json
import math

import numpy as np
import pytest

from injcheck import theory
from injcheck.theory import cache, parisi, rs, rsb
from injcheck.theory.tables import (
    TABLE_FORMAT,
    TABLE_METHODS,
    TheoryTableError,
    cached_ground_state,
    load_table,
    write_table,
)


@pytest.fixture(scope="module")
def table():
    return load_table()


def test_shipped_table_covers_the_sweep_range_densely(table):
    lo, hi = table.alpha_range
    assert lo <= 1.0 and hi >= 10.0
    assert table.step <= 0.05 + 1e-12
    assert set(TABLE_METHODS) <= set(table.e_star) and set(TABLE_METHODS) <= set(table.capacities)
    # Every unsolved point is explained in the file.
    missing = {
        (float(a), m) for m in TABLE_METHODS for a in table.alpha[~np.isfinite(table.e_star[m])]
    }
    assert missing == {(float(f["alpha"]), f["method"]) for f in table.meta["failures"]}
    assert len(missing) <= 3


def test_shipped_table_is_from_the_current_theory_code(table):
    # Bumping CODE_VERSION means a numerical method changed: regenerate the table with
    # experiments/make_theory_tables.py.
    assert table.meta["format"] == TABLE_FORMAT
    assert table.meta["cache_version"] == cache.CODE_VERSION


@pytest.mark.parametrize("alpha", [1.5, 2.0, 2.35, 3.0, 4.2, 5.55, 6.7, 7.65, 9.0, 10.0])
def test_table_agrees_with_fresh_rs(table, alpha):
    fresh = rs.ground_state_rs(alpha) if alpha > 2 else 0.0
    assert float(table.ground_state(alpha, "rs")) == pytest.approx(fresh, rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("alpha", [3.137, 6.4321, 8.888])
def test_interpolation_between_grid_points_is_accurate(table, alpha):
    # Off-grid: PCHIP on a 0.05 grid of a smooth curve.
    assert float(table.ground_state(alpha, "rs")) == pytest.approx(
        rs.ground_state_rs(alpha), abs=2e-5
    )


@pytest.mark.parametrize("alpha", [5.0, 7.3])
def test_table_agrees_with_fresh_1rsb(table, alpha):
    assert float(table.ground_state(alpha, "1rsb")) == pytest.approx(
        rsb.ground_state_1rsb(alpha), rel=1e-8
    )


def test_capacities_agree_with_fresh_rs_and_1rsb(table):
    assert table.capacities["rs"] == pytest.approx(rs.capacity_rs(), rel=1e-10)
    assert table.capacities["1rsb"] == pytest.approx(rsb.capacity_1rsb().alpha, rel=1e-9)
    assert 6.69 < table.capacities["frsb"] < table.capacities["1rsb"] < table.capacities["rs"]


def test_levels_are_ordered_and_increasing(table):
    e = {m: table.e_star[m] for m in TABLE_METHODS}
    above = table.alpha > 2.0
    for m in TABLE_METHODS:
        ok = np.isfinite(e[m])
        assert np.all(np.diff(e[m][ok]) >= -1e-12), m  # e* grows with alpha
        assert np.all(e[m][ok & ~above] == 0.0), m  # Wendel: zero up to alpha = 2
    # Breaking replica symmetry lifts the minimal fraction: RS <= 1RSB <= full RSB.
    both = above & np.isfinite(e["frsb"])
    assert np.all(e["rs"][above] < e["1rsb"][above])
    assert np.all(e["1rsb"][both] <= e["frsb"][both] + 1e-9)
    # Each curve crosses 1 at its capacity.
    for m in TABLE_METHODS:
        assert float(table.ground_state(table.capacities[m], m)) == pytest.approx(1.0, abs=1e-5)


def _write(tmp_path, alpha, values, name="t.json"):
    data = {
        "format": TABLE_FORMAT,
        "alpha": alpha,
        "e_star": {"rs": values},
        "capacities": {"rs": 7.6},
    }
    return write_table(data, tmp_path / name)


def test_interpolation_never_bridges_an_unsolved_point_nor_extrapolates(tmp_path):
    path = _write(tmp_path, [1.0, 2.0, 3.0, 4.0, 5.0], [0.0, 0.0, None, 0.3, 0.4])
    t = load_table(path)
    got = t.ground_state([0.5, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0, 4.5, 5.0, 5.5], "rs")
    assert np.isnan(got[[0, 3, 4, 5, 9]]).all()
    assert got[1] == 0.0 and got[2] == 0.0 and got[6] == 0.3 and got[8] == 0.4
    assert 0.3 < got[7] < 0.4
    assert isinstance(t.ground_state(4.0, "rs"), float | np.floating)
    with pytest.raises(KeyError):
        t.ground_state(4.0, "frsb")


@pytest.mark.parametrize(
    "text, match",
    [
        ("{not json", "cannot be read"),
        ('{"format": "other"}', "not in format"),
        (json.dumps({"format": TABLE_FORMAT, "alpha": [1, 2]}), "malformed"),
        (
            json.dumps({"format": TABLE_FORMAT, "alpha": [2, 1], "e_star": {}, "capacities": {}}),
            "increasing",
        ),
        (
            json.dumps(
                {"format": TABLE_FORMAT, "alpha": [1, 2], "e_star": {"rs": [0]}, "capacities": {}}
            ),
            "differ in length",
        ),
    ],
)
def test_bad_table_files_raise_one_clear_error(tmp_path, text, match):
    path = tmp_path / "bad.json"
    path.write_text(text)
    with pytest.raises(TheoryTableError, match=match):
        load_table(path)
    with pytest.raises(TheoryTableError, match="cannot be read"):
        load_table(tmp_path / "missing.json")


def test_outside_the_table_only_cached_levels_are_used(monkeypatch):
    # The cache key of ground_state_levels and the lookup must agree: fill the (test-local)
    # cache through the real function, with the solver replaced by a fake.
    class Level:
        def __init__(self, energy):
            self.energy = energy

    levels = [2.50, 2.52, 2.525, 2.5262, 2.5266]
    monkeypatch.setattr(
        parisi, "ground_state_sequence", lambda a, k, grid, truncate: [Level(e) for e in levels]
    )
    assert cached_ground_state(13.0, "frsb") is None  # nothing cached yet: no solving
    theory.ground_state_levels(13.0)
    assert cached_ground_state(13.0, "1rsb") == levels[0]
    expected = parisi.extrapolate_frsb(range(1, 6), levels)[0]
    assert cached_ground_state(13.0, "frsb") == pytest.approx(expected)
    assert cached_ground_state(13.05, "frsb") is None
    assert cached_ground_state(13.05, "rs") == pytest.approx(rs.ground_state_rs(13.05))
    assert cached_ground_state(0.5, "frsb") == 0.0


def test_write_then_load_round_trip(tmp_path):
    path = _write(tmp_path, [1.0, 2.5, 3.0], [0.0, 0.1, math.pi])
    t = load_table(path)
    assert t.alpha.tolist() == [1.0, 2.5, 3.0] and t.e_star["rs"][2] == math.pi
    assert t.capacities == {"rs": 7.6} and t.meta["format"] == TABLE_FORMAT
