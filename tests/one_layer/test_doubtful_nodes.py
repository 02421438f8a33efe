"""Nodes whose certificate LP the core cannot settle in floating point (near-degenerate).

Such a node neither prunes nor counts as a witness: deciding, the core branches on every
free row (exact without settling the node); minimising, or without room for a row, it
stops with trouble. Real occurrences are rare (two layers of the study at n = 14-15), so the
tests force them with the core's test knob ``set_doubt_every`` (every k-th node without an
active certificate and with room for a row) on ordinary layers.
"""

import numpy as np
import pytest

from injcheck.networks import as_layers, random_relu_net
from injcheck.one_layer.compiled import CompiledSearch
from injcheck.one_layer.gordan import GordanSearch


def layer(index: int) -> np.ndarray:
    rng = np.random.default_rng([4141, index])
    n = int(rng.integers(2, 8))
    m = int(rng.integers(n + 1, 8 * n + 1))
    return rng.standard_normal((m, n))


def run_with_doubts(weight: np.ndarray, every: int, minimise=False, anywhere=False):
    n = weight.shape[1]
    search = CompiledSearch(weight, limit=n - 1, minimise=minimise)
    core = search._core()
    core.set_doubt_every(every, anywhere=anywhere)
    return core.run(), search


@pytest.mark.parametrize("every", [2, 3])
def test_forced_doubts_keep_the_decision_exact(every):
    through_doubts = {"found": 0, "exhausted": 0}
    for index in range(60):
        weight = layer(index)
        reference = GordanSearch(weight, limit=weight.shape[1] - 1).run().outcome
        out, search = run_with_doubts(weight, every)
        assert out["outcome"] == reference, (index, weight.shape)
        if out["outcome"] == "found":  # the witness set is a real cell
            assert search.finish(out).x is not None
        through_doubts[out["outcome"]] += out["stats"]["doubtful_nodes"] > 0
    assert min(through_doubts.values()) >= 5, through_doubts


@pytest.mark.parametrize("every", [3, 5])
def test_doubts_at_every_call_site_never_give_a_wrong_answer(every):
    # Doubts in the bounds (packing, transversal, hitting set), the LP branching choice and
    # nodes without room: each either does not prune or stops the search with trouble.
    outcomes = {"found": 0, "exhausted": 0, "trouble": 0}
    decided_through_doubts = 0
    for index in range(60):
        weight = layer(index)
        reference = GordanSearch(weight, limit=weight.shape[1] - 1).run().outcome
        out, search = run_with_doubts(weight, every, anywhere=True)
        outcomes[out["outcome"]] += 1
        if out["outcome"] == "trouble":
            continue
        assert out["outcome"] == reference, (index, weight.shape)
        if out["outcome"] == "found":
            assert search.finish(out).x is not None
        decided_through_doubts += out["stats"]["doubtful_nodes"] > 0
    assert min(outcomes["found"], outcomes["exhausted"]) >= 10, outcomes
    assert decided_through_doubts >= 15


def test_a_doubt_while_minimising_is_trouble_not_a_wrong_count():
    troubles = 0
    for index in range(30):
        weight = layer(index)
        out, _ = run_with_doubts(weight, 2, minimise=True)
        if out["stats"]["doubtful_nodes"] > 0:
            assert out["outcome"] == "trouble"
            troubles += 1
    assert troubles > 0


def test_the_n14_layer_that_once_fell_back_to_python_stays_in_the_core():
    # Study trial n = 14, m = 79, trial 302: at node 103,644 a certificate LP's basis had a
    # weight of -6e-9 (0 within rounding of the hull). The core used to stop there with
    # trouble and hand the whole search to the Python fallback, which timed out (an
    # unknown). Since the packing extension stops at phase 1 (2026-12-05) the search takes
    # another path and meets no such LP (rejected_certificates = 0, exhausted after
    # 434,865 nodes); the doubtful paths are covered by the forced doubts above.
    net = random_relu_net(14, [79], seed=2215902005019723668)
    weight = as_layers(net)[0].weight.astype(float)
    result = CompiledSearch(weight, limit=13, node_limit=150_000).run()
    assert result.stats["engine"] == "compiled"
    assert result.outcome == "node-limit"
    assert result.stats["nodes"] == 150_001


@pytest.mark.parametrize("anywhere", [False, True])
def test_forced_doubts_under_the_worker_split(monkeypatch, anywhere):
    # The split builds its own cores (a probe for the regions, one per region), so the knob
    # goes on every core the search makes. A doubt at the probe means "no split there"; one
    # inside a region branches or ends in trouble (then the Python fallback decides).
    # Either way the outcome is exact and the same for any number of workers.
    make_core = CompiledSearch._core

    def doubting_core(self):
        core = make_core(self)
        core.set_doubt_every(3, anywhere=anywhere)
        return core

    monkeypatch.setattr(CompiledSearch, "_core", doubting_core)
    split_with_doubts = 0
    for index in range(40):
        weight = layer(index)
        limit = weight.shape[1] - 1
        reference = GordanSearch(weight, limit=limit).run().outcome
        by_workers = {w: CompiledSearch(weight, limit=limit, workers=w).run() for w in (1, 2)}
        for result in by_workers.values():
            assert result.outcome == reference, (index, weight.shape)
        one, two = by_workers[1].stats, by_workers[2].stats
        assert one.get("nodes") == two.get("nodes"), index
        split_with_doubts += "subtrees" in one and one.get("doubtful_nodes", 0) > 0
    assert split_with_doubts >= 5
