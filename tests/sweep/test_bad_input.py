"""Bad input to the sweep: foreign SQLite files, exact seeds, refused settings, bad
configs and stores in read-only directories (review of 61fe7e2, D2 D6 D7 D9 D10)."""

from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
import subprocess
import sys

import pytest
from sweep_helpers import FAKE, fake_spec, run_cli

from injcheck.exceptions import SpecError, StoreError
from injcheck.sweep import SweepSpec, run_sweep
from injcheck.sweep.store import Store

SWEEP = ["sweep", "--n", "3", "--alpha", "4", "--trials", "1", "--workers", "0", "--no-progress"]


def _md5(path) -> str:
    return hashlib.md5(open(path, "rb").read()).hexdigest()


def _sqlite(path, *statements: str) -> str:
    db = sqlite3.connect(path)
    for sql in statements:
        db.execute(sql)
    db.commit()
    db.close()
    return _md5(path)


# -- D2: another program's SQLite file is refused unchanged -------------------------------
@pytest.mark.parametrize(
    "statements",
    [
        ["CREATE TABLE trials (x INTEGER)", "INSERT INTO trials VALUES (1)"],
        [
            "CREATE TABLE meta (key TEXT, value TEXT)",
            "INSERT INTO meta VALUES ('schema_version', '1')",
        ],
        [
            "CREATE TABLE meta (k TEXT)",
            "CREATE TABLE specs (a)",
            "CREATE TABLE trials (b)",
        ],
        ["CREATE VIEW v AS SELECT 1"],
    ],
)
def test_a_foreign_sqlite_file_is_refused_and_left_unchanged(tmp_path, capsys, statements):
    path = tmp_path / "foreign.sqlite"
    before = _sqlite(path, *statements)
    assert run_cli(SWEEP + ["--trial-fn", FAKE, "--store", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert "not an injcheck store" in err and "\n" not in err
    for readonly in (False, True):
        with pytest.raises(StoreError, match="not an injcheck store"):
            Store(path, readonly=readonly)
    assert _md5(path) == before
    assert sorted(os.listdir(tmp_path)) == ["foreign.sqlite"]


def test_an_empty_file_becomes_a_store_and_an_old_store_gains_the_new_column(tmp_path):
    empty = tmp_path / "empty.sqlite"
    empty.write_bytes(b"")
    run_sweep(fake_spec(), empty, workers=0, progress=False)
    with Store(empty, readonly=True) as db:
        assert len(db.spec_hashes()) == 1
    old = tmp_path / "old.sqlite"
    run_sweep(fake_spec(), old, workers=0, progress=False)
    _sqlite(old, "ALTER TABLE trials DROP COLUMN heuristic_count")
    with Store(old) as db:
        assert "heuristic_count" in db._present()
        assert db.count(db.resolve_spec()) == fake_spec().n_trials


# -- D7: integers never go through float ---------------------------------------------------
def test_big_seeds_stay_exact_and_stored_hashes_do_not_change():
    big = SweepSpec(n=[3], alpha=[4], seed=2**53 + 1)
    assert big.seed == 2**53 + 1
    assert big.spec_hash != SweepSpec(n=[3], alpha=[4], seed=2**53).spec_hash
    assert SweepSpec(n=[3], alpha=[4], seed=str(10**23 + 1)).seed == 10**23 + 1
    # Pinned before the change: seeds given as int, float or text hash as they did.
    for seed in (17, 17.0, "17", "17.0"):
        assert SweepSpec(n=[3, 4], alpha=[2.0, 3.5], seed=seed).spec_hash == "23998f8fbc56060d"
    assert SweepSpec(n=[3, 4], alpha=[2.0, 3.5], seed=2**53).spec_hash == "ae8ba1c5a7a4eefc"
    spec = SweepSpec(n=[3, 4], alpha=[2.0, 3.5], seed=3, node_limit=10**6)
    assert spec.spec_hash == "75c248b4f91339e8"
    assert SweepSpec(n=["4.0"], alpha=[3], trials="1e1").trials == 10
    for bad in (1.5, "x", float("inf"), "1e400", True):
        with pytest.raises(SpecError, match="seed must be an integer"):
            SweepSpec(n=[3], alpha=[4], seed=bad)


# -- D9: what every trial would refuse is refused before anything is written --------------
@pytest.mark.parametrize(
    "argv, words",
    [
        (["--method", "bogus"], "method must be one of"),
        (["--method", "gordan", "--depth", "2"], "method must be one of"),
        (["--method", "brute", "--n", "5"], "needs n <= 4"),
        (["--alpha", "1e9"], "weights"),
        (["--alpha", "1e300"], "weights"),
        (["--alpha", "40", "--depth", "9"], "weights"),
    ],
)
def test_settings_every_trial_would_refuse_write_nothing(tmp_path, capsys, argv, words):
    store = tmp_path / "s.sqlite"
    assert run_cli(SWEEP + argv + ["--store", str(store)]) == 2
    err = capsys.readouterr().err.strip()
    assert words in err and "\n" not in err
    assert os.listdir(tmp_path) == []


def test_a_custom_trial_function_keeps_its_own_methods():
    assert SweepSpec(n=[3], alpha=[4], method="fake-method", trial_fn=FAKE).method == "fake-method"


# -- D6/D9: bad [run] tables and files ---------------------------------------------------------
@pytest.mark.parametrize(
    "run, words",
    [
        ('store = "s.sqlite"\nworkers = "two"', "workers must be a non-negative integer"),
        ("store = 5", "store must be a non-empty string"),
        ('store = ["a"]', "store must be a non-empty string"),
        ('store = "s.sqlite"\nworkers = 1.5', "workers must be"),
        ('store = "s.sqlite"\nrerun = "sometimes"', "rerun must be one of"),
        ('store = "s.sqlite"\nexecutor = "slurm"', "executor must be one of"),
    ],
)
def test_a_bad_run_table_is_one_line_and_writes_nothing(tmp_path, capsys, monkeypatch, run, words):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "c.toml").write_text(f"n = [3]\nalpha = [4]\ntrials = 1\n[run]\n{run}\n")
    assert run_cli(["sweep", "--config", "c.toml", "--no-progress"]) == 2
    err = capsys.readouterr().err.strip()
    assert words in err and "\n" not in err
    assert os.listdir(tmp_path) == ["c.toml"]


@pytest.mark.parametrize("text", [b"\xff\xfe", b"n = [3]\nrun = 5\n", b"n = [3]\nsweep = 1\n"])
def test_a_config_that_is_not_utf8_or_has_bad_tables_is_one_line(tmp_path, capsys, text):
    config = tmp_path / "c.toml"
    config.write_bytes(text)
    assert run_cli(["sweep", "--config", str(config), "--store", str(tmp_path / "s.sqlite")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("injcheck: error: --config") and "\n" not in err
    assert os.listdir(tmp_path) == ["c.toml"]


def test_run_sweep_checks_rerun_and_store_before_opening_the_store(tmp_path):
    store = tmp_path / "s.sqlite"
    with pytest.raises(Exception, match="rerun must be one of"):
        run_sweep(fake_spec(), store, workers=0, rerun="sometimes")
    with pytest.raises(Exception, match="store must be a path"):
        run_sweep(fake_spec(), 5, workers=0)
    with pytest.raises(Exception, match="workers must be"):
        run_sweep(fake_spec(), store, workers="two")
    assert os.listdir(tmp_path) == []


# -- D10: a store in a read-only directory ----------------------------------------------------
def _as_unprivileged() -> list[str]:
    """A command prefix that runs without root's power to write anywhere, or skip."""
    if os.geteuid() != 0:
        return []
    if shutil.which("setpriv") is None:
        pytest.skip("running as root without setpriv: a read-only directory cannot be tested")
    return ["setpriv", "--bounding-set=-dac_override,-dac_read_search"]


def test_report_reads_a_store_in_a_read_only_directory_without_changing_it(tmp_path):
    prefix = _as_unprivileged()
    ro = tmp_path / "ro"
    ro.mkdir()
    path = ro / "s.sqlite"
    run_sweep(fake_spec(), path, workers=0, progress=False)
    assert sorted(os.listdir(ro)) == ["s.sqlite"]  # WAL checkpointed and removed on close
    before = _md5(path)
    path.chmod(0o444)
    ro.chmod(0o555)
    try:
        code = "from injcheck.sweep.store import Store\n" + (
            f"with Store({str(path)!r}, readonly=True) as db:\n"
            "    h = db.resolve_spec()\n"
            "    print(h, db.count(h), len(db.rows(h)))\n"
        )
        done = subprocess.run(
            prefix + [sys.executable, "-c", code], capture_output=True, text=True, timeout=120
        )
        if prefix and "Operation not permitted" in done.stderr:
            pytest.skip("setpriv cannot drop capabilities here")
        assert done.returncode == 0, done.stderr
        n = fake_spec().n_trials
        assert done.stdout.split()[1:] == [str(n), str(n)]
        assert sorted(os.listdir(ro)) == ["s.sqlite"]
        assert _md5(path) == before
    finally:
        ro.chmod(0o755)
        path.chmod(0o644)


def test_a_stored_spec_that_can_no_longer_run_still_lists(tmp_path):
    """A spec written by an older version with a method that every trial refuses is
    refused when a sweep starts, but a store holding it stays readable."""
    from injcheck.sweep import run_sweep
    from injcheck.sweep.spec import SpecError
    from injcheck.sweep.store import Store

    bogus = SweepSpec(n=[3], alpha=[4], method="bogus", trials=1)
    with pytest.raises(SpecError, match="method must be one of"):
        run_sweep(bogus, tmp_path / "s.sqlite", workers=0, progress=False)
    assert os.listdir(tmp_path) == []
    with Store(tmp_path / "s.sqlite") as store:  # as an older version would have stored it
        store.register_spec(bogus, "0.0")
    with Store(tmp_path / "s.sqlite") as store:
        assert store.get_spec(bogus.spec_hash).method == "bogus"
