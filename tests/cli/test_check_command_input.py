"""`injcheck check` refuses, in one line with exit code 2 and before any work, options
that do not apply, seeds beyond 64 bits, huge architectures, empty list fields, boxes
beyond float64 and proof paths that cannot or must not be written."""

import hashlib

import numpy as np
import pytest

from injcheck.cli import main


def refused(capsys, *argv) -> str:
    code = main(["check", *argv])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err, err
    assert len(err.strip().splitlines()) == 1, err
    return err


@pytest.fixture
def files(tmp_path):
    w = np.random.default_rng(0).standard_normal((12, 3))
    np.save(tmp_path / "w.npy", w)
    np.savez(tmp_path / "wb.npz", W1=w, b1=np.ones(12), layout="relu")
    np.save(tmp_path / "cplx.npy", w + 1j)
    return tmp_path


@pytest.mark.parametrize(
    "argv, fragment",
    [
        (["--arch", "3,,12"], "--arch must be comma-separated integers"),
        (["--arch", "3,12,"], "--arch must be comma-separated integers"),
        (["--arch", "3,12", "--mode", "pointwise", "--x0", "1,,2"], "--x0 must be"),
        (["--arch", "3,12", "--seed", str(2**64)], "--seed must be in 0..2**64-1"),
        (["--arch", "3,100000000000"], "weight entries"),
        (["--arch", "1000000,1000000"], "weight entries"),
    ],
)
def test_bad_arch_seed_and_lists(capsys, argv, fragment):
    assert fragment in refused(capsys, *argv)


def test_options_that_do_not_apply_to_the_file(capsys, files):
    w = str(files / "w.npy")
    assert "--trust-pickle only applies to .pt" in refused(capsys, "--weights", w, "--trust-pickle")
    assert "tanh" in refused(capsys, "--weights", w, "--layout", "tanh")
    assert "one Linear with no ReLU" in refused(capsys, "--weights", w, "--layout", "final-linear")
    assert main(["check", "--weights", w, "--layout", "relu", "--json"]) == 0
    assert "complex" in refused(capsys, "--weights", str(files / "cplx.npy"))


def test_boxes_beyond_float64_are_refused(capsys, files):
    err = refused(capsys, "--weights", str(files / "wb.npz"), "--box", "1e308")
    assert "too large" in err


def test_proof_paths_are_checked_before_the_check_runs(capsys, files):
    w = files / "w.npy"
    before = hashlib.md5(w.read_bytes()).hexdigest()
    assert "--weights file itself" in refused(capsys, "--weights", str(w), "--proof", str(w))
    assert hashlib.md5(w.read_bytes()).hexdigest() == before
    assert "does not exist" in refused(capsys, "--arch", "3,12", "--proof", "/nonexistent/d/p.json")
    assert "empty" in refused(capsys, "--arch", "3,12", "--proof", "")
    assert "is a directory" in refused(capsys, "--arch", "3,12", "--proof", str(files))
    other = files / "notes.json"
    other.write_text('{"mine": 1}')
    assert "not an injcheck proof" in refused(capsys, "--arch", "3,12", "--proof", str(other))
    assert other.read_text() == '{"mine": 1}'


def test_an_old_proof_is_overwritten(capsys, files):
    path = files / "p.json"
    for _ in range(2):  # the second run overwrites the first proof
        assert main(["check", "--arch", "3,12", "--proof", str(path)]) == 0
        assert "proof written to" in capsys.readouterr().out
    assert main(["verify-proof", str(path)]) == 0
