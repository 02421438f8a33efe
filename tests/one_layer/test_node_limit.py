"""The node limit: a work limit whose verdicts do not depend on the machine or its load.

A search tree's node count is a property of the layer (and of the split, with threads),
so a limit on it decides exactly at the tree's size: one node short is ``unknown``, the
exact count is the proof. Witnesses and proofs found within the limit are kept.
"""

import numpy as np
import pytest

import injcheck
from injcheck.exceptions import InvalidArgumentError
from injcheck.one_layer import check_layer
from injcheck.one_layer.compiled import CompiledSearch
from injcheck.one_layer.gordan import GordanSearch
from injcheck.sweep.spec import SweepSpec


def injective_layers(count: int, n: int, m: int) -> list[np.ndarray]:
    """The first ``count`` injective layers among seeded Gaussian (m, n) layers."""
    found = []
    for seed in range(200):
        weight = np.random.default_rng([77, n, m, seed]).standard_normal((m, n))
        if check_layer(weight, method="gordan").status == "injective":
            found.append(weight)
        if len(found) == count:
            return found
    raise AssertionError("too few injective layers")  # pragma: no cover


@pytest.mark.parametrize("n, m", [(6, 40), (8, 56), (9, 60)])
def test_the_compiled_search_stops_exactly_at_its_tree_size(n, m):
    for weight in injective_layers(2, n, m):
        nodes = CompiledSearch(weight, limit=n - 1).run().stats["nodes"]
        short = CompiledSearch(weight, limit=n - 1, node_limit=nodes - 1).run()
        enough = CompiledSearch(weight, limit=n - 1, node_limit=nodes).run()
        assert short.outcome == "node-limit" and "node limit" in short.message
        assert enough.outcome == "exhausted" and enough.stats["nodes"] == nodes


def test_a_node_limited_search_is_the_same_for_any_number_of_threads():
    # Split over threads, which subtree uses up a shared count first would depend on timing
    # (a witness found or not); so a node-limited search runs whole, on one thread.
    layers = [np.random.default_rng([5, 55]).standard_normal((52, 8))]
    layers += injective_layers(2, 8, 56)
    for weight in layers:
        nodes = CompiledSearch(weight, limit=7).run().stats["nodes"]
        for limit in (nodes // 3, nodes - 1, nodes):
            runs = {
                (r.outcome, r.stats["nodes"])
                for workers in (None, 1, 2, 3, 3, 3)
                for r in [CompiledSearch(weight, limit=7, workers=workers, node_limit=limit).run()]
            }
            assert len(runs) == 1, runs
            one, three = (injcheck.check(weight, node_limit=limit, threads=t) for t in (1, 3))
            assert (one.status, one.solver_status) == (three.status, three.solver_status)


def test_the_python_search_stops_exactly_at_its_tree_size():
    for weight in injective_layers(2, 6, 36):
        nodes = GordanSearch(weight, limit=5).run().stats["nodes"]
        assert GordanSearch(weight, limit=5, node_limit=nodes - 1).run().outcome == "node-limit"
        assert GordanSearch(weight, limit=5, node_limit=nodes).run().outcome == "exhausted"


@pytest.mark.parametrize("method", ["gordan", "gordan-python", "auto"])
def test_check_under_a_node_limit_is_unknown_or_the_true_verdict(method):
    # Whatever the limit, a decided verdict is the one found without a limit, and the
    # same call gives the same verdict twice.
    rng = np.random.default_rng(5)
    for _ in range(6):
        n = int(rng.integers(4, 8))
        m = int(rng.integers(5 * n, 8 * n))
        weight = rng.standard_normal((m, n))
        truth = injcheck.check(weight, method="gordan").status
        for limit in (1, 5, 50, 10**6):
            first = injcheck.check(weight, method=method, node_limit=limit)
            again = injcheck.check(weight, method=method, node_limit=limit)
            assert first.status in (truth, "unknown")
            assert (first.status, first.solver_status) == (again.status, again.solver_status)
            if first.status == "unknown":
                assert first.solver_status == "node-limit"
        assert injcheck.check(weight, method=method, node_limit=10**6).status == truth


def test_a_proof_is_kept_when_the_p_star_search_reaches_the_node_limit():
    weight = injective_layers(1, 8, 60)[0]
    decision = injcheck.check(weight, method="gordan").stats["nodes"]
    p_star = injcheck.check(weight, method="gordan", exact_value=True).certificate["p_star"]
    verdict = injcheck.check(weight, method="gordan", exact_value=True, node_limit=decision)
    assert verdict.status == "injective"
    assert verdict.certificate["p_star_lower"] >= 8
    assert "p_star" not in verdict.certificate  # the P* search needs more nodes than that
    assert "node limit" in verdict.message
    # The best cell the stopped search found still bounds P* from above.
    assert verdict.certificate["p_star_upper"] >= p_star


@pytest.mark.parametrize(
    "network, kwargs, words",
    [
        (np.ones((6, 2)) * [1, -1], {"node_limit": 0}, "from 1 to"),
        (np.eye(3), {"node_limit": True}, "positive integer"),
        (np.eye(3), {"node_limit": 2.5}, "positive integer"),
        (np.eye(3), {"node_limit": 2**63}, "2\\*\\*62"),
        ([np.eye(3), np.eye(3)], {"node_limit": 10}, "one-layer"),
        (np.eye(3), {"node_limit": 10, "method": "milp"}, "no nodes"),
        (np.eye(3), {"node_limit": 10, "method": "brute"}, "no nodes"),
    ],
)
def test_a_bad_node_limit_is_one_clear_error(network, kwargs, words):
    with pytest.raises(InvalidArgumentError, match=words):
        injcheck.check(network, **kwargs)


def test_sweeps_without_a_node_limit_keep_their_stored_hash():
    # Pinned: these are the hashes of the same settings before node_limit existed, so a
    # store written then resumes into the same sweep.
    assert SweepSpec(n=[3], alpha=[2.0, 3.0]).spec_hash == "1449089afb4e05aa"
    spec = SweepSpec(n=[5, 6], alpha=[4.0], time_limit=None, exact_value=False, method="gordan")
    assert spec.spec_hash == "967fca563515ba11"
    with_limit = SweepSpec(n=[3], alpha=[2.0, 3.0], node_limit=1000)
    assert with_limit.spec_hash != "1449089afb4e05aa"
    assert SweepSpec.from_dict(with_limit.to_dict()).spec_hash == with_limit.spec_hash
