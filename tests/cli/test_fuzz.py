"""Malformed input never ends in a traceback, and reading a store never changes it (issue 12).

A few hundred seeded random inputs: command lines built from real options and bad values,
weight files that are corrupt in many ways, and stores whose rows were damaged by hand.
Every outcome must be a verdict (exit 0) or one line and exit 2.
"""

from __future__ import annotations

import hashlib
import json
import random
import shutil
import sqlite3
from contextlib import closing

import numpy as np
import pytest
import torch

from injcheck.cli import main
from injcheck.exceptions import StoreError
from injcheck.sweep import SweepSpec, run_sweep
from injcheck.sweep.store import Store

FAKE = "injcheck.sweep.trials:fake_trial"

BAD_VALUES = [
    "",
    "-",
    "--",
    "nan",
    "inf",
    "-inf",
    "-1",
    "0",
    "1e400",
    "x",
    "3,",
    ",",
    "2,,4",
    "-2,4",
    "1:2:0",
    "0.5",
    "\x00",
    "é",
    "[1,2]",
    "{}",
    "9" * 40,
    "-0",
    "1e-320",
    "2:",
    ":3",
]
CHECK_OPTIONS = {
    "--arch": ["2,6", "3,9", "2,4,4"] + BAD_VALUES,
    "--seed": ["0", "1"] + BAD_VALUES,
    "--mode": ["global", "local", "pointwise", "sideways"],
    "--method": ["auto", "gordan", "milp", "brute", "magic"],
    "--x0": ["1,0", "-1,0.5,2", "nan,1"] + BAD_VALUES,
    "--box": ["1", "0", "-1", "nan"],
    "--time-limit": ["2", "0", "-3", "nan", "inf"],
    "--layout": ["relu", "final-linear", "linear,tanh", ""],
}
FLAGS = ["--json", "--exact-value", "--trust-pickle", "--bogus"]


def _bad_weight_files(root) -> list[str]:
    paths = []

    def add(name, writer):
        path = root / name
        writer(path)
        paths.append(str(path))

    add("empty.npy", lambda p: p.write_bytes(b""))
    add("text.npy", lambda p: p.write_text("1 2 3"))
    add("cube.npy", lambda p: np.save(p, np.ones((2, 2, 2))))
    add("vector.npy", lambda p: np.save(p, np.ones(3)))
    add("objects.npy", lambda p: np.save(p, np.array([{"a": 1}], dtype=object)))
    add("nan.npz", lambda p: np.savez(p, W1=np.full((4, 2), np.nan), layout="relu"))
    add("mismatch.npz", lambda p: np.savez(p, W1=np.ones((4, 2)), W2=np.ones((3, 5))))
    add("bias.npz", lambda p: np.savez(p, W1=np.ones((4, 2)), b1=np.ones(7), layout="relu"))
    add("layout_num.npz", lambda p: np.savez(p, W1=np.ones((4, 2)), layout=np.ones(2)))
    add("truncated.npz", lambda p: p.write_bytes(b"PK\x03\x04garbage"))
    add("garbage.pt", lambda p: p.write_bytes(b"\x80\x04not a pickle"))
    add("list.pt", lambda p: torch.save([torch.ones(4, 2), "x"], p))
    add("string.pt", lambda p: torch.save("hello", p))
    add("conv.pt", lambda p: torch.save({"0.weight": torch.ones(1, 1, 3)}, p))
    add("weights.txt", lambda p: p.write_text("W"))
    (root / "dir.npy").mkdir()
    paths.append(str(root / "dir.npy"))
    return paths


def _outcome(capsys, argv: list[str]) -> tuple[int, str]:
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse's own usage errors
        code = exc.code
    return code, capsys.readouterr().err


def test_random_check_command_lines(tmp_path, capsys):
    rng = random.Random(12)
    files = _bad_weight_files(tmp_path)
    for _ in range(160):
        argv = ["check"]
        if rng.random() < 0.3:
            argv += ["--weights", rng.choice(files)]
        else:
            argv += ["--arch", rng.choice(CHECK_OPTIONS["--arch"])]
        for option in rng.sample(sorted(CHECK_OPTIONS), rng.randint(0, 3)):
            if option != "--arch":
                argv += [option, rng.choice(CHECK_OPTIONS[option])]
        argv += rng.sample(FLAGS, rng.randint(0, 1))
        argv += ["--time-limit", "2"] if "--time-limit" not in argv else []
        code, err = _outcome(capsys, argv)
        assert code in (0, 2), (argv, code, err)
        assert "Traceback" not in err, argv
        if code == 2:
            assert len(err.strip().splitlines()) == 1, (argv, err)


@pytest.fixture(scope="module")
def clean_store(tmp_path_factory):
    path = tmp_path_factory.mktemp("store") / "s.sqlite"
    spec = SweepSpec(n=(3, 4), alpha=(3.0, 6.0), trials=3, trial_fn=FAKE)
    run_sweep(spec, str(path), workers=0, progress=False)
    return path


CORRUPTIONS = {
    "widths": ["not json", "{", "[]", "[0]", "[-3]", '["a"]', "3", "null", '{"x": 1}', "[1.5]"],
    "witness": ["not json", "[", "[1, 2]", '{"x": [1]}', '{"x": 1, "y": 2}', "7", '"s"'],
    "stats": ["{", "[1]", "3", '"text"'],
    "status": ["maybe", "", None, 3, "Injective"],
    "n": ["three", None, 2.5, "[3]"],
    "trial": ["a", None, 1.5],
    "depth": ["deep", None],
    "seed": ["x", None, 0.5],
    "alpha": ["alpha", None, "[]"],
    "alpha_nominal": ["x", "[1]"],
    "p_star": ["x", 2.5, "[1]"],
    "p_star_lower": ["y", 1.5],
    "layer": ["first", 0.5],
}


def _execute(path, sql: str, params: tuple) -> None:
    """One write, committed and closed (a connection left open would checkpoint later)."""
    with closing(sqlite3.connect(path)) as db, db:
        db.execute(sql, params)


def _digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _corrupted_copies(clean_store, root):
    count = 0
    for column, values in CORRUPTIONS.items():
        for value in values:
            path = root / f"c{count}.sqlite"
            count += 1
            shutil.copy(clean_store, path)
            try:
                _execute(path, f"UPDATE trials SET {column}=? WHERE rowid=2", (value,))
            except sqlite3.IntegrityError:
                continue  # the schema's own CHECK constraints keep this one out
            yield column, value, path


def test_damaged_rows_are_one_line_errors_and_reading_changes_nothing(clean_store, tmp_path):
    checked = 0
    for column, value, path in _corrupted_copies(clean_store, tmp_path):
        before = _digest(path)
        with Store(path, readonly=True) as db:
            h = db.resolve_spec()
            with pytest.raises(StoreError, match=column):
                db.rows(h)
        assert _digest(path) == before, (column, value)
        checked += 1
    assert checked >= 30  # the rest are kept out by the schema itself


def test_report_on_damaged_stores(clean_store, tmp_path, capsys):
    rng = random.Random(5)
    copies = list(_corrupted_copies(clean_store, tmp_path))
    for column, value, path in rng.sample(copies, 12):
        before = _digest(path)
        code, err = _outcome(capsys, ["report", "--store", str(path), "--out", str(tmp_path / "r")])
        assert code == 2 and len(err.strip().splitlines()) == 1, (column, value, err)
        assert _digest(path) == before
        assert not (tmp_path / "r").exists()  # nothing written from a damaged store


@pytest.mark.parametrize("field, value", [("seed", 7), ("mode", "local"), ("method", "milp")])
def test_an_edited_spec_row_is_refused(clean_store, tmp_path, field, value):
    path = tmp_path / "edited.sqlite"
    shutil.copy(clean_store, path)
    with closing(sqlite3.connect(path)) as db:
        (spec_json,) = db.execute("SELECT spec_json FROM specs").fetchone()
    spec = json.loads(spec_json)
    spec[field] = value
    _execute(path, "UPDATE specs SET spec_json=?", (json.dumps(spec),))
    with Store(path, readonly=True) as db, pytest.raises(StoreError, match="edited"):
        db.get_spec(db.resolve_spec())


@pytest.mark.parametrize("kind", ["file", "unwritable", "nested-in-file"])
def test_report_out_paths(clean_store, tmp_path, capsys, kind):
    target = tmp_path / "out"
    if kind == "file":
        target.write_text("x")
    elif kind == "unwritable":
        target = "/proc/injcheck-report"
    else:
        (tmp_path / "afile").write_text("x")
        target = tmp_path / "afile" / "sub"
    before = _digest(clean_store)
    code, err = _outcome(capsys, ["report", "--store", str(clean_store), "--out", str(target)])
    assert code == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert _digest(clean_store) == before


@pytest.mark.parametrize(
    "store",
    ["/nonexistent/dir/s.sqlite", "{tmp}/missing.sqlite", "{tmp}/text.sqlite", "{tmp}"],
)
def test_report_bad_store_paths(tmp_path, capsys, store):
    (tmp_path / "text.sqlite").write_text("not a database")
    store = store.format(tmp=tmp_path)
    for extra in (["--list"], ["--out", str(tmp_path / "o")]):
        code, err = _outcome(capsys, ["report", "--store", store, *extra])
        assert code == 2 and len(err.strip().splitlines()) == 1, (store, extra, err)
