"""``injcheck theory``: JSON keys, tables, cache use, one-line errors with exit code 2."""

import json

import pytest

from injcheck.cli import _Parser
from injcheck.cli import theory as cli_theory
from injcheck.exceptions import InjcheckError


def run_cli(argv, capsys):
    """Mirror of the dispatcher in ``injcheck.cli.main`` with only ``theory`` registered
    (so the test does not depend on the other subcommands being present)."""
    parser = _Parser(prog="injcheck")
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)
    cli_theory.register(sub)
    try:
        args = parser.parse_args(argv)
        rc = int(args.handler(args) or 0)
    except InjcheckError as exc:
        print(f"injcheck: error: {exc}", file=__import__("sys").stderr)
        rc = 2
    except SystemExit as exc:
        rc = exc.code
    out = capsys.readouterr()
    return rc, out.out, out.err


@pytest.fixture(scope="module")
def _shared_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("cli-cache")


@pytest.fixture(autouse=True)
def _shared_cache(_shared_dir, monkeypatch):
    # the CLI tests share one cache so that only the first one computes
    monkeypatch.setenv("INJCHECK_CACHE_DIR", str(_shared_dir))


FAST = ["theory", "--alpha", "5", "--kmax", "3", "--depth", "2"]


def test_json_keys_and_values(capsys, _shared_dir):
    rc, out, _ = run_cli(FAST + ["--json"], capsys)
    assert rc == 0
    d = json.loads(out)
    for m in ("rs", "1rsb", "2rsb", "3rsb", "frsb"):
        assert m in d["thresholds"]
        assert m in d["ground_state"]["5"]
    t = d["thresholds"]
    assert t["rs"] > t["1rsb"] > t["2rsb"] > t["3rsb"] >= t["frsb"]
    assert t["1rsb"] == pytest.approx(6.71570, abs=1e-5)
    assert len(d["deep"]["layers"]) == 2
    assert d["reference_lines"]["dAT"]["alpha"] == pytest.approx(5.3238, abs=2e-3)
    assert (_shared_dir / "theory.json").exists()
    # second call reads the cache and prints the same numbers
    rc2, out2, _ = run_cli(FAST + ["--json"], capsys)
    assert rc2 == 0 and json.loads(out2)["thresholds"] == t


def test_tables(capsys):
    rc, out, _ = run_cli(FAST, capsys)
    assert rc == 0
    assert "| 1rsb | 6.715697 |" in out
    assert "Deep nets" in out and "| 2 |" in out


@pytest.mark.parametrize(
    "argv,option",
    [
        (["--alpha", "abc"], "--alpha"),
        (["--alpha", "-3"], "--alpha"),
        (["--alpha", "3,nan"], "--alpha"),
        (["--alpha", ","], "--alpha"),
        (["--depth", "x"], "--depth"),
        (["--depth", "-1"], "--depth"),
        (["--kmax", "99"], "--kmax"),
        (["--alpha", "500"], "--alpha"),
    ],
)
def test_bad_input_one_line_exit_2(capsys, argv, option):
    rc, out, err = run_cli(["theory"] + argv, capsys)
    assert rc == 2
    assert err.count("\n") == 1 and option in err and err.startswith("injcheck: error:")


def test_help_text(capsys):
    rc, out, _ = run_cli(["theory", "--help"], capsys)
    assert rc == 0 and "--alpha" in out and "--json" in out
    assert cli_theory.HELP


def test_main_dispatcher_when_available(capsys):
    cli = pytest.importorskip("injcheck.cli")
    try:
        rc = cli.main(["theory", "--alpha", "abc"])
    except ImportError:
        pytest.skip("other subcommands not present yet")
    assert rc == 2
