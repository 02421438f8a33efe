"""``injcheck verify-proof FILE``: check a one-layer proof with the independent checker."""

from __future__ import annotations

import argparse

#: Exit code of a proof that does not check (bad input stays 2, a valid proof 0).
EXIT_INVALID = 1


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "verify-proof",
        help="check a proof file written by 'injcheck check --proof FILE'",
        description=(
            "Check a one-layer proof in exact rational arithmetic (no solver, no code shared "
            "with the search). Exit code 0 if it is valid, 1 if it is not (or on an internal "
            "error), 2 if the file cannot be read as a proof."
        ),
    )
    parser.add_argument("file", help="the proof file (JSON)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    import json

    from ..exceptions import InvalidArgumentError
    from ..proof_check import verify_proof

    try:
        with open(args.file) as f:
            doc = json.load(f)
    except (OSError, ValueError) as exc:
        raise InvalidArgumentError(f"cannot read a JSON proof from {args.file!r}: {exc}") from exc
    result = verify_proof(doc)
    if not result.ok:  # verify_proof also rejects a limit other than n - 1
        print(f"proof INVALID: {result.reason}")
        return EXIT_INVALID
    print(
        f"proof valid: {result.reason} for W with n={result.n}, m={result.m} "
        f"({result.nodes} tree nodes, {result.certificates} certificates checked exactly); "
        "the layer is injective if every n rows of W are linearly independent"
    )
    return 0
