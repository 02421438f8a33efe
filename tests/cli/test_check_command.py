import json
import subprocess
import sys

import numpy as np
import pytest

from injcheck.cli import main


def run_cli(*args):
    proc = subprocess.run(
        [sys.executable, "-m", "injcheck", *args], capture_output=True, text=True, timeout=300
    )
    return proc.returncode, proc.stdout, proc.stderr


def test_check_arch_json():
    code, out, err = run_cli("check", "--arch", "3,6", "--seed", "0", "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["status"] in ("injective", "non-injective", "unknown")
    assert "witness" in data
    if data["status"] == "non-injective":
        assert set(data["witness"]) == {"x", "y"} and len(data["witness"]["x"]) == 3


def test_check_weights_files(tmp_path, capsys):
    w = np.vstack([np.eye(2), np.eye(2)])  # duplicated basis: x = (-1, -1) maps to 0
    np.save(tmp_path / "w.npy", w)
    assert main(["check", "--weights", str(tmp_path / "w.npy"), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["status"] == "non-injective" and data["witness"] is not None


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["check", "--arch", "5,x"], "--arch"),
        (["check", "--arch", "5"], "at least one width"),
        (["check", "--arch", "2,4", "--time-limit", "-1"], "time_limit"),
        (["check", "--weights", "/definitely/missing.npy"], "not found"),
        (["check", "--arch", "2,4", "--mode", "pointwise"], "x0"),
        (["check"], "required"),
    ],
)
def test_bad_input_is_one_line_exit_2(args, fragment):
    code, out, err = run_cli(*args)
    assert code == 2
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1 and fragment in err


def test_nan_weights_file(tmp_path):
    np.save(tmp_path / "nan.npy", np.array([[1.0, np.nan]]))
    code, _, err = run_cli("check", "--weights", str(tmp_path / "nan.npy"))
    assert code == 2 and "NaN" in err and "Traceback" not in err


def test_every_command_has_help():
    from injcheck.cli import build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    assert {"check", "theory", "sweep", "report"} <= set(sub.choices)
    for name, command in sub.choices.items():
        assert command.description or command.format_help(), name
        assert any(
            name in (c.dest, name) for c in sub._choices_actions if c.dest == name and c.help
        ), name
