"""check(..., proof=PATH) never clobbers a file that is not a proof, and a path it cannot
write costs the proof, not the verdict."""

import numpy as np

import injcheck
from injcheck.one_layer.proof import proof_path_problem


def weight() -> np.ndarray:
    return injcheck.random_relu_net(3, [12], seed=0)[0].weight.detach().numpy().astype(float)


def test_a_file_that_is_not_a_proof_is_kept(tmp_path):
    victim = tmp_path / "data.npy"
    np.save(victim, weight())
    before = victim.read_bytes()
    verdict = injcheck.check(weight(), proof=str(victim))
    assert verdict.status == "injective"
    assert not verdict.certificate["proof"]["written"]
    assert "not an injcheck proof" in verdict.certificate["proof"]["why"]
    assert victim.read_bytes() == before


def test_unwritable_paths_cost_the_proof_not_the_verdict(tmp_path):
    for path in ("", str(tmp_path), str(tmp_path / "missing" / "p.json")):
        assert proof_path_problem(path) is not None
        verdict = injcheck.check(weight(), proof=path)
        assert verdict.status == "injective" and not verdict.certificate["proof"]["written"]


def test_new_empty_and_old_proof_files_may_be_written(tmp_path):
    path = tmp_path / "p.json"
    assert proof_path_problem(path) is None
    path.write_text("")
    assert proof_path_problem(path) is None
    assert injcheck.check(weight(), proof=str(path)).certificate["proof"]["written"]
    assert proof_path_problem(path) is None  # a proof: may be overwritten
