"""``injcheck theory``: replica / random-duality predictions, as tables or JSON."""

from __future__ import annotations

import json
import math

from ..exceptions import InvalidArgumentError

HELP = "predicted injectivity thresholds (RS, 1RSB, k-RSB, full RSB) and deep expansions"


def register(subparsers) -> None:
    """Add the ``theory`` subcommand."""
    p = subparsers.add_parser(
        "theory",
        help=HELP,
        description=(
            "Compute the one-layer injectivity capacity and e*(alpha) = lim P*(W)/n "
            "at each level (plain RDT/Gordon = RS, 1RSB, k-RSB, full RSB by extrapolation "
            "in k), the reference lines, and the plain-RDT per-layer expansion of deep "
            "nets (weak = local rank, strong = global, with their status). Values are "
            "cached on disk ($INJCHECK_CACHE_DIR or ~/.cache/injcheck)."
        ),
    )
    p.add_argument(
        "--alpha",
        default="3,5,8",
        metavar="A[,A...]",
        help="comma-separated expansions m/n for e*(alpha) (default: 3,5,8)",
    )
    p.add_argument(
        "--depth",
        type=str,
        default="5",
        metavar="L",
        help="deep table for l = 1..L layers; 0 to skip (default: 5)",
    )
    p.add_argument(
        "--kmax",
        type=str,
        default="6",
        metavar="K",
        help="highest RSB level for the capacity and its extrapolation (3..10, default: 6)",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object instead of tables")
    p.add_argument("--no-cache", action="store_true", help="recompute, do not read/write the cache")
    p.set_defaults(handler=run)


def _parse_alphas(text: str) -> list[float]:
    out = []
    for tok in str(text).split(","):
        tok = tok.strip()
        if not tok:
            continue
        try:
            a = float(tok)
        except ValueError:
            raise InvalidArgumentError(
                f"--alpha: {tok!r} is not a number (expected e.g. --alpha 3,5,8)"
            ) from None
        if not math.isfinite(a) or a <= 0:
            raise InvalidArgumentError(f"--alpha: {tok!r} must be finite and > 0")
        if a > 100:
            raise InvalidArgumentError(f"--alpha: {tok!r} is above the supported maximum 100")
        out.append(a)
    if not out:
        raise InvalidArgumentError("--alpha: give at least one value, e.g. --alpha 3,5,8")
    return out


def _parse_int(text: str, name: str, lo: int, hi: int) -> int:
    try:
        v = int(str(text).strip())
    except ValueError:
        raise InvalidArgumentError(f"{name}: {text!r} is not an integer") from None
    if not lo <= v <= hi:
        raise InvalidArgumentError(f"{name}: {v} is outside {lo}..{hi}")
    return v


def run(args) -> int:
    """Handler: validate, compute (or read the cache), print tables or JSON."""
    alphas = _parse_alphas(args.alpha)
    depth = _parse_int(args.depth, "--depth", 0, 50)
    kmax = _parse_int(args.kmax, "--kmax", 3, 10)
    from .. import theory

    pred = theory.predictions(alphas, depth=depth, kmax=kmax, use_cache=not args.no_cache)
    if args.json:
        print(json.dumps(pred, indent=1, sort_keys=False))
        return 0
    print(format_tables(pred))
    return 0


def format_tables(pred: dict) -> str:
    """Readable tables (markdown) of a :func:`injcheck.theory.predictions` dict."""
    lines = [
        "## Injectivity capacity alpha = m/n of one Gaussian ReLU layer, per level",
        "",
        "| level | alpha_inj | change from previous level |",
        "|---|---|---|",
    ]
    for r in pred["capacity_levels"]:
        d = "" if r["delta"] is None else f"{r['delta']:+.6f}"
        lvl = r["level"]
        if lvl == "frsb":
            lvl = f"frsb (k->inf, +-{pred['frsb']['err']:.1e})"
        lines.append(f"| {lvl} | {r['alpha']:.6f} | {d} |")
    lines += [
        "",
        "## Reference lines",
        "",
        "| line | alpha | computed | meaning |",
        "|---|---|---|---|",
    ]
    for name, r in sorted(pred["reference_lines"].items(), key=lambda kv: kv[1]["alpha"]):
        lines.append(
            f"| {name} | {r['alpha']:.4f} | {'yes' if r['computed'] else 'cited'} | "
            f"{r['meaning']} |"
        )
    gs = pred["ground_state"]
    if gs:
        methods = [m for m in next(iter(gs.values())) if m != "frsb_err"]
        lines += [
            "",
            "## e*(alpha) = lim P*(W)/n (minimal fraction of non-negative rows)",
            "",
            "| alpha | " + " | ".join(methods) + " |",
            "|---" * (len(methods) + 1) + "|",
        ]
        for a, row in gs.items():
            cells = ["n/a" if row[m] is None else f"{row[m]:.6f}" for m in methods]
            lines.append(f"| {a} | " + " | ".join(cells) + " |")
    if "deep" in pred:
        lines += [
            "",
            "## Deep nets: plain-RDT expansion for local non-degeneracy "
            "(each layer at its threshold)",
            "",
            "| layer k | omega_{k-1} | m_k/n needed | m_k/m_{k-1} | omega_k |",
            "|---|---|---|---|---|",
        ]
        for r in pred["deep"]["layers"]:
            lines.append(
                f"| {r['layer']} | {r['omega_in']:.5f} | {r['m_over_n']:.4f} | "
                f"{r['expansion']:.4f} | {r['omega_out']:.5f} |"
            )
    if "notions" in pred.get("deep", {}):
        lines += _notion_lines(pred["deep"]["notions"])
    return "\n".join(lines)


def _notion_lines(rows: list[dict]) -> list[str]:
    """Weak (local) and strong (global) needed widths per layer, with their status."""
    out = [
        "",
        "## Deep nets: weak (count >= n, necessary) and strong (count >= 2n, sufficient) "
        "conditions, each chain at its own thresholds",
        "",
        "| layer k | notion | m_k/n | m_k/m_{k-1} | 1RSB m_k/n | status |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        for name in ("weak", "strong"):
            c = r[name]
            lift = "" if c["lifted_m_over_n"] is None else f"{c['lifted_m_over_n']:.4f}"
            out.append(
                f"| {r['layer']} | {name} | {c['m_over_n']:.4f} | {c['expansion']:.4f} | "
                f"{lift} | {c['status']} |"
            )
    return out
