"""The heuristic count column: old stores stay readable and gain it; trials fill it."""

import sqlite3

from sweep_helpers import fake_spec

from injcheck.sweep import Store, run_sweep
from injcheck.sweep.trials import TrialTask, check_trial


def _drop_column(path):
    db = sqlite3.connect(path)
    db.execute("ALTER TABLE trials DROP COLUMN heuristic_count")
    db.commit()
    db.close()


def test_old_store_is_read_and_migrated(tmp_path):
    path = tmp_path / "old.sqlite"
    run_sweep(fake_spec(), path, workers=0, progress=False)
    _drop_column(path)  # what a store written before the column existed looks like
    with Store(path, readonly=True) as store:
        rows = store.rows(store.spec_hashes()[0])
        assert rows and all(r["heuristic_count"] is None for r in rows)
    with Store(path) as store:  # opening for writing adds the column
        h = store.spec_hashes()[0]
        row = dict(store.rows(h)[0], trial=99, heuristic_count=7)
        assert store.add(row)
        stored = [r for r in store.rows(h) if r["trial"] == 99]
        assert stored[0]["heuristic_count"] == 7


def test_check_trial_records_the_heuristic_count_apart_from_p_star():
    task = TrialTask(
        spec_hash="x",
        point_key="p",
        trial=0,
        seed=3,
        n=30,
        widths=(90,),
        mode="global",
        method="heuristic",
        time_limit=None,
        exact_value=False,
        trial_fn="injcheck.sweep.trials:check_trial",
    )
    record = check_trial(task)
    assert record["status"] == "non-injective"
    assert isinstance(record["heuristic_count"], int) and record["heuristic_count"] < 30
    assert record["p_star"] is None and record["p_star_upper"] is None
