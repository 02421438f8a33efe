"""Command-line interface: ``injcheck check | theory | sweep | report``.

Each subcommand lives in its own module with a ``register(subparsers)`` function
that adds its parser and sets ``handler``. This module only dispatches and turns
:class:`~injcheck.exceptions.InjcheckError` into a one-line message and exit code 2.
"""

from __future__ import annotations

import argparse
import sys

from ..exceptions import InjcheckError

EXIT_BAD_INPUT = 2


class _Parser(argparse.ArgumentParser):
    """argparse, but usage errors are one line and exit with code 2."""

    def error(self, message: str):  # noqa: D401 - argparse API
        self.exit(EXIT_BAD_INPUT, f"injcheck: error: {message} (see '{self.prog} --help')\n")


def build_parser() -> argparse.ArgumentParser:
    from . import check, sweep, theory

    parser = _Parser(
        prog="injcheck",
        description="Exact injectivity checks for ReLU networks, Monte Carlo sweeps and theory.",
    )
    parser.add_argument("--version", action="version", version=_version())
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    for module in (check, theory, sweep):
        module.register(sub)
    return parser


def _version() -> str:
    from .. import __version__

    return f"injcheck {__version__}"


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``injcheck`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args) or 0)
    except InjcheckError as exc:
        print(f"injcheck: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("injcheck: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
