"""``experiments/large_n.py --quick``: runs, verifies its witnesses, resumes, draws."""

import csv
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "experiments"))

import large_n  # noqa: E402


def test_quick_mode_writes_tables_and_resumes(tmp_path):
    large_n.main(["--quick", "--out", str(tmp_path), "--nets", "2"])
    records = [json.loads(line) for line in (tmp_path / "records.jsonl").read_text().splitlines()]
    heuristic = [r for r in records if r["kind"] == "heuristic"]
    planned = [("random", n, a) for n, alphas, *_ in large_n.QUICK for a in alphas]
    planned += [("amp", n, a) for n, alphas in large_n.QUICK_AMP for a in alphas]
    assert len(heuristic) == 2 * len(planned)
    # Every witness counted by the experiment went through the verifier and passed.
    assert all(r["verified"] for r in heuristic if r["witness"])
    assert any(r["witness"] for r in heuristic)
    exact = [r for r in records if r["kind"] == "exact"]
    assert exact and all(isinstance(r["p_star"], int) for r in exact)
    for name in ("summary.csv", "thresholds.csv", "exact_small_n.csv", "large_n.png"):
        assert (tmp_path / name).stat().st_size > 0
    with (tmp_path / "summary.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert {(r["init"], int(r["n"]), float(r["alpha"])) for r in rows} == set(planned)
    with (tmp_path / "thresholds.csv").open() as fh:
        assert {r["init"] for r in csv.DictReader(fh)} == {"random", "amp"}
    large_n.main(["--quick", "--out", str(tmp_path), "--nets", "2"])  # nothing left to do
    assert len((tmp_path / "records.jsonl").read_text().splitlines()) == len(records)


def test_seeds_come_from_what_a_trial_is():
    assert large_n.net_seed(250, 5.0, 3) == large_n.net_seed(250, 5.0, 3)
    assert large_n.net_seed(250, 5.0, 3) != large_n.net_seed(250, 5.5, 3)
    assert large_n.layer(40, 5.0, 1).shape == (200, 40)


def test_threshold_crossing():
    summary = [
        {"init": "amp", "n": 10, "alpha": a, "witness_fraction": f, "mean_count_over_n": c}
        for a, f, c in [(5.0, 1.0, 0.7), (6.0, 0.8, 0.95), (7.0, 0.2, 1.1)]
    ]
    (row,) = large_n.thresholds(summary)
    assert row["bracket_lo"] == 6.0 and row["bracket_hi"] == 7.0
    assert abs(row["alpha_alg"] - 6.5) < 1e-12
    assert abs(row["alpha_mean_count_eq_n"] - (6.0 + 0.05 / 0.15)) < 1e-12
    assert row["largest_alpha_with_witness"] == 7.0


def test_records_before_the_init_field_are_random_starts():
    old = {"kind": "heuristic", "n": 250, "alpha": 5.0, "net": 0}
    assert large_n.init_of(old) == "random"
    assert large_n.init_of(dict(old, init="amp")) == "amp"
    assert large_n.init_of({"kind": "exact", "n": 8, "alpha": 5.0, "net": 0}) is None
