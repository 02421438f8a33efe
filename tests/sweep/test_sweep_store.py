import csv
import sqlite3
import sys

import pytest
from sweep_helpers import fake_spec, strip_timing

from injcheck.exceptions import StoreError
from injcheck.sweep import Store, run_sweep
from injcheck.sweep.store import COLUMNS


def test_wal_and_schema(tmp_path):
    path = tmp_path / "s.sqlite"
    with Store(path) as store:
        assert store.spec_hashes() == []
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    cols = [r[1] for r in db.execute("PRAGMA table_info(trials)")]
    assert tuple(cols) == COLUMNS


def test_resume_skips_finished_trials(tmp_path):
    path = tmp_path / "s.sqlite"
    spec = fake_spec()
    first = run_sweep(spec, path, workers=0, progress=False)
    assert (first.ran, first.skipped) == (first.total, 0)
    with Store(path) as store:
        h = store.spec_hashes()[0]
        full = strip_timing(store.rows(h))
        # Forget three trials, as if the sweep had been killed before they finished.
        store._db.execute("DELETE FROM trials WHERE trial = 3 AND point_key LIKE 'n=3;%'")
    again = run_sweep(spec, path, workers=0, progress=False)
    assert (again.ran, again.skipped) == (3, first.total - 3)
    with Store(path) as store:
        assert strip_timing(store.rows(h)) == full
    # More trials per point reuse the stored ones (the hash ignores the extent).
    more = run_sweep(fake_spec(trials=5), path, workers=0, progress=False)
    assert more.spec_hash == h and more.ran == 6 and more.skipped == first.total


def test_insert_or_ignore_and_replace(tmp_path):
    spec = fake_spec(n=(3,), alpha=(3.0,), trials=1)
    with Store(tmp_path / "s.sqlite") as store:
        run_sweep(spec, store, workers=0, progress=False)
        (row,) = store.rows(spec.spec_hash)
        changed = dict(row, status="unknown", message="other")
        assert store.add(changed) is False
        assert store.rows(spec.spec_hash)[0]["status"] == row["status"]
        assert store.add(changed, replace=True) is True
        assert store.rows(spec.spec_hash)[0]["message"] == "other"
        assert store.count(spec.spec_hash) == 1


def test_rerun_policies(tmp_path):
    path = tmp_path / "s.sqlite"
    spec = fake_spec(trial_options=(("unknown_rate", 0.3),))
    first = run_sweep(spec, path, workers=0, progress=False)
    n_unknown = first.counts.get("unknown", 0)
    assert n_unknown > 0
    assert run_sweep(spec, path, workers=0, progress=False, rerun="unknown").ran == n_unknown
    assert run_sweep(spec, path, workers=0, progress=False, rerun="all").ran == first.total
    with Store(path) as store:
        assert store.count(spec.spec_hash) == first.total


def test_two_sweeps_share_a_file_without_mixing(tmp_path):
    path = tmp_path / "s.sqlite"
    a, b = fake_spec(seed=1), fake_spec(seed=2)
    run_sweep(a, path, workers=0, progress=False)
    run_sweep(b, path, workers=0, progress=False)
    with Store(path) as store:
        assert set(store.spec_hashes()) == {a.spec_hash, b.spec_hash}
        assert {r["spec_hash"] for r in store.rows(a.spec_hash)} == {a.spec_hash}
        assert store.count(a.spec_hash) == store.count(b.spec_hash) == a.n_trials
        with pytest.raises(StoreError, match="spec_hash is needed: .* holds 2 sweeps") as err:
            store.resolve_spec(None)
        assert err.value.argument == "spec_hash"
        assert store.resolve_spec(a.spec_hash[:6]) == a.spec_hash
        with pytest.raises(StoreError, match="matches 0"):
            store.resolve_spec("zzz")


def test_spec_row_with_other_settings_is_refused(tmp_path):
    path = tmp_path / "s.sqlite"
    spec = fake_spec()
    run_sweep(spec, path, workers=0, progress=False)
    db = sqlite3.connect(path)
    db.execute("UPDATE specs SET spec_json = replace(spec_json, '\"seed\": 0', '\"seed\": 9')")
    db.commit()
    with pytest.raises(StoreError, match="rows would mix"):
        run_sweep(spec, path, workers=0, progress=False)


def test_bad_files(tmp_path):
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StoreError, match="not a usable SQLite"):
        Store(junk)
    path = tmp_path / "old.sqlite"
    Store(path).close()
    db = sqlite3.connect(path)
    db.execute("UPDATE meta SET value='99' WHERE key='schema_version'")
    db.commit()
    with pytest.raises(StoreError, match="schema version 99"):
        Store(path)
    with pytest.raises(StoreError, match="does not exist"):
        Store(tmp_path / "no" / "dir.sqlite")


def test_export_csv_and_parquet(tmp_path, monkeypatch):
    spec = fake_spec()
    with Store(tmp_path / "s.sqlite") as store:
        run_sweep(spec, store, workers=0, progress=False)
        store.export(tmp_path / "t.csv", spec.spec_hash)
        with open(tmp_path / "t.csv") as fh:
            rows = list(csv.DictReader(fh))
        assert len(rows) == spec.n_trials and tuple(rows[0]) == COLUMNS
        pq = pytest.importorskip("pyarrow.parquet")
        store.export(tmp_path / "t.parquet", spec.spec_hash)
        assert pq.read_table(tmp_path / "t.parquet").num_rows == spec.n_trials
        monkeypatch.setitem(sys.modules, "pyarrow", None)
        with pytest.raises(StoreError, match="pip install"):
            store.export(tmp_path / "u.parquet", spec.spec_hash)
        with pytest.raises(StoreError, match="unknown format"):
            store.export(tmp_path / "t.xlsx", spec.spec_hash)
