"""``make_report``: CSV tables, plots and a short markdown summary of one sweep in a store."""

from __future__ import annotations

import math
import os
from dataclasses import asdict, dataclass, field

from ..exceptions import OutputError, StoreError
from . import analysis, plots
from .store import Store, write_csv

SUMMARY_COLUMNS = (
    "n",
    "widths",
    "depth",
    "alpha",
    "alpha_nominal",
    "trials",
    "injective",
    "non_injective",
    "unknown",
    "errors",
    "frac_injective",
    "ci_low",
    "ci_high",
    "frac_if_unknown_non",
    "frac_if_unknown_inj",
    "pstar_count",
    "pstar_over_n_mean",
    "pstar_over_n_sd",
    "pstar_over_n_se",
    "median_time",
)
CROSSING_COLUMNS = (
    "n",
    "alpha50",
    "ci_low",
    "ci_high",
    "slope",
    "points",
    "decided",
    "unknown",
    "alpha50_unknown_non",
    "alpha50_unknown_inj",
    "note",
)
EXTRAPOLATION_COLUMNS = (
    "quantity",
    "value",
    "se",
    "ci_low",
    "ci_high",
    "slope",
    "sizes",
    "chi2_dof",
    "note",
)


@dataclass
class Report:
    """Files written by :func:`make_report` and the caveats found on the way."""

    spec_hash: str
    files: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def make_report(
    store: str | os.PathLike | Store,
    out_dir: str | os.PathLike,
    spec_hash: str | None = None,
    *,
    parquet: bool = False,
    theory: bool = True,
) -> Report:
    """Analyse one sweep and write its tables and plots to ``out_dir``.

    Parameters
    ----------
    store : path or Store
    out_dir : path
        Created if missing.
    spec_hash : str, optional
        The sweep (a unique prefix is enough); required when the store holds several.
    parquet : bool
        Also export the raw rows as ``trials.parquet`` (needs pyarrow).
    theory : bool
        Draw theory lines from :mod:`injcheck.theory` where available.

    Returns
    -------
    Report
        ``summary.csv`` (per point), ``crossings.csv`` (alpha_50 per n),
        ``extrapolation.csv`` (n -> inf), ``trials.csv`` (raw rows), ``transition``,
        ``pstar`` and ``alpha50`` plots as PNG and PDF, and ``report.md``.
    """
    out = os.fspath(out_dir)
    if os.path.exists(out) and not os.path.isdir(out):
        raise OutputError(f"report: {out} is an existing file, not a directory")
    own = not isinstance(store, Store)
    db = Store(store, readonly=True) if own else store
    try:
        h = db.resolve_spec(spec_hash)
        spec = db.get_spec(h)
        rows = db.rows(h)  # decoded and checked: a damaged row stops here, nothing written
        if not rows:
            raise StoreError(f"store: sweep {h} in {db.path} has no finished trials yet")
        report = Report(h)
        try:
            os.makedirs(out, exist_ok=True)
            report.files.append(db.export(os.path.join(out, "trials.csv"), h))
            if parquet:
                report.files.append(db.export(os.path.join(out, "trials.parquet"), h))
            _write_analysis(report, spec, rows, out, theory)
        except OSError as exc:
            raise OutputError(f"report: cannot write to {out}: {exc}") from exc
    finally:
        if own:
            db.close()
    return report


def _write_analysis(report: Report, spec, rows: list[dict], out: str, theory: bool) -> None:
    """Tables, plots and report.md of one sweep's decoded rows."""
    h = report.spec_hash

    summary = analysis.summarize_points(rows)
    crossings = analysis.crossings_by_n(summary)
    extrap = analysis.extrapolate_all(summary, crossings)
    for name, table, cols in (
        ("summary.csv", summary, SUMMARY_COLUMNS),
        ("crossings.csv", crossings, CROSSING_COLUMNS),
        ("extrapolation.csv", [asdict(e) for e in extrap], EXTRAPOLATION_COLUMNS),
    ):
        path = os.path.join(out, name)
        write_csv(path, [{k: _fmt(v) for k, v in r.items()} for r in table], cols)
        report.files.append(path)

    alphas = [r["alpha"] for r in summary]
    lines = analysis.TheoryLines(notes=["theory lines switched off"])
    if theory:
        lines = analysis.theory_lines(min(alphas), max(alphas), depth=spec.depth)
    report.notes += lines.notes
    # No spec hash in titles (report.md names the sweep): the figures go into papers.
    tag = f"depth {spec.depth}, {spec.mode} check, method {spec.method}"
    report.files += plots.plot_transition(
        summary, crossings, lines, os.path.join(out, "transition"), f"P(injective) vs alpha ({tag})"
    )
    report.files += plots.plot_pstar(
        summary, lines, os.path.join(out, "pstar"), f"P*/n vs alpha ({tag})"
    )
    report.files += plots.plot_alpha50(
        crossings, extrap, lines, os.path.join(out, "alpha50"), f"alpha_50(n) vs 1/n ({tag})"
    )

    n_unknown = sum(r["unknown"] for r in summary)
    if n_unknown:
        report.notes.append(
            f"{n_unknown} of {len(rows)} trials are unknown; fractions use decided trials "
            "only (see frac_if_unknown_* in summary.csv)"
        )
    md = os.path.join(out, "report.md")
    with open(md, "w") as fh:
        fh.write(_markdown(h, spec, rows, summary, crossings, extrap, report.notes))
    report.files.append(md)


def _fmt(value):
    if isinstance(value, float):
        return "" if math.isnan(value) else f"{value:.6g}"
    return value


def _markdown(h, spec, rows, summary, crossings, extrap, notes) -> str:
    counts = {
        s: sum(1 for r in rows if r["status"] == s)
        for s in ("injective", "non-injective", "unknown")
    }
    versions = sorted({r["version"] for r in rows if r.get("version")})
    lines = [
        f"# Sweep {h}",
        "",
        f"* n = {list(spec.n)}, depth {spec.depth}, width rule {spec.width_rule}, "
        f"{spec.trials} trials per point",
        f"* mode {spec.mode}, method {spec.method}, time limit {spec.time_limit} s, "
        f"exact P* {spec.exact_value}, seed {spec.seed}",
        f"* trial function `{spec.trial_fn}`"
        + (f", options {dict(spec.trial_options)}" if spec.trial_options else ""),
        f"* {len(rows)} trials stored: {counts['injective']} injective, "
        f"{counts['non-injective']} non-injective, {counts['unknown']} unknown; "
        f"injcheck {', '.join(versions)}",
        "",
        "## 50% crossing per n (logistic fit, 95% profile-likelihood interval)",
        "",
        "| n | alpha_50 | 95% CI | decided | unknown | note |",
        "|---|---|---|---|---|---|",
    ]
    for c in crossings:
        lines.append(
            f"| {c['n']} | {_num(c['alpha50'])} | [{_num(c['ci_low'])}, {_num(c['ci_high'])}] "
            f"| {c['decided']} | {c['unknown']} | {c['note']} |"
        )
    lines += [
        "",
        "## Extrapolation to n -> inf (fit y = y_inf + c/n)",
        "",
        "| quantity | value | 95% CI | sizes | note |",
        "|---|---|---|---|---|",
    ]
    for e in extrap:
        lines.append(
            f"| {e.quantity} | {_num(e.value)} | [{_num(e.ci_low)}, {_num(e.ci_high)}] "
            f"| {e.sizes} | {e.note} |"
        )
    lines += [
        "",
        "Small n is far from the limit: the intercepts are trends, not measurements "
        "of the capacity.",
        "",
        "## Notes",
        "",
    ]
    lines += [f"* {note}" for note in notes] or ["* none"]
    lines += [
        "",
        "Files: summary.csv, crossings.csv, extrapolation.csv, trials.csv, "
        "transition/pstar/alpha50 (.png, .pdf)",
        "",
    ]
    return "\n".join(lines)


def _num(x) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    if isinstance(x, float) and math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return f"{x:.3f}"
