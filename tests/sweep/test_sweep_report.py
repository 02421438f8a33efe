import csv
import sys
import types

import pytest
from sweep_helpers import fake_spec, run_cli

from injcheck.exceptions import StoreError
from injcheck.sweep import make_report, run_sweep

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


def _fake_theory(monkeypatch, **funcs):
    module = types.ModuleType("injcheck.theory")
    module.__dict__.update(funcs)
    monkeypatch.setitem(sys.modules, "injcheck.theory", module)


def test_report_writes_csv_png_pdf(store, tmp_path, monkeypatch):
    caps = {"rs": 7.6477, "1rsb": 6.7157, "frsb": 6.698}
    _fake_theory(monkeypatch, capacity=lambda m: caps[m], ground_state=lambda a, m: a / caps[m])
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
    _fake_theory(monkeypatch, capacity=lambda m: {"rs": 7.6477}[m])  # no ground_state, no 1rsb/frsb
    report = make_report(store, tmp_path / "r")
    text = " ".join(report.notes)
    assert "ground_state is missing" in text and "capacity('1rsb') failed" in text
    assert (tmp_path / "r" / "transition.png").exists()
    assert "ground_state is missing" in (tmp_path / "r" / "report.md").read_text()


def test_report_cli(store, tmp_path, capsys):
    assert (
        run_cli(["report", "--store", str(store), "--out", str(tmp_path / "c"), "--no-theory"]) == 0
    )
    out = capsys.readouterr().out
    assert "transition.png" in out and (tmp_path / "c" / "alpha50.pdf").exists()
    assert run_cli(["report", "--store", str(store), "--list"]) == 0
    assert "trials" in capsys.readouterr().out


def test_report_errors(tmp_path):
    with pytest.raises(StoreError, match="not found"):
        make_report(tmp_path / "none.sqlite", tmp_path / "r")
    from injcheck.sweep import Store

    Store(tmp_path / "empty.sqlite").close()
    with pytest.raises(StoreError, match="holds no sweep"):
        make_report(tmp_path / "empty.sqlite", tmp_path / "r")
