"""Public API of ``injcheck.theory``: methods, validation, reference lines."""

import pytest

from injcheck import theory
from injcheck.exceptions import InvalidArgumentError


@pytest.fixture(scope="module")
def _api_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("api-cache")


@pytest.fixture(autouse=True)
def _shared_cache(_api_dir, monkeypatch):
    # one cache for the module, and fewer levels than the defaults: keeps the suite fast
    monkeypatch.setenv("INJCHECK_CACHE_DIR", str(_api_dir))
    monkeypatch.setattr(theory, "FRSB_KMAX", 4)
    monkeypatch.setattr(theory, "FRSB_KMAX_GROUND_STATE", 3)


def test_capacity_methods_ordered():
    vals = [theory.capacity(m) for m in ("rs", "1rsb", "2rsb", "3rsb", "frsb")]
    assert all(a > b for a, b in zip(vals, vals[1:]))
    assert vals[0] == pytest.approx(7.6477, abs=1e-4)
    assert vals[-1] == pytest.approx(6.698, abs=1e-3)


def test_ground_state_methods():
    assert theory.ground_state(1.5, "1rsb") == 0.0
    e = [theory.ground_state(5.0, m) for m in ("rs", "1rsb", "2rsb", "frsb")]
    assert e == sorted(e)
    assert theory.ground_state(5.0, "1rsb") == pytest.approx(0.5419495, abs=1e-6)


@pytest.mark.parametrize("bad", ["xrsb", "0rsb", "", "rsb1"])
def test_bad_method(bad):
    with pytest.raises(InvalidArgumentError, match="method"):
        theory.capacity(bad)


@pytest.mark.parametrize("bad", [-1.0, float("nan"), "abc", float("inf"), 500.0])
def test_bad_alpha(bad):
    with pytest.raises(InvalidArgumentError, match="alpha"):
        theory.ground_state(bad, "rs")


def test_reference_lines_order_and_provenance():
    ref = theory.reference_lines(kmax=4)
    order = ["trivial", "puthawala_witness", "dAT", "frsb", "rs", "euler"]
    vals = [ref[k]["alpha"] for k in order]
    assert vals == sorted(vals)
    assert ref["euler"]["computed"] is False


def test_deep_table_validation():
    with pytest.raises(InvalidArgumentError, match="depth"):
        theory.deep_table(0)
    rows = theory.deep_table(2)
    assert rows[0]["m_over_n"] == pytest.approx(theory.capacity("rs"), abs=1e-9)
