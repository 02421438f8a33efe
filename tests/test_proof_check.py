"""Proof files of injective layers: written by the search, accepted by the independent
checker, and rejected once tampered with."""

import copy
import json
import subprocess
import sys

import numpy as np
import pytest

import injcheck
from injcheck.proof_check import verify_proof, verify_proof_file


def weight(n: int, seed: int) -> np.ndarray:
    return injcheck.random_relu_net(n, [7 * n], seed=seed)[0].weight.detach().numpy().astype(float)


@pytest.fixture(scope="module")
def proof(tmp_path_factory):
    path = tmp_path_factory.mktemp("proof") / "layer.json"
    verdict = injcheck.check(weight(6, 0), proof=str(path))
    assert verdict.status == "injective"
    assert verdict.certificate["proof"]["written"]
    with open(path) as f:
        return json.load(f)


def leaves(doc):
    return [i for i, node in enumerate(doc["tree"]) if node[0] != "branch"]


def test_written_proofs_check(proof):
    result = verify_proof(proof)
    assert result.ok, result.reason
    assert result.limit == 5 and result.nodes == len(proof["tree"]) > 3


@pytest.mark.parametrize("seed", range(6))
def test_proofs_of_several_layers_check_and_non_injective_layers_get_none(tmp_path, seed):
    path = tmp_path / "p.json"
    verdict = injcheck.check(weight(5, seed), method="gordan", proof=str(path))
    if verdict.status == "injective":
        assert verify_proof_file(str(path)).ok
    else:
        assert not verdict.certificate["proof"]["written"] and not path.exists()


def test_a_removed_leaf_is_rejected(proof):
    for index in leaves(proof)[:5]:
        doc = copy.deepcopy(proof)
        del doc["tree"][index]
        assert not verify_proof(doc).ok


def test_a_changed_multiplier_is_rejected(proof):
    for k in range(3):
        doc = copy.deepcopy(proof)
        lam = doc["certificates"][k]["lam"]
        lam[0] = str(int(lam[0]) + 1)
        assert not verify_proof(doc).ok
        doc["certificates"][k]["lam"][0] = "-" + proof["certificates"][k]["lam"][0]
        assert not verify_proof(doc).ok


def test_a_dropped_branch_is_rejected(proof):
    branches = [i for i, node in enumerate(proof["tree"]) if node[0] == "branch"]
    for index in branches[:5]:
        doc = copy.deepcopy(proof)
        doc["tree"][index][2] = doc["tree"][index][2][:-1]  # one row fewer released
        assert not verify_proof(doc).ok


def test_other_tampering_is_rejected(proof):
    doc = copy.deepcopy(proof)
    doc["weight"][0][0] = float.hex(float.fromhex(doc["weight"][0][0]) * 1.5)
    assert not verify_proof(doc).ok  # W changed: some certificate no longer sums to 0
    doc = copy.deepcopy(proof)
    doc["limit"] += 1  # a stronger claim than the tree proves
    assert not verify_proof(doc).ok
    doc = copy.deepcopy(proof)
    doc["tree"].append(doc["tree"][-1])
    assert not verify_proof(doc).ok
    pack = [i for i, node in enumerate(proof["tree"]) if node[0] == "pack"]
    if pack:
        doc = copy.deepcopy(proof)
        doc["tree"][pack[0]][1] = doc["tree"][pack[0]][1][:1]
        assert not verify_proof(doc).ok
    for bad in ({}, {"format": "x"}, {**proof, "certificates": "no"}, {**proof, "tree": [[]]}):
        assert not verify_proof(bad).ok


def test_cli_verify_proof_exit_codes(tmp_path, proof):
    good = tmp_path / "good.json"
    good.write_text(json.dumps(proof))
    bad = copy.deepcopy(proof)
    del bad["tree"][leaves(bad)[0]]
    badfile = tmp_path / "bad.json"
    badfile.write_text(json.dumps(bad))
    run = lambda *a: subprocess.run(  # noqa: E731
        [sys.executable, "-m", "injcheck", "verify-proof", *a], capture_output=True, text=True
    )
    ok = run(str(good))
    assert ok.returncode == 0 and "proof valid" in ok.stdout
    assert run(str(badfile)).returncode == 1
    missing = run(str(tmp_path / "missing.json"))
    assert missing.returncode == 2 and "Traceback" not in missing.stderr


def weaker_proof(proof):
    """A true proof of the weaker claim P*(W) >= 1 (limit 0): one certificate, one leaf."""
    return {**proof, "limit": 0, "certificates": proof["certificates"][:1], "tree": [["full", 0]]}


def test_a_proof_with_a_limit_other_than_n_minus_1_is_rejected(proof, tmp_path, capsys):
    assert verify_proof(proof).limit == proof["n"] - 1
    for limit in (0, proof["n"] - 2, proof["n"]):
        result = verify_proof({**weaker_proof(proof), "limit": limit})
        assert not result.ok and "limit" in result.reason
    path = tmp_path / "weak.json"
    path.write_text(json.dumps(weaker_proof(proof)))
    from injcheck.cli import main

    assert main(["verify-proof", str(path)]) == 1
    out = capsys.readouterr().out
    assert out.startswith("proof INVALID") and len(out.strip().splitlines()) == 1
    assert "injective" not in out
