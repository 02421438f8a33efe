"""Study audit: re-decide a seeded sample of the stored study trials with another method.

The study's verdicts come from ``method="auto"`` (greedy heuristic, then the compiled
certificate search of ``injcheck/one_layer/_core``). This script draws, for every n, a
seeded sample of stored trials at *informative* points (widths where the store holds both
injective and non-injective layers: the tails, where every layer has the same answer, would
make the audit easy), rebuilds each layer from its seed and decides it again with a method
that shares no search code with the study's:

* ``milp`` for n <= ``--milp-max-n`` (CVXPY + HiGHS branch and cut on a mixed-integer
  model of the same criterion; a different formulation and a different solver), with
  exact ``P*`` where the store has it;
* ``gordan-python`` above (the pure-Python certificate search, its LPs solved by HiGHS:
  the same criterion, an implementation independent of the compiled core), with exact
  ``P*`` where the store has it and n <= ``--pstar-max-n``.

Each audited trial is one row of ``audit.csv`` (appended as it comes, so a stopped run
resumes); ``audit.md`` counts per n: agreements, disagreements and audits that hit the
time limit (these decide nothing). Any disagreement is printed and makes the exit status 1.

Commands::

    nice -n 10 python experiments/study_audit.py                 # n = 2..12, 20 a size
    python experiments/study_audit.py --n 12 --per-n 5 --time-limit 300
    python experiments/study_audit.py --quick --out /tmp/q      # CI: the quick store in --out
"""

from __future__ import annotations

import argparse
import csv
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import study_common as sc  # noqa: E402

COLUMNS = [
    "n", "m", "point_key", "trial", "seed", "stored_status", "stored_p_star",
    "audit_method", "audit_status", "audit_p_star", "agree", "cpu_s",
]  # fmt: skip


def informative_sample(rows: list[dict], n: int, k: int, seed: int) -> list[dict]:
    """``k`` stored trials of size ``n``, drawn by a seeded generator from the points whose
    stored trials include both outcomes (all of them when fewer)."""
    by_point: dict[str, list[dict]] = defaultdict(list)
    for r in rows:
        if r["n"] == n and r["status"] != "unknown":
            by_point[r["point_key"]].append(r)
    pool = [
        r
        for key in sorted(by_point)
        if len({r["status"] for r in by_point[key]}) == 2
        for r in sorted(by_point[key], key=lambda r: r["trial"])
    ]
    if len(pool) <= k:
        return pool
    pick = np.random.default_rng([seed, n]).choice(len(pool), size=k, replace=False)
    return [pool[i] for i in sorted(pick)]


def audit_method(n: int, milp_max_n: int) -> str:
    """The independent method used at size ``n``."""
    return "milp" if n <= milp_max_n else "gordan-python"


def audit_trial(row: dict, method: str, with_p_star: bool, time_limit: float) -> dict:
    """Decide one stored trial again; the audit row (``agree`` is None on a time-out)."""
    from injcheck import check, random_relu_net

    net = random_relu_net(row["n"], list(row["widths"]), seed=row["seed"])
    t0 = time.process_time()
    verdict = check(net, method=method, time_limit=time_limit, exact_value=with_p_star)
    cpu = time.process_time() - t0
    p_star = (verdict.certificate or {}).get("p_star") if with_p_star else None
    decided = verdict.status != "unknown"
    agree = None
    if decided:
        agree = verdict.status == row["status"] and (
            not with_p_star or p_star is None or p_star == row["p_star"]
        )
    return {
        "n": row["n"], "m": row["widths"][-1], "point_key": row["point_key"],
        "trial": row["trial"], "seed": row["seed"], "stored_status": row["status"],
        "stored_p_star": row["p_star"], "audit_method": method,
        "audit_status": verdict.status, "audit_p_star": p_star, "agree": agree,
        "cpu_s": round(cpu, 3),
    }  # fmt: skip


def read_done(path: Path) -> list[dict]:
    """Rows of an existing ``audit.csv``, the latest one per trial (empty when none)."""
    if not path.exists():
        return []
    with open(path, newline="") as fh:
        latest = {(d["point_key"], int(d["trial"])): d for d in csv.DictReader(fh)}
    return list(latest.values())


def run(rows: list[dict], args, path: Path) -> None:
    """Audit the sample of every n in ``args.ns``, appending to ``path``.

    Trials already decided by an audit are skipped; one that hit the time limit is tried
    again (e.g. with a larger ``--time-limit``), and its new row supersedes the old one.
    """
    done = {(d["point_key"], int(d["trial"])) for d in read_done(path) if d["agree"] != ""}
    new_file = not path.exists()
    with open(path, "a", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=COLUMNS)
        if new_file:
            writer.writeheader()
        for n in args.ns:
            method = audit_method(n, args.milp_max_n)
            for row in informative_sample(rows, n, args.per_n, args.seed):
                if (row["point_key"], row["trial"]) in done:
                    continue
                with_p = row["p_star"] is not None and n <= args.pstar_max_n
                rec = audit_trial(row, method, with_p, args.time_limit)
                writer.writerow({k: "" if v is None else v for k, v in rec.items()})
                fh.flush()
                print(f"[{sc.now()}] n={n} m={rec['m']} trial {rec['trial']}: stored "
                      f"{rec['stored_status']}, {method} {rec['audit_status']} "
                      f"({rec['cpu_s']:.1f} CPU s){'' if rec['agree'] is not False else '  DISAGREES'}",
                      flush=True)  # fmt: skip


def summarise(done: list[dict]) -> tuple[str, int]:
    """The markdown summary of ``audit.csv`` rows and the number of disagreements."""
    per_n: dict[int, list[dict]] = defaultdict(list)
    for d in done:
        per_n[int(d["n"])].append(d)
    lines = [
        "| n | method | audited | with P* | agree | disagree | time limit hit | median CPU s |",
        "|---|---|---|---|---|---|---|---|",
    ]
    bad = 0
    for n in sorted(per_n):
        ds = per_n[n]
        agree = sum(d["agree"] == "True" for d in ds)
        disagree = sum(d["agree"] == "False" for d in ds)
        bad += disagree
        methods = ", ".join(sorted({d["audit_method"] for d in ds}))
        with_p = sum(d["audit_p_star"] != "" for d in ds)
        cpu = statistics.median(float(d["cpu_s"]) for d in ds)
        lines.append(
            f"| {n} | {methods} | {len(ds)} | {with_p} | {agree} | {disagree} | "
            f"{len(ds) - agree - disagree} | {cpu:.2f} |"
        )
    return "\n".join(lines) + "\n", bad


def write_report(out: Path, done: list[dict], store: Path, args) -> int:
    table, bad = summarise(done)
    md = [
        "# Audit of the study's stored verdicts by an independent method",
        "",
        f"* made {sc.now()} from `{store.name}`; {len(done)} trials audited; "
        f"machine: {sc.machine_line()}",
        f"* sample: up to {args.per_n} trials a size, seeded ({args.seed}), from the points "
        "whose stored trials include both outcomes; methods: `milp` for n <= "
        f"{args.milp_max_n}, `gordan-python` above; P* compared where stored and n <= "
        f"{args.pstar_max_n}; time limit {args.time_limit:g} s a trial in the last run (an "
        "audit that hits it is tried again by a later run; audit.csv keeps every attempt, "
        "the table counts the latest)",
        "",
        table,
        f"Disagreements: {bad}" + (" (see audit.csv)" if bad else ""),
    ]
    (out / "audit.md").write_text("\n".join(md) + "\n")
    print("\n".join(md))
    return bad


def parse_args(argv=None):
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--n", default="2:12", help="input sizes, e.g. 2:12 (default)")
    p.add_argument("--per-n", type=int, default=20, help="trials audited a size (20)")
    p.add_argument("--milp-max-n", type=int, default=7, help="largest n audited by milp (7)")
    p.add_argument("--pstar-max-n", type=int, default=9, help="largest n whose P* is audited (9)")
    p.add_argument("--time-limit", type=float, default=120.0, help="seconds a trial (120)")
    p.add_argument("--seed", type=int, default=2024, help="seed of the sample (2024)")
    p.add_argument("--store", default=None, help=f"SQLite store (default {sc.STORE})")
    p.add_argument("--out", default=None, help=f"output folder (default {sc.RESULTS})")
    p.add_argument("--report-only", action="store_true", help="only audit.md from audit.csv")
    p.add_argument("--quick", action="store_true", help="CI: 2 trials a size of the quick store")
    args = p.parse_args(argv)
    from injcheck.sweep.spec import parse_int_list

    try:
        args.ns = parse_int_list(args.n, "n")
    except Exception as exc:  # noqa: BLE001 - one clear line, exit 2
        p.error(f"bad argument: {exc}")
    if args.per_n < 1 or args.time_limit <= 0:
        p.error("--per-n must be >= 1 and --time-limit > 0")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    out = Path(args.out) if args.out else sc.RESULTS
    store = Path(args.store) if args.store else sc.STORE
    settings = sc.STUDY_SETTINGS
    if args.quick:  # the store study_one_layer.py --quick left in --out
        out = Path(args.out) if args.out else Path("/tmp/injcheck_study_quick")
        store = Path(args.store) if args.store else out / "quick.sqlite"
        settings, args.ns, args.per_n = sc.QUICK_SETTINGS, (3, 4), 2
    if not store.exists():
        print(f"error: no store at {store}", file=sys.stderr)
        return 2
    out.mkdir(parents=True, exist_ok=True)
    path = out / "audit.csv"
    if not args.report_only:
        rows, _ = sc.load_study_rows(store, settings)
        run(rows, args, path)
    return 1 if write_report(out, read_done(path), store, args) else 0


if __name__ == "__main__":
    sys.exit(main())
