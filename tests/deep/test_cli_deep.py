"""``injcheck check`` in the deep modes (the lead's CLI passes them to check_deep)."""

import json
import subprocess
import sys

import pytest

pytest.importorskip("injcheck.cli.check")


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "injcheck", "check", *args],
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.parametrize("mode", ["global", "local"])
def test_deep_modes_json(mode):
    proc = run_cli("--arch", "3,6,6", "--seed", "0", "--mode", mode, "--time-limit", "60", "--json")
    assert proc.returncode == 0, proc.stderr
    verdict = json.loads(proc.stdout.strip().splitlines()[-1])
    assert verdict["mode"] == mode
    assert verdict["architecture"] == [3, 6, 6]
    assert verdict["status"] in ("injective", "non-injective", "unknown")
    if verdict["status"] == "non-injective":
        assert verdict["verification"]["exact_ok"] and verdict["verification"]["float_ok"]


def test_pointwise_json():
    proc = run_cli(
        "--arch", "2,8,8", "--seed", "1", "--mode", "pointwise", "--x0", "1,-0.5", "--json"
    )
    assert proc.returncode == 0, proc.stderr
    verdict = json.loads(proc.stdout.strip().splitlines()[-1])
    assert verdict["mode"] == "pointwise"
    if verdict["witness"] is not None:
        assert verdict["witness"]["x"] == [1.0, -0.5]


def test_pointwise_without_x0_is_a_usage_error():
    proc = run_cli("--arch", "2,8,8", "--mode", "pointwise")
    assert proc.returncode == 2
    assert "x0" in proc.stderr
