"""Sweep plots: theory lines from the shipped table (no solving, every point drawn),
dodged series, fits in the legend, theory levels apart, clean titles and labels, no
label outside its axes."""

import re
import time

import matplotlib
import numpy as np
import pytest
from sweep_helpers import fake_spec

from injcheck.sweep import analysis, make_report, plots, run_sweep
from injcheck.theory import parisi, rsb
from injcheck.theory import tables as theory_tables

matplotlib.use("Agg")

HEX_HASH = re.compile(r"\b[0-9a-f]{8,}\b")


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    path = tmp_path_factory.mktemp("plots") / "s.sqlite"
    spec = fake_spec(
        n=(3, 4, 5),
        alpha=tuple(float(a) for a in range(2, 9)),
        trials=10,
        trial_options=(("unknown_rate", 0.1),),
    )
    run_sweep(spec, path, workers=0, progress=False)
    return path


@pytest.fixture(scope="module")
def tables_of(store):
    from injcheck.sweep import Store

    with Store(store) as db:
        rows = db.rows(db.resolve_spec())
    summary = analysis.summarize_points(rows)
    crossings = analysis.crossings_by_n(summary)
    return summary, crossings, analysis.extrapolate_all(summary, crossings)


def _no_solving(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("a theory solver ran while a report was drawn")

    for module, name in (
        (rsb, "solve_1rsb"),
        (rsb, "capacity_1rsb"),
        (parisi, "ground_state_sequence"),
        (parisi, "capacity_sequence"),
    ):
        monkeypatch.setattr(module, name, refuse)


def test_first_report_is_fast_and_draws_every_theory_point(store, tmp_path, monkeypatch):
    monkeypatch.setenv("INJCHECK_CACHE_DIR", str(tmp_path / "empty-cache"))
    _no_solving(monkeypatch)
    drawn = []
    real = analysis.theory_lines
    monkeypatch.setattr(
        analysis, "theory_lines", lambda *a, **k: drawn.append(real(*a, **k)) or drawn[-1]
    )
    start = time.perf_counter()
    report = make_report(store, tmp_path / "r")
    elapsed = time.perf_counter() - start
    assert elapsed < 30.0  # seconds, on a loaded 2-core machine; was 74-113 s
    (lines,) = drawn
    assert not lines.notes and not any("theory" in n or "e*" in n for n in report.notes)
    assert set(lines.capacities) == set(lines.curves) == set(analysis.THEORY_METHODS)
    for method, (x, y) in lines.curves.items():
        assert x[0] == 2.0 and x[-1] == 8.0 and x.size >= 300, method
        assert np.isfinite(y).all(), method
    assert not (tmp_path / "empty-cache").exists()  # nothing was computed to be cached


def test_plots_only_draw():
    """Data flows one way, analysis -> plots: importing the plots loads no theory table."""
    import subprocess
    import sys

    code = (
        "import sys, injcheck.sweep.plots as p; "
        "assert 'injcheck.theory.tables' not in sys.modules; "
        "assert not hasattr(p, 'theory_lines')"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_theory_lines_match_the_table_and_mark_what_is_outside():
    table = theory_tables.load_table()
    lines = analysis.theory_lines(3.0, 7.0)
    x, y = lines.curves["frsb"]
    at = np.searchsorted(x, 6.5)
    assert y[at] == pytest.approx(float(table.ground_state(x[at], "frsb")))
    assert lines.capacities["frsb"] == table.capacities["frsb"]
    hi = table.alpha_range[1]
    wide = analysis.theory_lines(3.0, hi + 1.0)
    x, y = wide.curves["1rsb"]
    assert np.isfinite(y[x <= hi]).all() and np.isnan(y[x > hi + 1e-9]).all()
    assert any("covers alpha in" in n and "not drawn" in n for n in wide.notes)
    assert analysis.theory_lines(3.0, 7.0, depth=2).curves == {}


def test_unreadable_table_is_noted_not_fatal(store, tmp_path, monkeypatch):
    def broken():
        raise theory_tables.TheoryTableError("theory table x.json: cannot be read (test)")

    monkeypatch.setattr(theory_tables, "_load_default", broken)
    report = make_report(store, tmp_path / "r")
    assert any("no theory lines" in n for n in report.notes)
    assert (tmp_path / "r" / "pstar.png").stat().st_size > 5000


def test_dodge_offsets_are_distinct_centred_and_small(tables_of):
    summary = tables_of[0]
    shift = plots.dodge_offsets(summary)
    assert sorted(shift) == [3, 4, 5]
    values = [shift[n] for n in (3, 4, 5)]
    assert len(set(values)) == 3 and values == sorted(values)
    assert sum(values) == pytest.approx(0.0) and max(map(abs, values)) < 0.25  # grid step 1
    assert plots.dodge_offsets([r for r in summary if r["n"] == 4]) == {4: 0.0}


def _texts(fig):
    ax = fig.axes[0]
    return ax, [t.get_text() for t in ax.get_legend().get_texts()]


def test_transition_dodges_series_and_puts_fits_in_the_legend(tables_of):
    summary, crossings, _ = tables_of
    fig = plots.transition_figure(summary, crossings, analysis.theory_lines(2.0, 8.0), "t")
    ax, legend = _texts(fig)
    for c in crossings:
        assert any(t.startswith(f"n = {c['n']}, logistic fit") for t in legend), legend
    # Points of different n at the same nominal alpha sit at different x.
    xs = [line.get_xdata() for line in ax.lines if line.get_marker() == "o"]
    assert len(xs) == 3
    firsts = sorted(float(x[0]) for x in xs)
    assert firsts[0] < firsts[1] < firsts[2] and firsts[2] - firsts[0] < 0.5
    matplotlib.pyplot.close(fig)


def test_theory_levels_are_distinguishable(tables_of):
    summary, crossings, extrap = tables_of
    theory = analysis.theory_lines(2.0, 8.0)
    for fig in (
        plots.transition_figure(summary, crossings, theory),
        plots.alpha50_figure(crossings, extrap, theory),
        plots.pstar_figure(summary, theory),
    ):
        ax, legend = _texts(fig)
        styles = {}
        for line in ax.lines:
            for method, name in analysis.THEORY_METHODS.items():
                if line.get_label().endswith(name) or line.get_label().startswith(name + " "):
                    styles[method] = (line.get_color(), line.get_linestyle())
        assert set(styles) == set(analysis.THEORY_METHODS), legend
        assert len(set(styles.values())) == 3
        assert styles["1rsb"][0] != styles["frsb"][0] and styles["1rsb"][1] != styles["frsb"][1]
        matplotlib.pyplot.close(fig)
    fig = plots.pstar_figure(summary, theory)
    (inset,) = fig.axes[0].child_axes  # zoom on the 1RSB / full-RSB capacities
    lo, hi = inset.get_xlim()
    assert lo < theory.capacities["frsb"] < theory.capacities["1rsb"] < hi and hi - lo < 0.5
    matplotlib.pyplot.close(fig)


def _balanced(text: str) -> bool:
    depth = 0
    for ch in text:
        depth += {"(": 1, ")": -1}.get(ch, 0)
        if depth < 0:
            return False
    return depth == 0


def test_report_titles_and_labels_are_fit_for_a_paper(store, tmp_path, monkeypatch):
    seen = []
    real = plots._save

    def record(fig, out_base):
        for ax in fig.axes:
            seen.append((ax.get_title(), ax.get_xlabel(), ax.get_ylabel()))
        fig.canvas.draw()
        _assert_inside(fig)
        return real(fig, out_base)

    monkeypatch.setattr(plots, "_save", record)
    make_report(store, tmp_path / "r")
    titles = [t for t, _, _ in seen if t and not t.startswith("zoom")]
    assert len(titles) == 3
    for title, xlabel, ylabel in seen:
        for text in (title, xlabel, ylabel):
            assert not HEX_HASH.search(text), text
            assert _balanced(text) and ") (" not in text and "((" not in text, text


def _assert_inside(fig):
    """Every annotation (u=k counts, n labels, theory tags) lies inside its axes."""
    renderer = fig.canvas.get_renderer()
    for ax in fig.axes:
        box = ax.get_window_extent(renderer)
        for text in ax.texts:
            if not text.get_visible() or not text.get_text():
                continue
            tb = text.get_window_extent(renderer)
            assert (
                tb.x0 >= box.x0 - 1
                and tb.x1 <= box.x1 + 1
                and tb.y0 >= box.y0 - 1
                and tb.y1 <= box.y1 + 1
            ), (text.get_text(), tb, box)
