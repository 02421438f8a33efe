"""Monte Carlo sweeps: seeded trials over a grid, a resumable SQLite store, analysis, plots.

Typical use::

    from injcheck.sweep import SweepSpec, run_sweep, make_report
    spec = SweepSpec(n=(3, 4), alpha=(3.0, 4.0, 5.0), trials=20)
    run_sweep(spec, "sweep.sqlite", workers=2)
    make_report("sweep.sqlite", "report/")

See ``docs/sweeps.md``.
"""

from .runner import SweepResult, next_utc_time, run_sweep
from .seeds import trial_seed
from .spec import Point, SweepSpec
from .store import Store
from .trials import TrialTask

__all__ = [
    "Point",
    "Store",
    "SweepResult",
    "SweepSpec",
    "TrialTask",
    "make_report",
    "next_utc_time",
    "run_sweep",
    "trial_seed",
]


def make_report(*args, **kwargs):
    """Lazy alias of :func:`injcheck.sweep.report.make_report` (matplotlib loads on use)."""
    from .report import make_report as _make_report

    return _make_report(*args, **kwargs)
