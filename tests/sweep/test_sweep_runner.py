import os
import signal
import sqlite3
import subprocess
import sys
import time

import pytest
from sweep_helpers import FAKE, fake_spec, run_cli, strip_timing

from injcheck.exceptions import InvalidArgumentError, SpecError
from injcheck.sweep import Store, SweepSpec, run_sweep
from injcheck.sweep.runner import execute_task, plan_tasks


def _rows(path, spec):
    with Store(path) as store:
        return strip_timing(store.rows(spec.spec_hash))


def test_failing_trials_are_stored_as_unknown(tmp_path):
    spec = fake_spec(trials=10, trial_options=(("fail_rate", 0.3),))
    res = run_sweep(spec, tmp_path / "s.sqlite", workers=0, progress=False)
    rows = _rows(tmp_path / "s.sqlite", spec)
    failed = [r for r in rows if r["solver_status"] == "error"]
    assert len(rows) == spec.n_trials == res.ran
    assert failed and all(r["status"] == "unknown" for r in failed)
    assert all(r["message"].startswith("trial raised RuntimeError: fake failure") for r in failed)


def bad_status_trial(task):
    return {"status": "maybe"}


def test_invalid_record_is_unknown():
    (_, task, _), *_ = plan_tasks(fake_spec(trial_fn=f"{__name__}:bad_status_trial"), {})
    record = execute_task(task)
    assert record["status"] == "unknown" and "no valid status" in record["message"]


FLAKY = {"broken": True}


def flaky_trial(task):
    """Raises while ``FLAKY["broken"]`` (a setup that is fixed later), else the fake check."""
    from injcheck.sweep.trials import fake_trial

    if FLAKY["broken"] and task.trial % 2:
        raise ImportError("compiled core not built")
    return fake_trial(task)


def broken_trial(task):
    raise ImportError("compiled core not built")


def test_trials_that_raised_run_again_on_resume(tmp_path, monkeypatch):
    """An error is not a result: resuming runs exactly the failed trials, under every policy."""
    monkeypatch.setitem(FLAKY, "broken", True)
    kw = dict(n=(3,), alpha=(3.0, 6.0), trials=4)  # 4 failures: fewer than stop a sweep
    spec = fake_spec(trial_fn=f"{__name__}:flaky_trial", **kw)  # trials 1, 3 fail
    path = tmp_path / "s.sqlite"
    first = run_sweep(spec, path, workers=0, progress=False)
    failed = [r for r in _rows(path, spec) if r["solver_status"] == "error"]
    assert first.ran == spec.n_trials and len(failed) == spec.n_trials // 2
    assert all(r["status"] == "unknown" for r in failed)
    again = run_sweep(spec, path, workers=0, progress=False)  # still broken: same rows
    assert again.ran == len(failed) and again.skipped == spec.n_trials - len(failed)
    monkeypatch.setitem(FLAKY, "broken", False)
    fixed = run_sweep(spec, path, workers=0, progress=False, rerun="never")
    assert fixed.ran == len(failed) and "unknown" not in fixed.counts
    assert run_sweep(spec, path, workers=0, progress=False).ran == 0
    clean = fake_spec(**kw)
    run_sweep(clean, tmp_path / "clean.sqlite", workers=0, progress=False)
    statuses = [r["status"] for r in _rows(path, spec)]
    assert statuses == [r["status"] for r in _rows(tmp_path / "clean.sqlite", clean)]


def test_a_setup_that_fails_every_trial_stops_the_sweep(tmp_path, capsys):
    from injcheck.exceptions import SweepAbortedError
    from injcheck.sweep.runner import MAX_CONSECUTIVE_ERRORS

    spec = fake_spec(trials=10, trial_fn=f"{__name__}:broken_trial")  # 60 trials
    with pytest.raises(SweepAbortedError, match="compiled core not built") as err:
        run_sweep(spec, tmp_path / "s.sqlite", workers=0, progress=False)
    assert f"{MAX_CONSECUTIVE_ERRORS} trials in a row" in str(err.value)
    assert len(_rows(tmp_path / "s.sqlite", spec)) == MAX_CONSECUTIVE_ERRORS
    argv = ["sweep", "--n", "3", "--alpha", "4", "--trials", "20", "--workers", "0",
            "--trial-fn", f"{__name__}:broken_trial", "--store", str(tmp_path / "c.sqlite"),
            "--no-progress"]  # fmt: skip
    assert run_cli(argv) == 2
    out = capsys.readouterr().err
    assert out.count("\n") == 1 and "in a row failed" in out


@pytest.mark.parametrize(
    "kwargs, argument",
    [
        ({"executor": "slurm"}, "executor"),
        ({"workers": -1}, "workers"),
        ({"workers": 0, "executor": "ray"}, "workers"),
        ({"address": "auto"}, "address"),
    ],
)
def test_bad_run_arguments_are_named_as_the_library_names_them(tmp_path, kwargs, argument):
    """The message opens with the parameter's name and names no CLI flag (the CLI does)."""
    with pytest.raises(InvalidArgumentError) as err:
        run_sweep(fake_spec(), tmp_path / "s.sqlite", **kwargs)
    assert err.value.argument == argument
    assert str(err.value).startswith(f"{argument} ") and "--" not in str(err.value)
    assert not (tmp_path / "s.sqlite").exists()


def test_bad_arguments(tmp_path):
    spec = fake_spec()
    with pytest.raises(SpecError, match="cannot import"):
        run_sweep(spec, tmp_path / "s.sqlite", trial_fn="injcheck.sweep.trials:nothing")
    with pytest.raises(SpecError, match="module-level"):
        run_sweep(spec, tmp_path / "s.sqlite", trial_fn=lambda task: {})
    assert not (tmp_path / "s.sqlite").exists()


def test_injected_trial_fn_changes_the_hash(tmp_path):
    from injcheck.sweep.trials import noop_trial

    spec = fake_spec()
    res = run_sweep(spec, tmp_path / "s.sqlite", workers=0, progress=False, trial_fn=noop_trial)
    assert res.spec_hash != spec.spec_hash and res.counts == {"unknown": spec.n_trials}


def test_worker_count_does_not_change_rows(tmp_path):
    # A short sleep so that both pool workers take trials.
    options = (("fail_rate", 0.1), ("unknown_rate", 0.1), ("sleep", 0.02))
    spec = fake_spec(trials=6, trial_options=options)
    run_sweep(spec, tmp_path / "w0.sqlite", workers=0, progress=False)
    run_sweep(spec, tmp_path / "w2.sqlite", workers=2, progress=False)
    reference = _rows(tmp_path / "w0.sqlite", spec)
    assert _rows(tmp_path / "w2.sqlite", spec) == reference
    with Store(tmp_path / "w2.sqlite") as store:
        workers = {r["worker"] for r in store.rows(spec.spec_hash)}
    assert len(workers) == 2  # both processes took trials
    statuses = {r["status"] for r in reference}
    assert statuses == {"injective", "non-injective", "unknown"}


@pytest.mark.parametrize("workers", [0, 2])
def test_stop_time_drains_in_flight_trials_and_a_rerun_finishes(tmp_path, workers, monkeypatch):
    from injcheck.sweep import runner

    reads = iter(range(10**6))  # a clock that passes the stop time at its 10th reading
    monkeypatch.setattr(runner, "_now", lambda: 0.0 if next(reads) < 10 else 2.0)
    spec = fake_spec(trials=6)  # 36 trials
    path = tmp_path / "s.sqlite"
    first = run_sweep(spec, path, workers=workers, progress=False, stop_at=1.0)
    assert 0 < first.ran < spec.n_trials
    assert first.not_started == spec.n_trials - first.ran
    assert "not started" in first.summary()
    assert len(_rows(path, spec)) == first.ran  # every trial started was stored
    late = run_sweep(spec, path, workers=workers, progress=False, stop_at=1.0)  # clock at 2
    assert late.ran == 0 and late.not_started == spec.n_trials - first.ran
    rest = run_sweep(spec, path, workers=workers, progress=False)
    assert rest.ran == first.not_started and rest.not_started == 0
    run_sweep(spec, tmp_path / "one.sqlite", workers=0, progress=False)
    assert _rows(path, spec) == _rows(tmp_path / "one.sqlite", spec)


def test_until_before_now_means_tomorrow():
    from injcheck.sweep import next_utc_time

    day = 20_000 * 86400.0  # a UTC midnight
    evening = day + 22 * 3600 + 30 * 60
    assert next_utc_time("23:00", evening) == day + 23 * 3600
    assert next_utc_time("01:00", evening) == day + 86400 + 3600
    assert next_utc_time("22:30", evening) == day + 86400 + 22.5 * 3600
    for bad in ("25:00", "7", "ab:cd", "12:60"):
        with pytest.raises(InvalidArgumentError, match="HH:MM"):
            next_utc_time(bad, evening)


def test_cli_until_is_one_line_and_exit_2(tmp_path, capsys):
    argv = ["sweep", "--n", "3", "--alpha", "4", "--trials", "1", "--trial-fn", FAKE,
            "--store", str(tmp_path / "s.sqlite"), "--no-progress"]  # fmt: skip
    assert run_cli(argv + ["--until", "9am"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--until" in err and "HH:MM" in err
    assert run_cli(argv + ["--until", "23:59"]) == 0  # a valid time runs (1 trial, at once)
    assert "1 run" in capsys.readouterr().out


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False
    except OSError:  # no /proc: fall back to signal 0
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")
def test_kill_9_and_resume(tmp_path, driver):
    """kill -9 a running `injcheck sweep` with 2 workers, re-run, compare with a clean run."""
    config = tmp_path / "s.toml"
    config.write_text(
        'n = [3, 4]\nalpha = "3:6:1.5"\ntrials = 6\n'
        f'trial_fn = "{FAKE}"\n[trial_options]\nsleep = 0.1\nfail_rate = 0.1\n'
    )
    spec = SweepSpec(
        n=(3, 4),
        alpha=(3.0, 4.5, 6.0),
        trials=6,
        trial_fn=FAKE,
        trial_options=(("sleep", 0.1), ("fail_rate", 0.1)),
    )
    store = tmp_path / "s.sqlite"
    argv = ["sweep", "--config", str(config), "--store", str(store), "--no-progress"]
    proc = subprocess.Popen(
        [sys.executable, driver, *argv, "--workers", "2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    deadline = time.time() + 120
    done = 0
    while time.time() < deadline and proc.poll() is None:
        if store.exists():
            try:
                with sqlite3.connect(f"file:{store}?mode=ro", uri=True) as db:
                    done = db.execute("SELECT COUNT(*) FROM trials").fetchone()[0]
            except sqlite3.OperationalError:
                done = 0
        if done >= 8:
            break
        time.sleep(0.05)
    assert proc.poll() is None, f"sweep ended before the kill: {proc.communicate()}"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    proc.stdout.close()
    proc.stderr.close()

    with Store(store) as db:
        killed_rows = db.rows(spec.spec_hash)
    assert 8 <= len(killed_rows) < spec.n_trials
    # The workers notice their driver is gone and exit (no orphans left computing).
    pids = {int(r["worker"].rsplit(":", 1)[1]) for r in killed_rows}
    deadline = time.time() + 10
    while time.time() < deadline and any(_alive(p) for p in pids):
        time.sleep(0.1)
    assert not any(_alive(p) for p in pids)

    assert run_cli(argv + ["--workers", "0"]) == 0
    run_sweep(spec, tmp_path / "clean.sqlite", workers=0, progress=False)
    resumed, clean = _rows(store, spec), _rows(tmp_path / "clean.sqlite", spec)
    assert resumed == clean and len(resumed) == spec.n_trials
    with sqlite3.connect(store) as db:
        dup = db.execute(
            "SELECT COUNT(*) FROM (SELECT 1 FROM trials "
            "GROUP BY spec_hash, point_key, trial HAVING COUNT(*) > 1)"
        ).fetchone()[0]
    assert dup == 0


@pytest.mark.slow
def test_ray_executor_matches_local(tmp_path):
    ray = pytest.importorskip("ray", reason="ray is not installed (pip install 'injcheck[ray]')")
    spec = fake_spec(trials=3, trial_options=(("fail_rate", 0.2),))
    run_sweep(spec, tmp_path / "local.sqlite", workers=0, progress=False)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        res = run_sweep(spec, tmp_path / "ray.sqlite", executor="ray", workers=2, progress=False)
    finally:
        ray.shutdown()
    assert res.ran == spec.n_trials
    assert _rows(tmp_path / "ray.sqlite", spec) == _rows(tmp_path / "local.sqlite", spec)


@pytest.mark.slow
def test_worker_crash_blames_only_the_culprit(tmp_path):
    from injcheck.sweep.trials import _unit, fake_trial

    spec = fake_spec(n=(3,), alpha=(3.0, 6.0), trials=3, trial_options=(("crash_rate", 0.25),))
    tasks = [t for _, t, _ in plan_tasks(spec, {})]
    culprits = {(t.point_key, t.trial) for t in tasks if _unit(t.seed, "crash") < 0.25}
    assert 1 <= len(culprits) < len(tasks)  # the fixed seeds give a mix
    run_sweep(spec, tmp_path / "s.sqlite", workers=2, progress=False)
    rows = {(r["point_key"], r["trial"]): r for r in _rows(tmp_path / "s.sqlite", spec)}
    assert len(rows) == len(tasks)
    for t in tasks:
        row = rows[(t.point_key, t.trial)]
        if (t.point_key, t.trial) in culprits:
            assert row["status"] == "unknown" and "worker process died" in row["message"]
        else:
            assert row["status"] == fake_trial(t)["status"]
