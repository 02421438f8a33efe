"""``experiments/deep_expansion.py``: the quick mode runs, and its bisection premise holds."""

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "experiments"))

import deep_expansion as dx  # noqa: E402


def test_quick_mode_runs_and_writes_tables(tmp_path):
    out = tmp_path / "dq"
    proc = subprocess.run(
        [
            sys.executable,
            str(ROOT / "experiments" / "deep_expansion.py"),
            "--quick",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    recs = [json.loads(line) for line in open(out / "records.jsonl")]
    assert {r["key"] for r in recs} == {c.key for c in dx.QUICK}
    for r in recs:
        if "bisection" in r:
            b = r["bisection"]
            assert b["lo_fail"] >= r["n"] - 1
            if b["hi_pass"] is not None and not b["unknown_at"]:
                assert b["hi_pass"] - b["lo_fail"] == 1
    summary = list(csv.DictReader(open(out / "summary.csv")))
    assert {s["key"] for s in summary} == {c.key for c in dx.QUICK}
    # resumable: a second run finds every seed done and appends nothing
    n_before = len(recs)
    subprocess.run(
        [
            sys.executable,
            str(ROOT / "experiments" / "deep_expansion.py"),
            "--quick",
            "--out",
            str(out),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    assert len(open(out / "records.jsonl").read().splitlines()) == n_before


@pytest.mark.parametrize("seed", [0, 1])
def test_nested_rows_make_injectivity_monotone_and_bisection_exact(seed):
    # the bisection assumes: more rows in the last layer never create a collision.
    # Scan every width with the exact local check and compare.
    cfg = dx.Config(3, 2, "local", 1, 20.0)
    ws = dx.weights(cfg, seed)
    states = [dx._check(ws[:-1] + [ws[-1][:m]], "local", 20.0)["status"] for m in range(3, 26)]
    assert "unknown" not in states
    first_inj = states.index("injective")
    assert all(s == "injective" for s in states[first_inj:])
    b = dx.bisect([w[:25] if i == 1 else w for i, w in enumerate(ws)], 3, "local", 20.0)
    assert b.hi_pass == 3 + first_inj and b.lo_fail == b.hi_pass - 1


def test_circle_walk_matches_the_exact_local_check_and_bounds_the_global_one():
    # n = 2: count >= n critical width from the circle walk = the exact local check's;
    # the exact global critical width lies between count >= n and count >= 2n (the lemma:
    # a collision at layer k >= 2 needs fewer than 2n positive rows).
    from circle_counts import critical_width, min_counts

    cfg = dx.Config(2, 2, "global", 1, 20.0)
    for seed in (0, 2):
        ws = dx.weights(cfg, seed)
        counts = min_counts(ws)
        loc = dx.bisect(ws, 2, "local", 20.0)
        glob = dx.bisect(ws, 2, "global", 20.0)
        assert loc.exact and glob.exact
        assert critical_width(counts, 2) == loc.hi_pass
        assert loc.hi_pass <= glob.hi_pass <= critical_width(counts, 4)
    # seed 2 has a fold: globally non-injective where it is locally injective
    assert glob.hi_pass > loc.hi_pass


def test_heuristic_critical_width_never_exceeds_the_exact_one():
    # the library search only reports rank losses it proved (a verified witness at the
    # width below the critical one), so its critical width is a lower estimate of the exact
    # local one
    import deep_expansion_heuristic as heur

    cfg = dx.Config(4, 2, "local", 1, 20.0)
    for seed in (0, 1):
        ws = dx.weights(cfg, seed)
        exact = dx.bisect(ws, 4, "local", 20.0)
        assert exact.exact
        res = heur.critical_width(ws, 4, seed, {"steps": 300, "starts": 4, "polish_tries": 20})
        assert res["critical"] <= exact.hi_pass
        assert res["verification"]["layer"] is not None  # a witness was verified
        assert res["critical"] == res["verification"]["verified_width"] + 1


def test_fail_width_reads_nested_rows():
    # a point's failing width is where its n-th positive last-layer row sits
    import deep_expansion_heuristic as heur
    import numpy as np

    from injcheck.networks import as_layers

    w = np.array([[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0], [-1.0, -1.0], [1.0, 1.0]])
    x = np.array([1.0, 0.5])  # signs of the rows: +, -, +, -, +
    assert heur.fail_width(as_layers([w]), x, 2) == 2  # rows 1-2 have one positive
    assert heur.fail_width(as_layers([w]), x, 3) == 4
    assert heur.fail_width(as_layers([w]), np.array([0.0, 1.0]), 2) == 0  # row 1 is on its wall
    # a prefix layer with fewer than n active units fails at every width
    prefix = np.eye(2)
    assert heur.fail_width(as_layers([prefix, w]), np.array([1.0, -1.0]), 2) == 5
    # an uncertified prefix sign: no proof at any width
    assert heur.fail_width(as_layers([prefix, w]), np.array([1.0, 0.0]), 2) == -1


def test_heuristic_quick_mode_runs_and_resumes(tmp_path):
    import deep_expansion_heuristic as heur

    cmd = [sys.executable, str(ROOT / "experiments" / "deep_expansion_heuristic.py")]
    cmd += ["--quick", "--out", str(tmp_path)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    recs = [json.loads(line) for line in open(tmp_path / "heuristic_records.jsonl")]
    want = {(n, d, s) for n, ds, nets in heur.QUICK_PLAN for d in ds for s in range(nets)}
    assert {(r["n"], r["depth"], r["seed"]) for r in recs} == want
    for r in recs:
        assert r["n"] <= r["critical"] <= r["claimed"] <= r["m_max"] + 1
    assert "| 4 | 2 |" in (tmp_path / "heuristic_summary.md").read_text()
    subprocess.run(cmd, check=True, capture_output=True, timeout=120)
    assert len(open(tmp_path / "heuristic_records.jsonl").read().splitlines()) == len(recs)


def test_rerun_policy_reruns_undecided_seeds_at_a_longer_limit():
    """An undecided record is rerun by a config with a longer limit or another method;
    a decided one never; the later record supersedes the earlier."""
    cfg_short = dx.Config(6, 2, "local", 4, 20.0)
    cfg_long = dx.Config(6, 2, "local", 4, 120.0, "milp")
    undecided = {
        "key": cfg_short.key,
        "seed": 0,
        "time_limit": 20.0,
        "prefix": {"status": "injective"},
        "bisection": {"checks": [{"status": "non-injective"}, {"status": "unknown"}]},
    }
    decided = {**undecided, "bisection": {"checks": [{"status": "injective"}]}}
    assert dx.settled(undecided, cfg_short)
    assert not dx.settled(undecided, cfg_long)
    assert dx.settled(decided, cfg_long)
    rerun = {**decided, "time_limit": 120.0, "method": "milp"}
    other = {**decided, "seed": 1}
    assert dx.latest([undecided, other, rerun]) == [rerun, other]
