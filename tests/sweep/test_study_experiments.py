"""The validation study (issue 17): quick modes of the three scripts, the grid, the
finite-size fits and their verdict on synthetic data, and the published-count check."""

import csv
import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "experiments"))

import study_audit  # noqa: E402
import study_common as sc  # noqa: E402
import study_fits as sf  # noqa: E402
import study_one_layer  # noqa: E402
import study_pstar  # noqa: E402
import study_scaling  # noqa: E402


def _csv(path):
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


# -- quick modes (the CI smoke test) ------------------------------------------------------
@pytest.fixture(scope="module")
def quick_out(tmp_path_factory):
    out = tmp_path_factory.mktemp("study_quick")
    assert study_one_layer.main(["--quick", "--out", str(out)]) == 0
    return out


def test_quick_one_layer_writes_tables_and_resumes(quick_out, capsys):
    summary = _csv(quick_out / "one_layer_summary.csv")
    assert {int(r["n"]) for r in summary} == {3, 4}
    assert all(int(r["trials"]) == 12 for r in summary)
    for r in summary:  # every trial is counted in exactly one status
        assert int(r["injective"]) + int(r["non_injective"]) + int(r["unknown"]) == 12
    crossings = _csv(quick_out / "one_layer_crossings.csv")
    assert [int(c["n"]) for c in crossings] == [3, 4]
    for ext in ("png", "pdf"):
        assert (quick_out / f"one_layer_transition.{ext}").stat().st_size > 1000
    assert "QUICK smoke test" in (quick_out / "one_layer_report.md").read_text()
    # resumable: a second run finds every trial stored and runs none
    capsys.readouterr()
    assert study_one_layer.main(["--quick", "--out", str(quick_out)]) == 0
    assert "ran 0 trials" in capsys.readouterr().out


def test_report_draws_only_the_sizes_asked_for(quick_out, tmp_path):
    store = quick_out / "quick.sqlite"
    settings = sc.QUICK_SETTINGS
    study_one_layer.report(store, tmp_path, settings, 12, None, quick=True, ns=(4,))
    assert [int(c["n"]) for c in _csv(tmp_path / "one_layer_crossings.csv")] == [4]
    study_one_layer.report(store, tmp_path, settings, 12, None, quick=True)
    assert [int(c["n"]) for c in _csv(tmp_path / "one_layer_crossings.csv")] == [3, 4]


def test_audit_agrees_on_the_quick_store_and_flags_a_flipped_verdict(quick_out, tmp_path):
    argv = ["--quick", "--store", str(quick_out / "quick.sqlite"), "--out", str(tmp_path)]
    assert study_audit.main(argv) == 0
    done = _csv(tmp_path / "audit.csv")
    assert len(done) == 4 and all(d["agree"] == "True" for d in done)
    assert study_audit.main(argv) == 0 and len(_csv(tmp_path / "audit.csv")) == 4  # resumes
    # An audit that hit its time limit is tried again, and the new row supersedes it.
    lines = (tmp_path / "audit.csv").read_text().splitlines()
    cells = lines[1].split(",")
    cells[-4:-1] = ["unknown", "", ""]  # audit_status, audit_p_star, agree
    (tmp_path / "audit.csv").write_text("\n".join([lines[0], ",".join(cells), *lines[2:]]) + "\n")
    assert study_audit.main(argv) == 0
    assert len(_csv(tmp_path / "audit.csv")) == 5
    latest = study_audit.read_done(tmp_path / "audit.csv")
    assert len(latest) == 4 and all(d["agree"] == "True" for d in latest)
    # A stored verdict that is wrong is caught, and a disagreement makes the exit status 1.
    rows, _ = sc.load_study_rows(quick_out / "quick.sqlite", sc.QUICK_SETTINGS)
    row = study_audit.informative_sample(rows, 4, 1, seed=0)[0]
    flipped = {**row, "status": {"injective": "non-injective"}.get(row["status"], "injective")}
    assert study_audit.audit_trial(flipped, "milp", False, 60.0)["agree"] is False
    with open(tmp_path / "audit.csv", "a", newline="") as fh:
        fh.write(f"4,16,x,0,1,{flipped['status']},,milp,{row['status']},,False,0.1\n")
    assert study_audit.main(argv + ["--report-only"]) == 1
    assert "Disagreements: 1" in (tmp_path / "audit.md").read_text()


def test_audit_sample_is_seeded_and_skips_one_outcome_points():
    rows = [
        {"n": 5, "point_key": f"p{j}", "trial": t, "status": s}
        for j, statuses in enumerate([("injective",) * 4, ("injective", "non-injective") * 2])
        for t, s in enumerate(statuses)
    ]
    sample = study_audit.informative_sample(rows, 5, 3, seed=1)
    assert len(sample) == 3 and {r["point_key"] for r in sample} == {"p1"}
    assert sample == study_audit.informative_sample(rows, 5, 3, seed=1)
    assert len(study_audit.informative_sample(rows, 5, 10, seed=1)) == 4


def test_quick_scaling_compares_with_published(quick_out):
    assert study_scaling.main(["--quick", "--out", str(quick_out)]) == 0
    cross = _csv(quick_out / "scaling_crossings.csv")
    assert {int(c["n"]) for c in cross if c["source"] == "ours"} == {3, 4}
    assert {int(c["n"]) for c in cross if c["source"] == "published"} == {2, 3, 4, 5, 6}
    checks = _csv(quick_out / "scaling_published_check.csv")
    assert checks and all(int(c["n"]) in (3, 4) for c in checks)
    assert all(int(c["pub_total"]) == 1000 and int(c["ours_total"]) == 12 for c in checks)
    report = (quick_out / "scaling_report.md").read_text()
    assert "Verdict" in report and "QUICK" in report
    holds = _csv(quick_out / "scaling_holdout.csv")  # ours has 2 sizes: too few to hold one out
    assert {(h["source"], int(h["n"])) for h in holds} == {("published", 6)}
    assert "did not see" in report
    for base in ("scaling_alpha50", "scaling_published_check"):
        assert (quick_out / f"{base}.png").stat().st_size > 1000


def test_quick_pstar_exact_only_then_with_large_n(quick_out):
    assert study_pstar.main(["--quick", "--out", str(quick_out)]) == 0
    exact = _csv(quick_out / "pstar_exact.csv")
    assert len(exact) == 12 and all(0 < float(r["mean"]) < 3 for r in exact)
    report = (quick_out / "pstar_report.md").read_text()
    assert "no heuristic large-n results" in report
    # a large_n.py output folder is read, not recomputed
    ln = quick_out / "large_n"
    ln.mkdir(exist_ok=True)
    (ln / "summary.csv").write_text(
        "n,alpha,nets,mean_count_over_n,sd,witness_fraction\n"
        "250,5.0,20,0.70,0.02,1.0\n250,6.0,20,1.02,0.03,0.3\n"
    )
    (ln / "thresholds.csv").write_text(
        "n,alpha_alg,bracket_lo,bracket_hi,largest_alpha_with_witness\n250,5.8,5.0,6.0,6.0\n"
    )
    assert study_pstar.main(["--quick", "--out", str(quick_out)]) == 0
    heur = _csv(quick_out / "pstar_heuristic.csv")
    assert [float(r["mean"]) for r in heur] == [0.70, 1.02]
    assert {r["init"] for r in heur} == {"random"}  # files without the column: random starts
    assert "| 250 | random | 5.800 |" in (quick_out / "pstar_report.md").read_text()
    # two start families: both reported, the figure's threshold is the better family's
    (ln / "thresholds.csv").write_text(
        "init,n,alpha_alg,bracket_lo,bracket_hi,largest_alpha_with_witness\n"
        "random,250,5.8,5.0,6.0,6.0\namp,250,6.4,6.0,6.5,6.5\n"
    )
    assert study_pstar.main(["--quick", "--out", str(quick_out)]) == 0
    report = (quick_out / "pstar_report.md").read_text()
    assert "| 250 | amp | 6.400 |" in report and "| 250 | random | 5.800 |" in report
    _, _, thresh, _ = study_pstar.large_n_points(ln)
    assert [(t["init"], t["alpha_alg"]) for t in study_pstar.best_thresholds(thresh)] == [
        ("amp", 6.4)
    ]


def test_decision_only_sweep_is_merged_without_double_counting(quick_out):
    assert study_one_layer.main(["--quick", "--decision-only", "--out", str(quick_out)]) == 0
    from injcheck.sweep import Store

    with Store(quick_out / "quick.sqlite", readonly=True) as store:
        hashes = sc.study_hashes(store)
        assert len(hashes) == 2  # the P* sweep and its decision-only twin
        ev = {h: store.get_spec(h).exact_value for h in hashes}
        counts = {ev[h]: store.count(h) for h in hashes}
    assert counts == {True: 144, False: 144}
    rows, conflicts = sc.load_study_rows(quick_out / "quick.sqlite", sc.QUICK_SETTINGS)
    assert len(rows) == 144 and conflicts == 0
    summary = _csv(quick_out / "one_layer_summary.csv")
    assert all(int(r["trials"]) == 12 for r in summary)
    assert (
        "decided differently by the P* sweep and the decision-only sweep: 0"
        in (quick_out / "one_layer_report.md").read_text()
    )


def test_sizes_from_the_node_limit_on_read_only_their_node_limited_sweep(tmp_path):
    from injcheck.sweep import Store, SweepSpec, run_sweep

    store = tmp_path / "s.sqlite"
    fake = {"trial_fn": "injcheck.sweep.trials:fake_trial", "trials": 3, "alpha": (5.0,)}
    base = sc.decision_only(sc.STUDY_SETTINGS)
    n_big = sc.NODE_LIMIT_FROM_N
    for n, settings in [
        (n_big - 1, base),  # a size below: its sweep has no node limit
        (n_big, base),  # the same size without the limit: superseded, never read
        (n_big, sc.settings_for(n_big, base)),
    ]:
        run_sweep(SweepSpec(n=(n,), **fake, **settings), store, workers=0, progress=False)
    rows, conflicts = sc.load_study_rows(store, sc.STUDY_SETTINGS)
    assert conflicts == 0 and sorted(r["n"] for r in rows) == [n_big - 1] * 3 + [n_big] * 3
    with Store(store, readonly=True) as st:
        limits = {h: st.get_spec(h).node_limit for h in st.spec_hashes()}
    kept = {r["spec_hash"] for r in rows}
    assert {limits[h] for h in kept} == {None, sc.NODE_LIMIT} and len(kept) == 2


def test_bad_argument_is_one_line_and_exit_2():
    proc = subprocess.run(
        [sys.executable, str(ROOT / "experiments" / "study_one_layer.py"), "--n", "1:3"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and "n must be >= 2" in proc.stderr


# -- the grid -----------------------------------------------------------------------------
@pytest.mark.parametrize("n", range(2, 17))
def test_grid_covers_the_expected_crossing(n):
    g = sc.grid_for(n)
    a0 = sc.expected_crossing(n)
    inner = np.array(g.inner) / n
    h = sc.HALF_WIDTH
    assert h >= 1.0  # the issue asks for +-1 around the crossing
    assert np.all(np.abs(inner - a0) <= h + 1e-9)
    step = sc.inner_step(n) / n  # the grid spacing in alpha
    assert inner.min() <= a0 - h + step + 1e-9 and inner.max() >= a0 + h - step - 1e-9
    finest = max(0.25, 1 / n) if n < sc.COARSE_FROM_N else 0.4  # every m when 1/n > 0.25
    assert np.all(np.diff(inner) <= finest + 1e-9)
    assert n < sc.COARSE_FROM_N or len(inner) >= 6  # coarse, but the window is sampled
    assert not set(g.inner) & set(g.outer)
    assert all(m >= n for m in g.outer)


def test_expected_crossing_rises_with_n():
    vals = [sc.expected_crossing(n) for n in range(2, 40)]
    assert all(b > a for a, b in zip(vals, vals[1:]))


def test_informative_window_drops_only_the_flat_tails():
    rows = [
        {"n": 3, "alpha": a, "injective": k, "non_injective": 10 - k}
        for a, k in [(2, 0), (3, 0), (4, 0), (5, 3), (6, 8), (7, 10), (8, 10)]
    ]
    kept = [r["alpha"] for r in sc.informative_window(rows)]
    assert kept == [4, 5, 6, 7]


# -- fits and verdict ---------------------------------------------------------------------
NS = np.array([4, 6, 8, 10, 12, 16, 20])


@pytest.mark.parametrize("form", list(sf.FORMS))
def test_each_form_recovers_its_own_intercept(form):
    coefs = [-9.0, 4.0][: len(sf.FORMS[form])]
    y = 6.7 + sum(c * f(NS.astype(float)) for c, f in zip(coefs, sf.FORMS[form]))
    fit = sf.fit_form(form, NS, y, np.full(NS.size, 0.01))
    assert fit.usable
    assert fit.value == pytest.approx(6.7, abs=1e-9)
    assert fit.predict([np.inf])[0] == pytest.approx(6.7)
    assert fit.predict(NS) == pytest.approx(y)


def test_wrong_form_is_biased_and_the_spread_covers_the_truth():
    y = 6.7 - 6.0 * NS ** (-2.0 / 3.0)
    fits = sf.fit_all(NS, y, np.full(NS.size, 0.02))
    one_over_n = [f for f in fits if f.form == "1/n" and len(f.sizes) == NS.size][0]
    assert abs(one_over_n.value - 6.7) > 0.2  # the 1/n form misses the limit
    assert one_over_n.chi2_dof > 1  # ... and its chi2 says so
    sp = sf.spread(fits)
    assert sp.low <= 6.7 <= sp.high


def test_interval_coverage_on_noisy_synthetic_data():
    rng = np.random.default_rng(0)
    err = np.full(NS.size, 0.05)
    covered = 0
    for _ in range(400):
        y = 7.0 - 8.0 / NS + rng.normal(0, err)
        fit = sf.fit_form("1/n", NS, y, err)
        covered += fit.ci_low <= 7.0 <= fit.ci_high
    assert 0.90 <= covered / 400 <= 0.99


def test_scatter_beyond_the_errors_widens_the_interval():
    y = 7.0 - 8.0 / NS + 0.3 * (-1) ** np.arange(NS.size)
    loose = sf.fit_form("1/n", NS, y, np.full(NS.size, 0.01))
    assert loose.chi2_dof > 100 and "scaled" in loose.note
    assert loose.se > 0.05


def test_holdout_keeps_the_true_form_and_flags_a_wrong_one():
    y = 6.7 - 6.0 * NS ** (-2.0 / 3.0)
    err = np.full(NS.size, 0.005)
    holds = {h.form: h for h in sf.holdout(list(NS), list(y), list(err))}
    assert all(h.n == NS.max() and h.fitted_sizes == tuple(NS[:-1]) for h in holds.values())
    assert abs(holds["n^-2/3"].z) < 1e-6 and holds["n^-2/3"].predicted_se > 0
    assert abs(holds["1/n"].z) > 2  # the wrong form misses the size it did not see


def test_holdout_z_is_calibrated_on_noisy_data():
    rng = np.random.default_rng(1)
    err = np.full(NS.size, 0.03)
    zs = []
    for _ in range(300):
        y = 7.0 - 8.0 / NS + rng.normal(0, err)
        zs += [h.z for h in sf.holdout(list(NS), list(y), list(err)) if h.form == "1/n"]
    assert 0.9 <= np.mean(np.abs(zs) < 1.96) <= 0.99


def test_too_few_sizes_are_not_usable():
    fit = sf.fit_form("1/n + 1/n^2", [4, 6], [5.0, 5.4], [0.1, 0.1])
    assert not fit.usable and math.isnan(fit.value)
    exact = sf.fit_form("1/n", [4, 6], [5.0, 5.4], [0.1, 0.1])
    assert not exact.usable and "not checked" in exact.note
    assert sf.verdict(sf.spread([fit, exact]), 6.698, 7.648).favours == "cannot tell"


@pytest.mark.parametrize(
    "low, high, expected",
    [
        (6.5, 6.9, "frsb"),
        (7.4, 7.9, "rs"),
        (6.5, 7.9, "cannot tell"),
        (5.9, 6.3, "neither"),
        (6.9, 7.3, "neither"),
    ],
)
def test_verdict_from_the_interval(low, high, expected):
    v = sf.verdict(sf.Spread(low, high, 4, low, high), 6.698, 7.648)
    assert v.favours == expected


def test_verdict_follows_the_data_end_to_end():
    err = np.full(NS.size, 0.01)
    near_frsb = sf.spread(sf.fit_all(NS, 6.70 - 1.0 / NS, err))
    near_rs = sf.spread(sf.fit_all(NS, 7.65 - 1.0 / NS, err))
    assert sf.verdict(near_rs, 6.698, 7.648).favours in ("rs", "cannot tell")
    assert sf.verdict(near_frsb, 6.698, 7.648).favours != "rs"
    assert near_rs.high > near_frsb.high


# -- published counts ---------------------------------------------------------------------
def test_two_proportion_z():
    z, p = sf.two_proportion_z(50, 100, 500, 1000)
    assert z == pytest.approx(0.0) and p == pytest.approx(1.0)
    z, p = sf.two_proportion_z(10, 100, 500, 1000)
    assert z < -7 and p < 1e-10
    assert all(math.isnan(v) for v in sf.two_proportion_z(0, 100, 0, 1000))


def test_compare_counts_flags_a_disagreement():
    pub = {(3, m): (k, 1000) for m, k in [(12, 323), (13, 469), (14, 622)]}
    same = {(3, 12): (130, 400), (3, 13): (188, 400), (3, 14): (249, 400), (3, 99): (1, 2)}
    good = sf.agreement(sf.compare_counts(same, pub))
    assert good["points"] == 3 and good["flagged"] == 0 and good["p_value"] > 0.05
    off = {**same, (3, 13): (300, 400)}
    bad = sf.agreement(sf.compare_counts(off, pub))
    assert bad["flagged"] == 1 and bad["p_value"] < 1e-6


def test_published_data_file_is_complete_and_cited():
    data = json.loads(
        (ROOT / "experiments" / "data" / "published_counts_gamma1398.json").read_text()
    )
    assert data["source"]["commit"] and "gamma1398" in data["source"]["repository"]
    rows = data["rows"]
    for n in range(2, 7):
        mine = sorted((r for r in rows if r[0] == n), key=lambda r: r[1])
        assert [r[1] for r in mine] == list(range(5, 45))
        assert all(0 <= r[2] <= r[3] == 1000 for r in mine)
        assert mine[-1][2] >= 980  # injective almost surely at m = 44
    # the crossing rises with n, as published (about 3.6 at n = 2 to 5.35 at n = 6)
    summary, _ = study_scaling.published_summary()
    cross = study_scaling.crossings_table(summary, "published")
    a50 = [c["alpha50"] for c in cross]
    assert all(b > a for a, b in zip(a50, a50[1:]))
    assert 3.4 < a50[0] < 4.0 and 5.2 < a50[-1] < 5.6


# -- the plan -----------------------------------------------------------------------------
def test_plan_costs_the_grid_and_extrapolates_the_measured_growth(tmp_path):
    costs = {6: (0.1, "m"), 8: (1.0, "m"), 10: (10.0, "m")}
    assert study_one_layer.growth_per_2(costs) == pytest.approx(10.0)
    assert study_one_layer.growth_per_2({6: (0.1, "m")}) == study_one_layer.GROWTH_PER_2
    measured = tmp_path / "cost.csv"
    measured.write_text("n,mean_s\n6,0.1\n8,1.0\n10,10.0\n")
    rows = [{"n": 6, "widths": [m], "alpha": m / 6, "trial_time": None} for m in (27, 27, 28)]
    recs = {r["n"]: r for r in study_one_layer.plan([6, 12], rows, measured, 400, 100)}
    g6 = sc.grid_for(6)
    assert recs[6]["trials"] == 400 * len(g6.inner) + 100 * len(g6.outer)
    assert recs[6]["left"] == recs[6]["trials"] - 3  # three trials already stored
    assert recs[12]["s_per_trial"] == pytest.approx(10.0 * 10.0)  # one +2 step beyond n = 10
    assert recs[12]["core_h_total"] == pytest.approx(recs[12]["trials"] * 100.0 / 3600)


def test_interpolated_crossing_is_model_free_and_monotone():
    a = np.linspace(3, 7, 17)
    p = 1 / (1 + np.exp(-2.0 * (a - 5.1)))
    k = np.round(p * 100000).astype(int)
    assert sf.interpolated_crossing(a, k, [100000] * a.size) == pytest.approx(5.1, abs=0.01)
    # an asymmetric transition: the model-free crossing finds the 1/2 level, a logistic need not
    q = np.clip((a - 4.0) / 2.0, 0, 1) ** 2
    k2 = np.round(q * 100000).astype(int)
    assert sf.interpolated_crossing(a, k2, [100000] * a.size) == pytest.approx(
        4 + 2 * 0.5**0.5, abs=0.02
    )
    # a dip is pooled away (isotonic), and no crossing inside the grid gives nan
    assert sf.interpolated_crossing([4, 5, 6, 7], [10, 60, 40, 90], [100] * 4) == pytest.approx(5.0)
    assert math.isnan(sf.interpolated_crossing([4, 5], [60, 90], [100, 100]))


def test_zero_tail_trials_run_only_the_window(tmp_path):
    store = tmp_path / "s.sqlite"
    argv = ["--n", "2", "--trials", "2", "--outer-trials", "0", "--rounds", "2", "--workers", "0"]
    assert study_one_layer.main(argv + ["--store", str(store), "--out", str(tmp_path)]) == 0
    rows = sc.load_rows(store, sc.STUDY_SETTINGS)
    assert sorted({r["widths"][0] for r in rows}) == list(sc.grid_for(2).inner)
    assert len(rows) == 2 * len(sc.grid_for(2).inner)
