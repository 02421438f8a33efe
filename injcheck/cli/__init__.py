"""Command-line interface: ``injcheck check | theory | sweep | report``.

Each subcommand lives in its own module with a ``register(subparsers)`` function
that adds its parser and sets ``handler``. This module only dispatches and turns
:class:`~injcheck.exceptions.InjcheckError` into a one-line message and exit code 2 (any
other exception into one line and exit code 1; ``INJCHECK_DEBUG=1`` re-raises it).
"""

from __future__ import annotations

import argparse
import os
import re
import sys

from ..exceptions import InjcheckError

EXIT_BAD_INPUT = 2
#: Exit code of an unexpected exception (a bug, or bad input not caught where it should be).
EXIT_INTERNAL = 1


class _Parser(argparse.ArgumentParser):
    """argparse, but usage errors are one line and exit with code 2."""

    def error(self, message: str):  # noqa: D401 - argparse API
        self.exit(EXIT_BAD_INPUT, f"injcheck: error: {message} (see '{self.prog} --help')\n")


def build_parser() -> argparse.ArgumentParser:
    from . import check, proof, sweep, theory

    parser = _Parser(
        prog="injcheck",
        description="Exact injectivity checks for ReLU networks, Monte Carlo sweeps and theory.",
    )
    parser.add_argument("--version", action="version", version=_version())
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    for module in (check, theory, sweep, proof):
        module.register(sub)
    return parser


def _version() -> str:
    from .. import __version__

    return f"injcheck {__version__}"


#: A value that starts with '-' but is a number or a list of numbers (``-1,0.5``, ``-3:4``).
_NEGATIVE_VALUE = re.compile(r"-(\d|\.\d)[\d.eE+\-,:]*")
#: Exit code of a command whose reader closed the pipe (128 + SIGPIPE), as shell tools do.
EXIT_BROKEN_PIPE = 141


def glue_negative_values(argv: list[str]) -> list[str]:
    """``--x0 -1,0,0`` -> ``--x0=-1,0,0``: argparse would take ``-1,0,0`` for an option."""
    out: list[str] = []
    for token in argv:
        if (
            out
            and out[-1].startswith("--")
            and "=" not in out[-1]
            and _NEGATIVE_VALUE.fullmatch(token)
        ):
            out[-1] = f"{out[-1]}={token}"
        else:
            out.append(token)
    return out


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``injcheck`` console script."""
    parser = build_parser()
    args = parser.parse_args(glue_negative_values(sys.argv[1:] if argv is None else list(argv)))
    try:
        code = int(args.handler(args) or 0)
        sys.stdout.flush()  # a closed pipe shows here, inside the try, not at exit
        return code
    except InjcheckError as exc:
        print(f"injcheck: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except BrokenPipeError:
        # The reader (e.g. `| head`) stopped reading: not an error of ours; silence the
        # interpreter's own flush of stdout at exit, which would fail the same way.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_BROKEN_PIPE
    except KeyboardInterrupt:
        print("injcheck: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - the last line of defence, see below
        # Input we failed to refuse cleanly, or a bug: one line and exit 1 (not 2, which
        # promises that the input was at fault). INJCHECK_DEBUG=1 shows the traceback.
        if os.environ.get("INJCHECK_DEBUG"):
            raise
        print(
            f"injcheck: internal error: {type(exc).__name__}: {exc} "
            "(please report it; INJCHECK_DEBUG=1 shows the traceback)",
            file=sys.stderr,
        )
        return EXIT_INTERNAL


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
