"""``injcheck sweep`` (run a Monte Carlo sweep into a store) and ``injcheck report``.

Options given on the command line override those of ``--config FILE.toml``.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from ..exceptions import InjcheckError, InvalidArgumentError, SpecError
from ..sweep.spec import (
    MODES,
    RERUN_POLICIES,
    WIDTH_RULES,
    SweepSpec,
    load_toml,
    normalise_settings,
)

SWEEP_HELP = "run a Monte Carlo sweep of checks on random networks into a resumable store"
REPORT_HELP = "analyse a sweep store: CSV tables, transition/P*/alpha_50 plots (PNG + PDF)"

_SWEEP_EPILOG = """\
examples:
  injcheck sweep --n 4,6 --alpha 3:8:0.5 --trials 50 --store sweep.sqlite
  injcheck sweep --config experiments/sweep_example.toml --workers 2
  injcheck report --store sweep.sqlite --out report/

Re-running the same command skips the trials already stored; an interrupted sweep
resumes where it stopped. Results do not depend on --workers or --executor.
"""


def register(subparsers) -> None:
    """Add the ``sweep`` and ``report`` subcommands."""
    _add_sweep_parser(subparsers)
    _add_report_parser(subparsers)


def _add_sweep_parser(subparsers) -> None:
    """The ``sweep`` subcommand: grid, check and execution options."""
    p = subparsers.add_parser(
        "sweep",
        help=SWEEP_HELP,
        description=SWEEP_HELP + ".",
        epilog=_SWEEP_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_grid_options(p.add_argument_group("grid"))
    _add_check_options(p.add_argument_group("check"))
    _add_execution_options(p.add_argument_group("execution"))
    p.set_defaults(handler=sweep_command)


def _add_grid_options(grid: argparse._ArgumentGroup) -> None:
    """Options of the grid of networks: sizes, expansions or widths, depth, trials, seed."""
    grid.add_argument("--n", metavar="LIST", help="input sizes, e.g. 4,6 or 4:10:2")
    grid.add_argument(
        "--alpha",
        metavar="GRID",
        help="expansion grid m/n: start:stop:step (stop included when on the grid) or a,b,c",
    )
    grid.add_argument(
        "--widths",
        metavar="LIST",
        help="explicit widths instead of --alpha: networks split by ';', layers by ',' "
        "(e.g. '12;16' or '12,24;16,32')",
    )
    grid.add_argument(
        "--depth", type=int, metavar="L", help="number of layers with --alpha (default 1)"
    )
    grid.add_argument(
        "--width-rule",
        choices=WIDTH_RULES,
        help="widths for depth > 1: per-layer (m_k = round(alpha m_{k-1}), default) or "
        "equal (all widths round(alpha n))",
    )
    grid.add_argument("--trials", type=int, metavar="T", help="trials per grid point (default 20)")
    grid.add_argument("--seed", type=int, metavar="S", help="master seed (default 0)")


def _add_check_options(chk: argparse._ArgumentGroup) -> None:
    """Options of the check run on each trial."""
    chk.add_argument("--mode", choices=MODES, help="which injectivity to check (default global)")
    chk.add_argument("--method", help="check method (default auto)")
    chk.add_argument(
        "--time-limit",
        metavar="S",
        help="seconds per trial; a trial over it is unknown (default 60; 'none' for no limit)",
    )
    chk.add_argument(
        "--node-limit",
        type=int,
        metavar="N",
        help="one layer: at most N nodes per exact search tree; a trial over it is unknown "
        "on any machine under any load (set it to bind before --time-limit)",
    )
    chk.add_argument(
        "--exact-value",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="compute P* exactly for one layer (default on; needed for the P*/n plot)",
    )
    chk.add_argument(
        "--trial-fn",
        metavar="MODULE:FUNC",
        help="advanced: run this function for each trial instead of injcheck.check",
    )


def _add_execution_options(run: argparse._ArgumentGroup) -> None:
    """Options of where and how the trials run and are stored."""
    run.add_argument(
        "--store",
        metavar="PATH",
        help="SQLite results file (created if missing; an SQLite file that is not an injcheck "
        "store is refused)",
    )
    run.add_argument(
        "--workers",
        type=int,
        metavar="K",
        help="parallel workers (default: all CPUs for local, cluster CPUs for ray; "
        "0 = in this process)",
    )
    run.add_argument(
        "--executor", choices=("local", "ray"), help="local process pool (default) or Ray"
    )
    run.add_argument(
        "--address", metavar="ADDR", help="Ray cluster address, e.g. auto or ray://host:10001"
    )
    run.add_argument(
        "--rerun",
        choices=RERUN_POLICIES,
        help="stored trials to run again: never (default), unknown, all",
    )
    run.add_argument(
        "--config", metavar="FILE.toml", help="read the sweep settings from a TOML file"
    )
    run.add_argument(
        "--until",
        metavar="HH:MM",
        help="start no new trial after this time of day (UTC; tomorrow if earlier); trials "
        "in flight finish and the same command later continues",
    )
    run.add_argument("--no-progress", action="store_true", help="no progress bar")


def _add_report_parser(subparsers) -> None:
    """The ``report`` subcommand."""
    r = subparsers.add_parser("report", help=REPORT_HELP, description=REPORT_HELP + ".")
    r.add_argument("--store", metavar="PATH", required=True, help="SQLite results file of a sweep")
    r.add_argument(
        "--out", metavar="DIR", help="output directory (created; required, not allowed with --list)"
    )
    r.add_argument(
        "--spec",
        metavar="HASH",
        help="which sweep of the store (a unique prefix); needed when it holds several",
    )
    r.add_argument("--parquet", action="store_true", help="also export the rows as trials.parquet")
    r.add_argument("--no-theory", action="store_true", help="do not draw theory lines")
    r.add_argument("--list", action="store_true", help="list the sweeps in the store and exit")
    r.set_defaults(handler=report_command)


#: The flag that sets each library argument, by the callee whose errors name it.
_CONFIG_FLAGS = {"path": "--config"}
_RUN_FLAGS = {
    "executor": "--executor",
    "workers": "--workers",
    "address": "--address",
    "until": "--until",
    "store": "--store",
    "rerun": "--rerun",
}
_REPORT_FLAGS = {"spec_hash": "--spec"}


@contextmanager
def _flags_named(flags: Mapping[str, str]) -> Iterator[None]:
    """Re-raise a library error about one of ``flags``' arguments as one about the flag.

    The library names its own arguments (``workers must be ...``); the user typed a flag,
    so the message opens with the flag instead (``--workers must be ...``), or, when the
    library's message does not name the argument, is prefixed with it (``--config: ...``).
    """
    try:
        yield
    except InjcheckError as exc:
        flag = flags.get(exc.argument) if exc.argument else None
        if flag is None:
            raise
        message = str(exc)
        named = re.match(rf"{re.escape(exc.argument)}\b", message)
        message = flag + message[named.end() :] if named else f"{flag}: {message}"
        raise type(exc)(message, argument=exc.argument) from exc


def spec_from_args(args: argparse.Namespace) -> tuple[SweepSpec, dict]:
    """Merge ``--config`` and the command-line options into a spec and run settings."""
    settings: dict = {}
    run: dict = {}
    if args.config:
        with _flags_named(_CONFIG_FLAGS):
            settings, run = load_toml(args.config)
    cli = {
        "n": args.n,
        "alpha": args.alpha,
        "widths": args.widths,
        "depth": args.depth,
        "width_rule": args.width_rule,
        "trials": args.trials,
        "seed": args.seed,
        "mode": args.mode,
        "method": args.method,
        "time_limit": args.time_limit,
        "exact_value": args.exact_value,
        "node_limit": args.node_limit,
        "trial_fn": args.trial_fn,
    }
    cli = {k: v for k, v in cli.items() if v is not None}
    # A grid given on the command line replaces the file's grid of the other kind.
    if "alpha" in cli:
        settings.pop("widths", None)
    if "widths" in cli:
        settings.pop("alpha", None)
    settings.update(normalise_settings(cli, source="command line"))
    if "n" not in settings:
        raise SpecError("--n is required (or n in --config)")
    if "alpha" not in settings and "widths" not in settings:
        raise SpecError("--alpha or --widths is required (or alpha/widths in --config)")
    if isinstance(settings.get("time_limit"), str):
        try:
            settings["time_limit"] = float(settings["time_limit"])
        except ValueError as exc:
            raise SpecError(
                f"--time-limit must be seconds or 'none', got {settings['time_limit']!r}"
            ) from exc
    for key in ("store", "workers", "executor", "address", "rerun"):
        value = getattr(args, key)
        if value is not None:
            run[key] = value
    return SweepSpec(**settings), run


def sweep_command(args: argparse.Namespace) -> int:
    from ..sweep.runner import next_utc_time, run_sweep

    spec, run = spec_from_args(args)
    store = run.get("store")
    if not store:
        raise InvalidArgumentError(
            "--store PATH is required (or store in the [run] table of --config)"
        )
    with _flags_named(_RUN_FLAGS):
        stop_at = next_utc_time(args.until, time.time()) if args.until else None
        result = run_sweep(
            spec,
            store,
            workers=run.get("workers"),
            executor=run.get("executor", "local"),
            address=run.get("address"),
            rerun=run.get("rerun", "never"),
            progress=False if args.no_progress else None,
            stop_at=stop_at,
        )
    print(result.summary())
    print(
        f"next: injcheck report --store {store} --out DIR"
        + ("" if _single(store) else f" --spec {result.spec_hash}")
    )
    return 0


def _single(store: str) -> bool:
    from ..sweep.store import Store

    with Store(store) as db:
        return len(db.spec_hashes()) == 1


#: Options of a report that --list would ignore (flag -> attribute).
_REPORT_ONLY_FLAGS = {
    "--out": "out",
    "--spec": "spec",
    "--parquet": "parquet",
    "--no-theory": "no_theory",
}


def report_command(args: argparse.Namespace) -> int:
    from ..exceptions import StoreError
    from ..sweep.store import Store

    if args.list:
        ignored = [flag for flag, value in _REPORT_ONLY_FLAGS.items() if getattr(args, value)]
        if ignored:
            raise InvalidArgumentError(f"--list prints the sweeps and exits; drop {ignored[0]}")
        if not os.path.isfile(args.store):
            raise StoreError(f"--store: file not found: {args.store}")
        with Store(args.store, readonly=True) as db:
            for h in db.spec_hashes():
                spec = db.get_spec(h)
                print(
                    f"{h}  {db.count(h)} trials  n={list(spec.n)} depth={spec.depth} "
                    f"mode={spec.mode} method={spec.method} seed={spec.seed} "
                    f"trial_fn={spec.trial_fn}"
                )
        return 0
    if not args.out:
        raise InvalidArgumentError("--out DIR is required (or --list)")
    from ..sweep.report import make_report

    with _flags_named(_REPORT_FLAGS):
        report = make_report(
            args.store, args.out, args.spec, parquet=args.parquet, theory=not args.no_theory
        )
    print(f"report of sweep {report.spec_hash} in {args.out}:")
    for path in report.files:
        print(f"  {path}")
    for note in report.notes:
        print(f"note: {note}", file=sys.stderr)
    return 0
