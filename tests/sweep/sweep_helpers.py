"""Helpers of the sweep tests: a cheap deterministic fake trial and row comparison."""

from __future__ import annotations

import sys

from injcheck.cli import _Parser
from injcheck.cli import sweep as cli_sweep
from injcheck.sweep import SweepSpec
from injcheck.sweep.store import TIMING_COLUMNS

FAKE = "injcheck.sweep.trials:fake_trial"

# A driver that runs only the sweep/report subcommands, so these tests do not depend on
# the other CLI modules. Written to a file: spawned workers re-import __main__ by path.
DRIVER = """\
import sys
from injcheck.cli import _Parser
from injcheck.cli import sweep as cli_sweep
from injcheck.exceptions import InjcheckError

if __name__ == "__main__":
    parser = _Parser(prog="injcheck")
    cli_sweep.register(parser.add_subparsers(dest="command", parser_class=_Parser))
    args = parser.parse_args(sys.argv[1:])
    try:
        sys.exit(args.handler(args))
    except InjcheckError as exc:
        print(f"injcheck: error: {exc}", file=sys.stderr)
        sys.exit(2)
"""


def fake_spec(**changes) -> SweepSpec:
    base = dict(n=(3, 4), alpha=(3.0, 4.5, 6.0), trials=4, trial_fn=FAKE)
    base.update(changes)
    return SweepSpec(**base)


def strip_timing(rows: list[dict]) -> list[dict]:
    """Rows without the columns that depend on when/where a trial ran, in key order."""
    out = [{k: v for k, v in r.items() if k not in TIMING_COLUMNS} for r in rows]
    for r in out:  # back ends may put timings among their counters, also nested ones
        if isinstance(r.get("stats"), dict):
            r["stats"] = _without_times(r["stats"])
    return sorted(out, key=lambda r: (r["point_key"], r["trial"]))


def _without_times(stats: dict) -> dict:
    return {
        k: _without_times(v) if isinstance(v, dict) else v
        for k, v in stats.items()
        if not k.endswith("time")
    }


def run_cli(argv: list[str]) -> int:
    """Parse and run one sweep/report command in-process, like ``injcheck.cli.main``."""
    from injcheck.exceptions import InjcheckError

    parser = _Parser(prog="injcheck")
    cli_sweep.register(parser.add_subparsers(dest="command", parser_class=_Parser))
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args) or 0)
    except InjcheckError as exc:
        print(f"injcheck: error: {exc}", file=sys.stderr)
        return 2
