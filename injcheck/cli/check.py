"""``injcheck check``: decide injectivity of one network and print the verdict."""

from __future__ import annotations

import argparse

import numpy as np

from ..exceptions import (
    InvalidArgumentError,
    LayoutMissingError,
    PickleRefusedError,
)
from ..networks import MAX_SEED
from ..verdict import MODES


def _int_list(text: str, option: str) -> list[int]:
    try:
        values = [int(v) for v in text.split(",")]  # an empty field is an error, not skipped
    except ValueError as exc:
        raise InvalidArgumentError(
            f"{option} must be comma-separated integers, got {text!r}"
        ) from exc
    if not values or min(values) < 1:
        raise InvalidArgumentError(f"{option} needs positive integers, got {text!r}")
    return values


def _float_list(text: str, option: str) -> np.ndarray:
    try:
        return np.array([float(v) for v in text.split(",")])  # "1,,2" is an error
    except ValueError as exc:
        raise InvalidArgumentError(
            f"{option} must be comma-separated numbers, got {text!r}"
        ) from exc


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "check",
        help="decide whether a ReLU network is injective",
        description=(
            "Decide injectivity of a random Gaussian network (--arch, --seed) or of saved "
            "weights (--weights). Prints injective / non-injective (with a verified witness) / "
            "unknown. Exit code 0 for any verdict, 2 for bad input, 1 for an internal error "
            "(INJCHECK_DEBUG=1 shows the traceback)."
        ),
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--arch", help="n then the widths, e.g. 6,36 or 4,24,24")
    source.add_argument(
        "--weights",
        help=".npy (one matrix W: x -> ReLU(Wx)), .npz / .pt state dict (needs --layout "
        "unless the file stores one) or .pt Sequential (needs --trust-pickle); .pt files need "
        "torch >= 2.10 or --trust-pickle",
    )
    parser.add_argument(
        "--layout",
        help="activations of a weights file: 'relu' (ReLU after every Linear), 'final-linear' "
        "(after every Linear but the last) or the modules in order, e.g. linear,relu,linear",
    )
    parser.add_argument(
        "--proof",
        metavar="FILE",
        help="one layer: if injective, write a proof to FILE (check it with injcheck verify-proof); "
        "an existing FILE is overwritten only if it is a proof",
    )
    parser.add_argument(
        "--trust-pickle",
        action="store_true",
        help=".pt only: load with full unpickling, which runs code from the file, so use it "
        "only for files you trust; needed for a whole pickled module, and for any .pt on "
        "torch < 2.10",
    )
    parser.add_argument(
        "--seed", type=int, default=0, help="seed of the random network, 0..2**64-1 (default 0)"
    )
    parser.add_argument("--mode", choices=MODES, default="global", help="which notion to check")
    parser.add_argument(
        "--method",
        default="auto",
        help=(
            "auto, gordan, milp, brute, heuristic (one layer: batched witness search, "
            "non-injective or unknown) or auto, milp, brute, heuristic (deep, bias-free). "
            "auto runs the heuristic first above n = 10 (one layer; above n = 16 only the "
            "heuristic), n = 5 (deep, local) and n = 4 (deep, global, bias-free), then the "
            "exact search with the time left"
        ),
    )
    parser.add_argument("--x0", help="pointwise mode: the input, comma-separated")
    parser.add_argument(
        "--box", type=float, help="restrict inputs to [-BOX, BOX]^n (needed with biases)"
    )
    parser.add_argument("--time-limit", type=float, help="seconds before giving up with 'unknown'")
    parser.add_argument(
        "--node-limit",
        type=int,
        metavar="N",
        help="one layer: nodes per exact search tree before giving up with 'unknown' "
        "(the same verdict on any machine, unlike --time-limit)",
    )
    parser.add_argument(
        "--exact-value",
        action="store_true",
        help="one bias-free layer, no --box, global/local mode: compute P*(W) exactly "
        "(refused otherwise)",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="threads: one layer, the exact search splits its tree over them (same verdict); "
        "deep nets, HiGHS threads (default 1)",
    )
    parser.add_argument("--json", action="store_true", help="print the verdict as one JSON object")
    parser.set_defaults(handler=run)


def _load(args: argparse.Namespace):
    from ..networks import load_weights

    try:
        return load_weights(args.weights, layout=args.layout, trust_pickle=args.trust_pickle)
    except LayoutMissingError as exc:
        raise InvalidArgumentError(
            f"{args.weights}: the file holds weights but not the activations between them; "
            "pass --layout relu, --layout final-linear or e.g. --layout linear,relu,linear"
        ) from exc
    except PickleRefusedError as exc:
        raise InvalidArgumentError(
            f"{args.weights} holds a pickled module and unpickling runs code from the file; "
            "save model.state_dict() and pass --layout, or pass --trust-pickle if you trust it"
        ) from exc


def _validate(args: argparse.Namespace) -> None:
    """Flags that cannot be checked by argparse alone; one clear error each."""
    for flag, value in (("--time-limit", args.time_limit), ("--box", args.box)):
        if value is not None and not (np.isfinite(value) and value > 0):
            raise InvalidArgumentError(f"{flag} must be a positive number, got {value}")
    if args.threads < 1:
        raise InvalidArgumentError(f"--threads must be a positive integer, got {args.threads}")
    if args.node_limit is not None and args.node_limit < 1:
        raise InvalidArgumentError(
            f"--node-limit must be a positive integer, got {args.node_limit}"
        )
    if args.arch is None and args.seed != 0:
        raise InvalidArgumentError("--seed only applies to random networks (--arch)")
    if args.weights is None and (args.layout is not None or args.trust_pickle):
        raise InvalidArgumentError("--layout and --trust-pickle only apply to --weights")
    if args.trust_pickle and not args.weights.lower().endswith(".pt"):
        raise InvalidArgumentError(
            "--trust-pickle only applies to .pt files; .npy and .npz files are never unpickled"
        )
    if not 0 <= args.seed <= MAX_SEED:
        raise InvalidArgumentError(f"--seed must be in 0..2**64-1, got {args.seed}")
    if args.proof is not None:
        _validate_proof_path(args.proof, args.weights)


def _validate_proof_path(path: str, weights: str | None) -> None:
    """Before the check runs: --proof must be writable and must not clobber another file."""
    import os

    from ..one_layer.proof import proof_path_problem

    if weights is not None and os.path.exists(path) and os.path.exists(weights):
        if os.path.samefile(path, weights):
            raise InvalidArgumentError(f"--proof {path} is the --weights file itself")
    problem = proof_path_problem(path)
    if problem is not None:
        raise InvalidArgumentError(f"--proof: {problem}")


def _network(args: argparse.Namespace):
    """The random network of ``--arch`` or the user's network of ``--weights``."""
    from ..networks import as_layers, random_relu_net

    if args.arch is not None:
        arch = _int_list(args.arch, "--arch")
        if len(arch) < 2:
            raise InvalidArgumentError(f"--arch needs n and at least one width, got {args.arch!r}")
        return as_layers(random_relu_net(arch[0], arch[1:], seed=args.seed))
    network = _load(args)
    if any(layer.has_bias for layer in network.layers) and args.box is None:
        raise InvalidArgumentError(
            "the network has biases, so it is not homogeneous: pass --box R to check it "
            "on [-R, R]^n"
        )
    return network


def run(args: argparse.Namespace) -> int:
    from ..check import check

    _validate(args)
    network = _network(args)
    x0 = _float_list(args.x0, "--x0") if args.x0 is not None else None
    verdict = check(
        network,
        mode=args.mode,
        method=args.method,
        time_limit=args.time_limit,
        x0=x0,
        input_box=args.box,
        exact_value=args.exact_value,
        proof=args.proof,
        threads=args.threads,
        node_limit=args.node_limit,
    )
    if args.json:
        print(verdict.to_json())
        return 0
    print(verdict.summary())
    written = (verdict.certificate or {}).get("proof")
    if written is not None:
        print(
            f"  proof written to {written['file']} (check: injcheck verify-proof FILE)"
            if written["written"]
            else f"  no proof written: {written['why']}"
        )
    if verdict.witness is not None:
        fmt = lambda v: "[" + ", ".join(f"{a:.6g}" for a in v) + "]"  # noqa: E731
        print(f"  witness x = {fmt(verdict.witness['x'])}")
        print(f"  witness y = {fmt(verdict.witness['y'])}")
        ver = verdict.verification or {}
        print(
            f"  verified: exact {ver.get('exact_check', 'rational collision')}={ver.get('exact_ok')}, "
            f"float64 relative residual={ver.get('relative_residual', float('nan')):.2e}"
        )
    return 0
