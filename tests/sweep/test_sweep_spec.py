import pytest
from sweep_helpers import FAKE, fake_spec, run_cli

from injcheck.cli import sweep as cli_sweep
from injcheck.exceptions import SpecError
from injcheck.sweep.spec import SweepSpec, load_toml, parse_range, parse_widths, widths_for


def test_range_includes_stop_on_the_grid():
    assert parse_range("3:8:0.5", "alpha")[-1] == 8.0
    assert len(parse_range("3:8:0.5", "alpha")) == 11
    assert parse_range("3:8:0.1", "alpha")[3] == 3.3  # no float drift
    assert parse_range("3:4.9:0.5", "alpha") == (3.0, 3.5, 4.0, 4.5)
    assert parse_range("2,3.5", "alpha") == (2.0, 3.5)


@pytest.mark.parametrize(
    "text, word",
    [
        ("8:3", "stop < start"),
        ("3:8:0", "step"),
        ("3:x", "numbers"),
        ("1:2:3:4", "start:stop"),
        ("", "empty"),
    ],
)
def test_bad_range_names_the_option(text, word):
    with pytest.raises(SpecError, match="alpha") as err:
        parse_range(text, "alpha")
    assert word in str(err.value)


def test_width_rules_and_rounding():
    assert widths_for(4, 3.5, 2, "per-layer") == (14, 49)
    assert widths_for(4, 3.5, 2, "equal") == (14, 14)
    assert widths_for(3, 3.5, 1, "per-layer") == (11,)  # half rounds up, not to even
    assert parse_widths("12;16,32") == ((12,), (16, 32))


def test_points_dedupe_and_realised_alpha():
    spec = SweepSpec(n=(2,), alpha=(3.0, 3.1, 3.5), trials=1)
    points = list(spec.points())
    assert [p.widths for p in points] == [(6,), (7,)]
    assert points[1].alpha == 3.5 and points[1].alpha_nominal == 3.5
    deep = SweepSpec(n=(4,), alpha=(2.0,), depth=3, trials=1)
    (p,) = deep.points()
    assert p.widths == (8, 16, 32) and p.alpha == pytest.approx(2.0)
    assert spec.n_trials == 2


def test_hash_covers_results_not_extent():
    base = fake_spec()
    assert base.spec_hash == fake_spec(trials=40, n=(3, 4, 5), alpha=(2.0,)).spec_hash
    for change in (
        dict(seed=1),
        dict(method="brute"),
        dict(time_limit=5),
        dict(exact_value=False),
        dict(mode="local"),
        dict(trial_fn="injcheck.sweep.trials:noop_trial"),
        dict(trial_options=(("sleep", 0.1),)),
        dict(depth=2),
    ):
        assert fake_spec(**change).spec_hash != base.spec_hash, change
    assert SweepSpec.from_dict(base.to_dict()) == base


@pytest.mark.parametrize(
    "kwargs, word",
    [
        (dict(n=(0,), alpha=(3.0,)), "n"),
        (dict(n=(3,), alpha=(-1.0,)), "alpha"),
        (dict(n=(3,)), "exactly one"),
        (dict(n=(3,), alpha=(3.0,), widths=((9,),)), "exactly one"),
        (dict(n=(3,), widths=((9,), (9, 9))), "same depth"),
        (dict(n=(3,), alpha=(3.0,), trials=0), "trials"),
        (dict(n=(3,), alpha=(3.0,), mode="nope"), "mode"),
        (dict(n=(3,), alpha=(3.0,), time_limit=-1), "time_limit"),
        (dict(n=(3,), alpha=(3.0,), seed=-1), "seed"),
        (dict(n=(3,), alpha=(3.0,), trial_fn="nocolon"), "trial_fn"),
        (dict(n=(3,), alpha=(3.0,), width_rule="odd"), "width_rule"),
    ],
)
def test_bad_spec(kwargs, word):
    with pytest.raises(SpecError, match=word):
        SweepSpec(**kwargs)


def test_toml(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text(
        '[sweep]\nn = [3, 4]\nalpha = "3:5:1"\ntrials = 7\nmethod = "brute"\n'
        '[sweep.trial_options]\nsleep = 0.0\n[run]\nstore = "x.sqlite"\nworkers = 2\n'
    )
    settings, run = load_toml(path)
    spec = SweepSpec(**settings)
    assert spec.n == (3, 4) and spec.alpha == (3.0, 4.0, 5.0) and spec.trials == 7
    assert dict(spec.trial_options) == {"sleep": 0.0}
    assert run == {"store": "x.sqlite", "workers": 2}
    path.write_text("n = [3]\nalpha = [3.0]\nbogus = 1\n")
    with pytest.raises(SpecError, match="bogus"):
        load_toml(path)
    with pytest.raises(SpecError, match="not found"):
        load_toml(tmp_path / "missing.toml")
    path.write_text("n = [3\n")
    with pytest.raises(SpecError, match="cannot read"):
        load_toml(path)


def test_example_toml_is_valid():
    import pathlib

    example = pathlib.Path(__file__).parents[2] / "experiments" / "sweep_example.toml"
    settings, run = load_toml(example)
    assert SweepSpec(**settings).n_trials > 0
    assert set(run) <= {"store", "workers", "executor", "address", "rerun"}


def test_cli_overrides_config(tmp_path):
    import argparse

    path = tmp_path / "s.toml"
    path.write_text('n = [3]\nwidths = "9;12"\ntrials = 2\nseed = 5\n[run]\nstore = "a.sqlite"\n')
    parser = argparse.ArgumentParser()
    cli_sweep.register(parser.add_subparsers())
    args = parser.parse_args(
        [
            "sweep",
            "--config",
            str(path),
            "--alpha",
            "3,4",
            "--seed",
            "6",
            "--store",
            "b.sqlite",
            "--time-limit",
            "none",
            "--no-exact-value",
        ]
    )
    spec, run = cli_sweep.spec_from_args(args)
    assert spec.alpha == (3.0, 4.0) and spec.widths is None and spec.seed == 6 and spec.trials == 2
    assert spec.time_limit is None and spec.exact_value is False
    assert run["store"] == "b.sqlite"


@pytest.mark.parametrize(
    "argv, word",
    [
        (["sweep", "--n", "3,x", "--alpha", "3:4", "--store", "s.sqlite"], "n must be"),
        (["sweep", "--n", "3", "--alpha", "8:3", "--store", "s.sqlite"], "alpha"),
        (["sweep", "--n", "3", "--store", "s.sqlite"], "--alpha or --widths"),
        (["sweep", "--n", "3", "--alpha", "3"], "--store"),
        (
            ["sweep", "--n", "3", "--alpha", "3", "--store", "s.sqlite", "--time-limit", "soon"],
            "--time-limit",
        ),
        (
            [
                "sweep",
                "--n",
                "3",
                "--alpha",
                "3",
                "--store",
                "s.sqlite",
                "--trial-fn",
                "no.such:fn",
            ],
            "trial_fn",
        ),
        (
            ["sweep", "--n", "3", "--alpha", "3", "--store", "s.sqlite", "--address", "auto"],
            "--address",
        ),
        (["report", "--store", "missing.sqlite", "--out", "r"], "not found"),
    ],
)
def test_cli_bad_input_is_one_line_exit_2(argv, word, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert run_cli(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("injcheck: error:") and word in err and "\n" not in err


@pytest.mark.parametrize(
    "argv, start",
    [
        (["--workers=-1"], "--workers must be a non-negative integer, got -1"),
        (["--workers", "0", "--executor", "ray"], "--workers 0 (in this process) cannot be"),
        (["--address", "auto"], "--address is only used with the executor 'ray'"),
        (["--config", "missing.toml"], "--config: file not found: missing.toml"),
        (["--config", "slurm.toml"], "--executor must be one of ('local', 'ray'), got 'slurm'"),
        (["--config", "bad_run.toml"], "--config: unknown keys in [run]: ['bogus']"),
    ],
)
def test_cli_names_the_flag_of_a_library_argument(argv, start, tmp_path, monkeypatch, capsys):
    """The library's errors name its arguments; the CLI says the flag the user typed."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "slurm.toml").write_text('[run]\nexecutor = "slurm"\n')
    (tmp_path / "bad_run.toml").write_text("[run]\nbogus = 1\n")
    base = ["sweep", "--n", "3", "--alpha", "3", "--store", "s.sqlite", "--trial-fn", FAKE]
    assert run_cli(base + argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("injcheck: error: " + start) and err.count("\n") == 1, err


def test_cli_report_names_the_spec_flag(tmp_path, capsys):
    from injcheck.sweep.runner import run_sweep

    store = tmp_path / "s.sqlite"
    for seed in (1, 2):
        run_sweep(fake_spec(seed=seed), store, workers=0, progress=False)
    base = ["report", "--store", str(store), "--out", str(tmp_path / "r"), "--no-theory"]
    assert run_cli(base) == 2
    assert capsys.readouterr().err.startswith("injcheck: error: --spec is needed: store ")
    assert run_cli(base + ["--spec", "zzz"]) == 2
    assert capsys.readouterr().err.startswith("injcheck: error: --spec 'zzz' matches 0 sweeps")


def test_both_subcommands_have_help(capsys):
    import argparse

    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers()
    cli_sweep.register(sub)
    assert set(sub.choices) == {"sweep", "report"}
    for name, p in sub.choices.items():
        assert p.description, name
        assert all(a.help for a in p._actions if a.dest != "help"), name
    assert any(a.help for a in sub._choices_actions if a.dest == "sweep")


def test_dispatcher_runs_sweep(tmp_path, capsys):
    """Through the real ``injcheck`` entry point (skipped while another subcommand's
    module is missing from the dispatcher)."""
    from injcheck import cli

    try:
        cli.build_parser()
    except ImportError as exc:
        pytest.skip(f"injcheck.cli dispatcher cannot import its subcommands yet: {exc}")
    store = str(tmp_path / "s.sqlite")
    argv = [
        "sweep",
        "--n",
        "3",
        "--alpha",
        "3,6",
        "--trials",
        "2",
        "--store",
        store,
        "--workers",
        "0",
        "--trial-fn",
        FAKE,
        "--no-progress",
    ]
    assert cli.main(argv) == 0
    assert "4 run" in capsys.readouterr().out
    assert cli.main(["report", "--store", store, "--out", str(tmp_path / "r"), "--no-theory"]) == 0


def test_heuristic_sweeps_must_switch_exact_values_off():
    with pytest.raises(SpecError, match="no-exact-value"):
        SweepSpec(n=(20,), alpha=(5.0,), method="heuristic")
    assert SweepSpec(n=(20,), alpha=(5.0,), method="heuristic", exact_value=False).method
