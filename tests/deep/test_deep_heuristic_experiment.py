"""experiments/deep_heuristic.py --quick runs end to end and writes what it says."""

import csv
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_quick_run_writes_tables_and_figure(tmp_path):
    script = ROOT / "experiments" / "deep_heuristic.py"
    subprocess.run(
        [sys.executable, str(script), "--quick", "--out", str(tmp_path)], check=True, cwd=ROOT
    )
    for name in ("local.csv", "folds.csv", "summary.csv", "deep_heuristic.png", "run.log"):
        assert (tmp_path / name).stat().st_size > 0
    with open(tmp_path / "summary.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    local = {float(r["alpha"]): float(r["witness_fraction"]) for r in rows if r["part"] == "local"}
    assert set(local) == {4.0, 7.0}
    assert local[4.0] == 1.0  # n = 30, alpha = 4: best counts ~0.4 n
    with open(tmp_path / "local.csv", newline="") as fh:
        for row in csv.DictReader(fh):
            # a witness needs a certified count below n in its layer
            if row["witness"] == "1":
                assert float(row[f"count{row['witness_layer']}_over_n"]) < 1.0
