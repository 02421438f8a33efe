"""The compiled core (C++) against the pure-Python search, brute force and exact checks."""

from fractions import Fraction

import numpy as np
import pytest

import injcheck
from injcheck.budget import Budget
from injcheck.one_layer import _cellsearch, _p_star_gordan, check_layer
from injcheck.one_layer.compiled import (
    CompiledSearch,
    CoreOptions,
    check_certificate,
    p_star_compiled,
)
from injcheck.one_layer.geometry import certificate_is_exact
from injcheck.one_layer.gordan import GordanSearch

#: Core settings exercised by the agreement tests: the default, and every bound switched on.
SETTINGS = [
    CoreOptions(),
    CoreOptions(hs_room=6, hs_budget=5000, hs_rounds=5, hs_family=64, act_cap=50),
    CoreOptions(packing=False, act_cap=1),
    CoreOptions(warm_lp=False),  # every certificate LP cold (two-phase tableau)
    CoreOptions(transversal=False),  # the packing alone decides where the search stops
    CoreOptions(lp_branch=False),  # branch on the smallest active certificate only
]


def layer(index: int, low: int = 2, high: int = 9) -> np.ndarray:
    rng = np.random.default_rng([1616, index])
    n = int(rng.integers(low, high))
    m = int(rng.integers(n + 1, 8 * n + 1))
    return rng.standard_normal((m, n))


def test_the_compiled_core_is_built_and_used():
    weight = injcheck.random_relu_net(6, [36], seed=0)[0].weight.detach().numpy()
    for method in ("gordan", "auto"):
        verdict = injcheck.check(weight.astype(float), method=method)
        assert verdict.status == "injective"  # proven by the search, not the heuristic
        assert verdict.stats["engine"] == "compiled"
    assert check_layer(weight.astype(float), method="gordan-python").stats.get("engine") is None
    forced = CompiledSearch(weight.astype(float), limit=5).run()
    assert forced.stats["engine"] == "compiled"


@pytest.mark.parametrize("chunk", range(4))
def test_core_decision_agrees_with_python_search(chunk):
    """Same answer as GordanSearch on generic layers n = 2..8, for several core settings."""
    outcomes = []
    for index in range(chunk, 160, 4):
        weight = layer(index, 2, 8)
        n = weight.shape[1]
        reference = GordanSearch(weight, limit=n - 1).run().outcome
        for options in SETTINGS:
            result = CompiledSearch(weight, limit=n - 1, options=options).run()
            assert result.stats["engine"] == "compiled", result.stats
            assert result.outcome == reference, (index, weight.shape, options)
            if result.outcome == "found":
                # A witness cell: every row outside the allowed set strictly negative.
                assert result.allowed.sum() <= n - 1
                assert np.all(weight[~result.allowed] @ result.x < 0)
        outcomes.append(reference)
    assert "found" in outcomes and "exhausted" in outcomes


@pytest.mark.parametrize("index", range(40))
def test_core_p_star_agrees_with_iterative_deepening(index):
    weight = layer(500 + index, 2, 7)
    expected = _p_star_gordan(weight, Budget.unlimited(), compiled=False)[0]
    p_star, lower, x, stats, status = p_star_compiled(weight, None)
    assert (p_star, lower, status) == (expected, expected, "found")
    assert int(np.sum(weight @ x >= 0)) == p_star


@pytest.mark.parametrize("index", range(30))
def test_core_agrees_with_brute_force(index):
    weight = layer(900 + index, 2, 4)
    brute = check_layer(weight, method="brute")
    assert check_layer(weight, method="gordan").status == brute.status
    assert p_star_compiled(weight, None)[0] == brute.certificate["p_star"]


@pytest.mark.parametrize("n", [6, 8])
def test_check_layer_engines_agree_at_larger_n(n):
    for seed in range(3):
        weight = injcheck.random_relu_net(n, [6 * n], seed=seed)[0].weight.detach().numpy()
        weight = weight.astype(float)
        fast = check_layer(weight, method="gordan")
        slow = check_layer(weight, method="gordan-python")
        assert fast.status == slow.status != "unknown"


@pytest.mark.parametrize("n", [9, 10])
def test_transversal_bound_prunes_and_keeps_the_answer(n):
    """Same outcome with and without the transversal bound, fewer nodes with it."""
    for seed in range(3):
        weight = injcheck.random_relu_net(n, [7 * n], seed=seed)[0].weight.detach().numpy()
        weight = weight.astype(float)
        runs = {
            on: CompiledSearch(weight, limit=n - 1, options=CoreOptions(transversal=on)).run()
            for on in (False, True)
        }
        assert runs[True].outcome == runs[False].outcome != "timeout"
        assert runs[False].stats["pruned_by_transversal"] == 0
        if runs[True].outcome == "exhausted":
            assert runs[True].stats["pruned_by_transversal"] > 0
            assert runs[True].stats["nodes"] < runs[False].stats["nodes"]


def nongeneric_layers():
    rng = np.random.default_rng(16)
    base = rng.standard_normal((8, 3))
    yield "duplicate rows", np.vstack([base, base[:3]])
    yield "zero rows", np.vstack([base, np.zeros((2, 3))])
    yield "integer weights", rng.integers(-2, 3, size=(14, 3)).astype(float)
    yield "scaled copies", np.vstack([base, 2.0 * base])
    eye = np.eye(3)
    yield "signed basis", np.vstack([eye, -eye]), "injective"
    yield "collinear", np.array([[1.0, 0], [2.0, 0], [-1.0, 0], [-3.0, 0]])


@pytest.mark.parametrize("case", list(nongeneric_layers()), ids=lambda c: c[0])
def test_nongeneric_layers_never_take_the_count_route(case):
    weight = case[1]
    fast = check_layer(weight, method="gordan")
    slow = check_layer(weight, method="gordan-python")
    assert fast.status == slow.status
    assert fast.certificate["criterion"] == "rank"
    assert fast.stats.get("engine") != "compiled"
    if weight.shape[1] <= 4:
        assert fast.status == check_layer(weight, method="brute").status


def test_core_is_not_used_for_count_on_nongeneric_even_when_count_says_injective():
    weight = np.array([[1.0, 0], [2.0, 0], [-1.0, 0], [-3.0, 0]])
    assert p_star_compiled(weight, None)[4] == "trouble" or p_star_compiled(weight, None)[0] >= 2
    assert check_layer(weight).status == "non-injective"


def exact_weights(weight, support):
    """Rational Farkas weights on a support of n + 1 rows (Cramer's rule via Fractions)."""
    rows = [[Fraction(float(v)) for v in weight[i]] for i in support]
    n = len(rows[0])
    system = [[rows[j][c] for j in range(n + 1)] for c in range(n)] + [[Fraction(1)] * (n + 1)]
    rhs = [Fraction(0)] * n + [Fraction(1)]
    from injcheck.verify import solve_square

    return solve_square(system, rhs)


def test_safe_check_accepts_certificates_that_are_exact_and_rejects_others():
    rng = np.random.default_rng(3)
    accepted = rejected = 0
    for trial in range(300):
        n = int(rng.integers(2, 7))
        weight = rng.standard_normal((n + 1, n))
        if trial % 2 == 0:  # a true certificate, up to rounding: the last row closes the sum
            lam = rng.uniform(0.1, 1.0, n + 1)
            weight[-1] = -(lam[:-1] @ weight[:-1]) / lam[-1]
        support = list(range(n + 1))
        lam = check_certificate(weight, support)
        exact = exact_weights(weight, support)
        truly = exact is not None and all(v > 0 for v in exact)
        if lam is not None:
            accepted += 1
            assert truly and certificate_is_exact(weight, np.array(support))
            assert np.allclose(weight.T @ lam, 0, atol=1e-9) and abs(lam.sum() - 1) < 1e-9
        else:
            rejected += 1
            assert not truly or min(exact) < 1e-6  # only near-degenerate truths are refused
    assert accepted > 120 and rejected > 100


def test_safe_check_refuses_degenerate_supports():
    # n rows (too few), a repeated row, and 0 exactly on a face of the hull.
    assert check_certificate(np.array([[1.0, 0.0], [-1.0, 0.0]]), [0, 1]) is None
    weight = np.array([[1.0, 0.0], [1.0, 0.0], [-1.0, 0.0]])
    assert check_certificate(weight, [0, 1, 2]) is None
    weight = np.array([[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0]])
    assert check_certificate(weight, [0, 1, 2]) is None
    lam = check_certificate(np.array([[1.0, 1.0], [-1.0, 1.0], [0.0, -1.0]]), [0, 1, 2])
    assert lam is not None and np.all(lam > 0)


def test_certificates_in_the_pool_are_exact():
    weight = injcheck.random_relu_net(6, [36], seed=1)[0].weight.detach().numpy().astype(float)
    core = _cellsearch.Search(weight, 5)
    out = core.run()
    assert out["outcome"] in ("found", "exhausted")
    pool = core.certificates()
    assert len(pool) == out["stats"]["certificates"] > 10
    for support in pool[:60]:
        assert len(support) == 7
        assert certificate_is_exact(weight, np.array(support))


def test_time_limit_gives_timeout_not_a_verdict():
    weight = injcheck.random_relu_net(12, [72], seed=0)[0].weight.detach().numpy().astype(float)
    result = CompiledSearch(weight, limit=11, deadline=0.0).run()
    assert result.outcome == "timeout"
    verdict = check_layer(weight, time_limit=0.05)
    assert verdict.status in ("unknown", "non-injective")


@pytest.mark.parametrize("chunk", range(2))
def test_split_tree_gives_the_same_result_for_any_worker_count(chunk):
    """Subtrees of the root certificate on 1, 2 or 3 threads: same outcome, nodes, witness."""
    outcomes = set()
    for index in range(chunk, 40, 2):
        weight = layer(2000 + index, 3, 9)
        n = weight.shape[1]
        serial = CompiledSearch(weight, limit=n - 1).run()
        runs = [CompiledSearch(weight, limit=n - 1, workers=w).run() for w in (1, 2, 3)]
        for run in runs:
            assert run.outcome == serial.outcome
            assert run.stats["nodes"] == runs[0].stats["nodes"]
            if run.outcome == "found":
                assert np.array_equal(run.allowed, runs[0].allowed)
        outcomes.add(serial.outcome)
    assert outcomes == {"found", "exhausted"}


def test_threads_split_the_tree_two_levels_deep_with_the_same_verdict():
    for seed in range(4):
        weight = injcheck.random_relu_net(9, [54], seed=seed)[0].weight.detach().numpy()
        weight = weight.astype(float)
        serial = check_layer(weight, method="gordan")
        split = injcheck.check(weight, method="gordan", threads=2)
        assert split.status == serial.status != "unknown"
        if "subtrees" in split.stats:  # a searched layer (the greedy settles some first)
            assert split.stats["subtrees"] > weight.shape[1] + 1  # below the root's children
            assert split.stats["workers"] == 2


def test_start_at_checks_its_rows():
    core = _cellsearch.Search(layer(1, 3, 4), 2)
    with pytest.raises(ValueError):
        core.start_at([10_000], [])


def p_star_layer(index: int) -> np.ndarray:
    """Layers n = 3..7, m = n+1..6n: Gaussian, and (two in three) non-generic ones.

    Non-generic: small integer entries (repeated and dependent rows), or Gaussian rows
    with some rows repeated or scaled copies of others.
    """
    rng = np.random.default_rng([1617, index])
    n = int(rng.integers(3, 8))
    m = int(rng.integers(n + 1, 6 * n + 1))
    kind = (index // 6) % 3  # every chunk of the test below gets all three kinds
    if kind == 1:
        return rng.integers(-2, 3, size=(m, n)).astype(float)
    weight = rng.standard_normal((m, n))
    if kind == 2:
        copies = rng.integers(0, m, size=max(1, m // 4))
        weight[: copies.size] = weight[copies] * rng.choice([1.0, 2.0], size=(copies.size, 1))
    return weight[np.any(weight != 0, axis=1)]


@pytest.mark.parametrize("chunk", range(6))
def test_p_star_with_bounds_and_local_search_agrees_with_the_reference(chunk):
    """The core's P* (local search, early stop at a proven lower bound) against the
    pure-Python iterative deepening (HiGHS LPs), with no bound, with the true bound, and
    through ``check_layer(exact_value=True)`` (whose bound is n on injective layers)."""
    cases = []
    for index in range(chunk, 240, 6):
        weight = p_star_layer(index)
        n = weight.shape[1]
        expected = _p_star_gordan(weight, Budget.unlimited(), compiled=False)[0]
        for lower in (0, min(expected, n), expected):
            # Random restarts of the local search (default only from n = 10) run here too.
            options = CoreOptions(ls_restarts=3 if lower == 0 else None)
            p_star, proven, x, _, status = p_star_compiled(weight, None, options, lower=lower)
            if status == "trouble":  # non-generic: the caller falls back to the reference
                continue
            assert (p_star, proven, status) == (expected, expected, "found"), (index, lower)
            assert int(np.sum(weight @ x >= 0)) == p_star
        valued = check_layer(weight, method="gordan", exact_value=True)
        assert valued.certificate["p_star"] == expected, index
        if n <= 3:  # brute force is exact and independent (rational enumeration)
            assert expected == check_layer(weight, method="brute").certificate["p_star"]
        cases.append(((index // 6) % 3, expected >= n, expected == n))
    kinds = {kind for kind, _, _ in cases}
    # Both answers and the bound-is-optimal case (P* = n, no search left) occur.
    assert kinds == {0, 1, 2} and {i for _, i, _ in cases} == {True, False}
    assert any(at_bound for _, _, at_bound in cases)


def test_a_missing_build_says_what_to_run():
    """A source tree without the compiled core fails at import with the command to run."""
    import subprocess
    import sys

    code = (
        "import sys; sys.modules['injcheck.one_layer._cellsearch'] = None\n"
        "import injcheck.one_layer"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode != 0
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("ImportError: injcheck's compiled core") and "pip install -e ." in last
