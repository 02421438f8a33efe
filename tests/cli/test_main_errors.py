"""The CLI's last line of defence, and options refused instead of ignored."""

import pytest

import injcheck
from injcheck.cli import EXIT_BAD_INPUT, EXIT_INTERNAL, main
from injcheck.cli import check as check_cli
from injcheck.exceptions import InvalidArgumentError


def _boom(args):
    raise RuntimeError("something we did not foresee")


def test_unexpected_exception_is_one_line_exit_1(monkeypatch, capsys):
    monkeypatch.delenv("INJCHECK_DEBUG", raising=False)
    monkeypatch.setattr(check_cli, "run", _boom)
    assert main(["check", "--arch", "2,6"]) == EXIT_INTERNAL
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert "internal error: RuntimeError: something we did not foresee" in err


def test_debug_variable_reraises(monkeypatch):
    monkeypatch.setenv("INJCHECK_DEBUG", "1")
    monkeypatch.setattr(check_cli, "run", _boom)
    with pytest.raises(RuntimeError, match="did not foresee"):
        main(["check", "--arch", "2,6"])


@pytest.mark.parametrize(
    "argv",
    [
        ["check", "--arch", "2,6,6", "--exact-value"],
        ["check", "--arch", "2,6", "--mode", "pointwise", "--x0", "1,0", "--exact-value"],
        ["check", "--arch", "2,6", "--box", "1", "--exact-value"],
    ],
)
def test_exact_value_refused_where_it_does_not_apply(argv, capsys):
    assert main(argv) == EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "exact_value" in err


def test_exact_value_api():
    deep = injcheck.random_relu_net(2, [6, 6], seed=0)
    with pytest.raises(InvalidArgumentError, match="exact_value"):
        injcheck.check(deep, exact_value=True)
    layer = injcheck.random_relu_net(3, [12], seed=0)
    assert "p_star" in injcheck.check(layer, exact_value=True).certificate


@pytest.mark.parametrize("widths, mode", [((6, 6), "global"), ((6,), "pointwise")])
def test_sweep_trials_keep_running_with_exact_value_on(widths, mode):
    """A sweep's exact_value (default on) means 'P* where a trial has one': deep and
    pointwise trials must still run now that check() refuses the option for them."""
    from injcheck.sweep.trials import TrialTask, check_trial

    task = TrialTask(
        spec_hash="x",
        point_key="p",
        trial=0,
        seed=1,
        n=2,
        widths=widths,
        mode=mode,
        method="auto",
        time_limit=30.0,
        exact_value=True,
        trial_fn="injcheck.sweep.trials:check_trial",
    )
    record = check_trial(task)
    assert record["status"] in ("injective", "non-injective")
    assert "InvalidArgument" not in (record.get("message") or "")


@pytest.mark.parametrize(
    "argv, fragment",
    [
        (["check", "--arch", "3,12", "--box", "1e200"], "input_box is too large"),
        (
            ["check", "--arch", "3,12,12", "--mode", "pointwise", "--x0", "1e308,1e308,1e308"],
            "x0 is too large",
        ),
    ],
)
def test_overflowing_scales_refused(argv, fragment, capsys):
    assert main(argv) == EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and fragment in err


def test_box_bounds_are_measured_on_the_given_box(tmp_path, capsys):
    """Large entries on a tiny box are fine; the same net on a large box is refused."""
    import numpy as np

    rng = np.random.default_rng(0)
    path = tmp_path / "big.npz"
    np.savez(
        path,
        W1=rng.standard_normal((8, 2)) * 1e76,
        b1=rng.standard_normal(8),
        W2=rng.standard_normal((12, 8)) * 1e76,
        b2=rng.standard_normal(12),
        layout="relu",
    )
    refused = ["check", "--weights", str(path), "--box", "1", "--time-limit", "5"]
    assert main(refused) == EXIT_BAD_INPUT
    assert "layer 2 can reach" in capsys.readouterr().err
    tiny = ["check", "--weights", str(path), "--box", "1e-100", "--time-limit", "5"]
    assert main(tiny) != EXIT_BAD_INPUT, capsys.readouterr().err
