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
        (["check", "--arch", "2,4", "--time-limit", "-1"], "--time-limit"),
        (["check", "--arch", "2,4", "--box", "0"], "--box"),
        (["check", "--arch", "2,4", "--threads", "0"], "--threads"),
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


def test_weight_files_with_layouts_and_pickles(tmp_path):
    import torch
    from torch import nn

    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 12, bias=False), nn.ReLU(), nn.Linear(12, 14)).double()
    torch.save(model.state_dict(), tmp_path / "state.pt")
    torch.save(model, tmp_path / "module.pt")
    code, _, err = run_cli("check", "--weights", str(tmp_path / "state.pt"))
    assert code == 2 and "--layout" in err and len(err.strip().splitlines()) == 1
    code, _, err = run_cli("check", "--weights", str(tmp_path / "module.pt"))
    assert code == 2 and "--trust-pickle" in err and len(err.strip().splitlines()) == 1
    answers = set()
    for extra in (
        ["--weights", str(tmp_path / "state.pt"), "--layout", "final-linear"],
        ["--weights", str(tmp_path / "module.pt"), "--trust-pickle"],
    ):
        code, out, err = run_cli("check", *extra, "--json")
        assert code == 0, err
        data = json.loads(out)
        answers.add((data["status"], json.dumps(data["certificate"]["final_affine"])))
    assert len(answers) == 1  # the same network read two ways gets one verdict


def test_biases_need_box_by_its_flag_name(tmp_path):
    np.savez(tmp_path / "b.npz", W1=np.eye(2), b1=np.ones(2), layout="relu")
    code, _, err = run_cli("check", "--weights", str(tmp_path / "b.npz"))
    assert code == 2 and "--box" in err and "input_box" not in err


def test_negative_numbers_need_no_equals_sign():
    code, out, err = run_cli("check", "--arch", "2,8", "--mode", "pointwise", "--x0", "-1,0.5")
    assert code == 0, err
    code, _, err = run_cli("check", "--arch", "-3,4")
    assert code == 2 and "positive integers" in err


def test_a_closed_pipe_is_no_traceback():
    import os

    read_end, write_end = os.pipe()
    os.close(read_end)
    proc = subprocess.run(
        [sys.executable, "-m", "injcheck", "check", "--arch", "3,9", "--json"],
        stdout=write_end,
        stderr=subprocess.PIPE,
        text=True,
        timeout=300,
    )
    os.close(write_end)
    assert "Traceback" not in proc.stderr and proc.returncode == 141
