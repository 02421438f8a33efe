import json

import numpy as np
import pytest

import injcheck
from injcheck import Verdict
from injcheck.exceptions import InvalidArgumentError


def test_check_on_a_random_net_is_reproducible_and_serialisable():
    net = injcheck.random_relu_net(4, [20], seed=11)
    a, b = injcheck.check(net), injcheck.check(injcheck.random_relu_net(4, [20], seed=11))
    assert a.status == b.status and a.witness == b.witness
    data = json.loads(a.to_json())
    assert data["status"] in ("injective", "non-injective", "unknown")
    assert Verdict.from_dict(data).status == a.status


@pytest.mark.parametrize(
    "kwargs, fragment",
    [
        ({"mode": "sideways"}, "mode must be"),
        ({"method": "guess"}, "method must be"),
        ({"time_limit": 0}, "positive"),
        ({"time_limit": "soon"}, "number of seconds"),
        ({"mode": "pointwise"}, "needs x0"),
        ({"x0": [1.0, 2.0]}, "only used with"),
        ({"mode": "pointwise", "x0": [1.0]}, "length 2"),
        ({"input_box": -1.0}, "positive"),
        ({"threads": 0}, "threads"),
    ],
)
def test_bad_arguments(kwargs, fragment):
    with pytest.raises(InvalidArgumentError, match=fragment):
        injcheck.check(np.eye(2), **kwargs)


def test_verdict_rejects_unknown_status_and_missing_witness():
    with pytest.raises(ValueError):
        Verdict(status="probably", mode="global", method="x", architecture=[1, 1])
    with pytest.raises(ValueError):
        Verdict(status="non-injective", mode="global", method="x", architecture=[1, 1])


def test_public_api():
    for name in ("random_relu_net", "check", "Verdict", "theory", "run_sweep"):
        assert hasattr(injcheck, name), name


def test_a_final_injective_affine_map_is_reduced_to_the_relu_part():
    import torch
    from torch import nn

    from injcheck.exceptions import InvalidNetworkError

    torch.manual_seed(0)
    for seed in range(3):
        body = injcheck.random_relu_net(3, [9], seed=seed)
        head = nn.Linear(9, 12).double()
        verdict = injcheck.check(nn.Sequential(*body, head))
        assert verdict.status == injcheck.check(body).status
        assert verdict.architecture == [3, 9, 12]
        assert verdict.certificate["final_affine"]["rank"] == 9
        if verdict.witness is not None:  # a collision of the body is one of the whole net
            full = nn.Sequential(*body, head)
            x, y = (torch.tensor(verdict.witness[k], dtype=torch.float64) for k in ("x", "y"))
            assert torch.allclose(full(x), full(y), atol=1e-9)
    narrow = nn.Sequential(*injcheck.random_relu_net(3, [9], seed=0), nn.Linear(9, 4).double())
    with pytest.raises(InvalidNetworkError, match="not injective"):
        injcheck.check(narrow)
