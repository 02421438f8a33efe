import csv

import pytest
from sweep_helpers import fake_spec, run_cli

from injcheck.exceptions import StoreError
from injcheck.sweep import make_report, run_sweep
from injcheck.theory import tables

PLOTS = ("transition", "pstar", "alpha50")


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    path = tmp_path_factory.mktemp("rep") / "s.sqlite"
    spec = fake_spec(
        n=(4, 6),
        alpha=tuple(float(a) for a in range(3, 9)),
        trials=12,
        trial_options=(("unknown_rate", 0.05),),
    )
    run_sweep(spec, path, workers=0, progress=False)
    return path


def test_report_writes_csv_png_pdf(store, tmp_path):
    out = tmp_path / "report"
    report = make_report(store, out, parquet=True)
    for name in (
        "summary.csv",
        "crossings.csv",
        "extrapolation.csv",
        "trials.csv",
        "trials.parquet",
        "report.md",
    ):
        assert (out / name).stat().st_size > 0, name
    for name in PLOTS:
        for ext in ("png", "pdf"):
            assert (out / f"{name}.{ext}").stat().st_size > 5000, (name, ext)
    with open(out / "summary.csv") as fh:
        summary = list(csv.DictReader(fh))
    assert len(summary) == 12 and sum(int(r["trials"]) for r in summary) == 144
    assert {"unknown", "ci_low", "ci_high", "pstar_over_n_mean"} <= set(summary[0])
    assert not any("theory" in note for note in report.notes)
    with open(out / "crossings.csv") as fh:
        assert [r["n"] for r in csv.DictReader(fh)] == ["4", "6"]


def test_missing_theory_is_noted_not_fatal(store, tmp_path, monkeypatch):
    only_rs = tables.write_table(
        {
            "format": tables.TABLE_FORMAT,
            "alpha": [1.0, 5.0, 10.0],
            "e_star": {"rs": [0.0, 0.43, 1.58]},
            "capacities": {"rs": 7.6477},
        },
        tmp_path / "rs_only.json",
    )
    table = tables.load_table(only_rs)
    monkeypatch.setattr(tables, "_load_default", lambda: table)
    report = make_report(store, tmp_path / "r")
    text = " ".join(report.notes)
    assert "no 1RSB e*(alpha)" in text and "no full RSB e*(alpha)" in text
    assert (tmp_path / "r" / "transition.png").exists()
    assert "no full RSB e*(alpha)" in (tmp_path / "r" / "report.md").read_text()


def test_report_cli(store, tmp_path, capsys):
    assert (
        run_cli(["report", "--store", str(store), "--out", str(tmp_path / "c"), "--no-theory"]) == 0
    )
    out = capsys.readouterr().out
    assert "transition.png" in out and (tmp_path / "c" / "alpha50.pdf").exists()
    assert run_cli(["report", "--store", str(store), "--list"]) == 0
    assert "trials" in capsys.readouterr().out
    # --list prints and exits: an option it would ignore is refused, not dropped
    out = str(tmp_path / "never")
    assert run_cli(["report", "--store", str(store), "--list", "--out", out]) == 2
    assert "--list prints the sweeps and exits; drop --out" in capsys.readouterr().err
    assert not (tmp_path / "never").exists()


def test_report_errors(tmp_path):
    with pytest.raises(StoreError, match="not found"):
        make_report(tmp_path / "none.sqlite", tmp_path / "r")
    from injcheck.sweep import Store

    Store(tmp_path / "empty.sqlite").close()
    with pytest.raises(StoreError, match="holds no sweep"):
        make_report(tmp_path / "empty.sqlite", tmp_path / "r")


def test_a_sweep_given_by_explicit_widths_is_reported(tmp_path):
    # Its rows have no alpha_nominal (None), which the row check must accept.
    spec = fake_spec(alpha=None, widths=((12,), (18,), (24,)))
    path = tmp_path / "w.sqlite"
    run_sweep(spec, str(path), workers=0, progress=False)
    report = make_report(str(path), tmp_path / "out", theory=False)
    assert any(f.endswith("summary.csv") for f in report.files)
