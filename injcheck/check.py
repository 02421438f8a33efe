"""``injcheck.check``: validate the input once, then dispatch to a back end.

* One bias-free layer, modes ``global``/``local`` (identical for one layer, see the
  README): :mod:`injcheck.one_layer` (exact Gordan branching, CVXPY MILP, brute force).
* Deeper networks, biases, and every ``pointwise`` check: :mod:`injcheck.deep`.
"""

from __future__ import annotations

import time

import numpy as np

from .budget import MAX_NODES, Budget
from .exceptions import InvalidArgumentError, InvalidNetworkError
from .networks import MAX_MAGNITUDE, AffineMap, Layer, architecture, read_network
from .verdict import MODES, Verdict

ONE_LAYER_METHODS = ("auto", "gordan", "gordan-python", "milp", "brute", "heuristic")

#: A head counts as injective when its smallest singular value exceeds this times its largest
#: (float SVD is accurate to about 1e-15 relative, so this margin is safe).
HEAD_RANK_TOL = 1e-8


def _head_certificate(head: AffineMap, width: int) -> dict:
    """Check that a final affine map is injective; then ``f = head o g`` is injective iff
    the ReLU part ``g`` is, and every collision of ``g`` is one of ``f``.

    Raises
    ------
    InvalidNetworkError
        When the head is not injective (rank below its input width).
    """
    p = head.weight.shape[0]
    sv = np.linalg.svd(head.weight, compute_uv=False)
    ratio = float(sv[-1] / sv[0]) if p >= width and sv[0] > 0 else 0.0
    if ratio <= HEAD_RANK_TOL:
        raise InvalidNetworkError(
            f"the last Linear ({width} -> {p}, no ReLU after it) is not injective (rank "
            f"{int(np.sum(sv > HEAD_RANK_TOL * sv[0]))} < {width}); injcheck decides ReLU "
            "layers followed by an injective affine map only: check the network up to its "
            "last ReLU instead"
        )
    return {"rank": width, "sigma_ratio": ratio}


def _validate_time_limit(time_limit) -> float | None:
    if time_limit is None:
        return None
    try:
        value = float(time_limit)
    except (TypeError, ValueError) as exc:
        raise InvalidArgumentError(
            f"time_limit must be a number of seconds, got {time_limit!r}"
        ) from exc
    if not np.isfinite(value) or value <= 0:
        raise InvalidArgumentError(f"time_limit must be positive and finite, got {time_limit!r}")
    return value


def _validate_box(input_box, n: int) -> tuple[np.ndarray, np.ndarray] | None:
    if input_box is None:
        return None
    if np.isscalar(input_box):
        radius = float(input_box)
        if not np.isfinite(radius) or radius <= 0:
            raise InvalidArgumentError(
                f"input_box radius must be positive and finite, got {input_box!r}"
            )
        return -radius * np.ones(n), radius * np.ones(n)
    try:
        lo, hi = (np.asarray(v, dtype=np.float64).reshape(-1) for v in input_box)
    except (TypeError, ValueError) as exc:
        raise InvalidArgumentError(
            "input_box must be a radius or a pair (lo, hi) of arrays"
        ) from exc
    lo, hi = np.broadcast_to(lo, (n,)).copy(), np.broadcast_to(hi, (n,)).copy()
    if not (np.all(np.isfinite(lo)) and np.all(np.isfinite(hi)) and np.all(lo < hi)):
        raise InvalidArgumentError("input_box needs finite bounds with lo < hi in every coordinate")
    return lo, hi


def _check_finite_scale(layers: list[Layer], box, x0) -> None:
    """Refuse a box or an ``x0`` whose pre-activations exceed ``MAX_MAGNITUDE`` (1e150).

    Interval bounds over the box (centre and radius pushed through ``|W|``) and the
    forward pass at ``x0`` must stay below it: past that, squares and products of bounds,
    big-M constants and the verification of a witness overflow float64, and no verdict
    could be trusted (the same limit as :func:`injcheck.networks.check_magnitudes` puts
    on the entries). Without a box nothing is bounded here: a bias-free network is
    homogeneous and its checks normalise the scale themselves.
    """
    with np.errstate(over="ignore", invalid="ignore"):
        if box is not None:
            centre, radius = (box[0] + box[1]) / 2, (box[1] - box[0]) / 2
            for k, layer in enumerate(layers, start=1):
                pre = layer.weight @ centre + layer.bias
                radius = np.abs(layer.weight) @ radius
                if not np.max(np.abs(pre) + radius) <= MAX_MAGNITUDE:
                    raise InvalidArgumentError(
                        f"input_box is too large: the pre-activations of layer {k} can reach "
                        f"beyond {MAX_MAGNITUDE:g} over it (float64 products overflow); "
                        "rescale the box or the weights"
                    )
                low, high = np.maximum(pre - radius, 0.0), np.maximum(pre + radius, 0.0)
                centre, radius = (low + high) / 2, (high - low) / 2
        if x0 is not None:
            h = x0
            for layer in layers:
                h = layer.weight @ h + layer.bias
                if not np.max(np.abs(h)) <= MAX_MAGNITUDE:
                    raise InvalidArgumentError(
                        f"x0 is too large: the forward pass at it exceeds {MAX_MAGNITUDE:g}"
                    )
                h = np.maximum(h, 0.0)


def _validate_point(x0, n: int) -> np.ndarray:
    try:
        x = np.asarray(x0, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError) as exc:
        raise InvalidArgumentError(f"x0 must be a vector of {n} numbers") from exc
    if x.shape != (n,) or not np.all(np.isfinite(x)):
        raise InvalidArgumentError(f"x0 must be a finite vector of length {n}, got shape {x.shape}")
    return x


def check(
    network,
    *,
    mode: str = "global",
    method: str = "auto",
    time_limit: float | None = None,
    x0=None,
    input_box=None,
    exact_value: bool = False,
    threads: int = 1,
    proof: str | None = None,
    node_limit: int | None = None,
) -> Verdict:
    """Decide whether a ReLU network is injective.

    Parameters
    ----------
    network : torch.nn.Sequential, Network, array, or list of arrays
        A ``Sequential`` of ``Linear``/``ReLU`` modules (biases allowed), one weight
        matrix ``W`` of shape ``(m, n)`` (the layer ``x -> ReLU(W x)``), or a list of
        weight matrices. A last ``Linear`` without ReLU (a head ``A h + c``) is allowed
        when ``A`` is injective (full column rank): then the network is injective iff
        its ReLU part is, and that is what is decided (``certificate["final_affine"]``);
        a rank-deficient head is refused.
    mode : {"global", "local", "pointwise"}
        ``global``: are there ``x != y`` with ``f(x) = f(y)``? ``local``: is there an
        input where some layer has fewer than ``n`` active units (rank-deficient
        Jacobian)? ``pointwise``: is ``x0`` the only preimage of ``f(x0)``?
    method : str
        ``"auto"`` picks the fastest exact method; for one layer above ``n = 10`` it runs
        the heuristic witness search first, and above ``n = 16`` only that search (no
        witness: ``unknown``; docs/heuristic.md). One layer: ``"gordan"`` (LP branching
        on Gordan certificates, in the compiled core where it applies), ``"gordan-python"``
        (the same search in pure Python, the reference), ``"milp"`` (CVXPY + HiGHS), ``"brute"`` (cell
        enumeration, ``n <= 4``), ``"heuristic"`` (batched witness search: ``non-injective``
        or ``unknown``, never ``injective``). Deep networks: see
        :func:`injcheck.deep.check_deep`; there ``"auto"`` runs the heuristic first on
        bias-free nets without a box above ``n = 5`` (local) and ``n = 4`` (global), then
        the exact checks with the time left (docs/deep_heuristic.md).
    time_limit : float, optional
        Wall-clock seconds; when exceeded the verdict is ``unknown``. Where that happens
        depends on the machine and its load.
    x0 : array_like, optional
        The input of a ``pointwise`` check.
    input_box : float or (lo, hi), optional
        Restrict inputs to a box (needed for networks with biases; a float ``r``
        means ``[-r, r]^n``). Bias-free networks are homogeneous and need none.
    exact_value : bool
        One layer: compute ``P*(W)`` exactly instead of stopping once ``P* >= n`` is decided.
        Refused where ``P*`` is not defined by this check (deep nets, a box, pointwise).
    threads : int
        Threads: HiGHS's for deep networks; for one layer the compiled search splits its
        tree over them (same status for any number). 1 keeps sweeps parallel by process.
    proof : str, optional
        One layer, global mode: if the layer is injective (generic ``W``), write to this
        path a proof checkable by ``injcheck verify-proof`` (``certificate["proof"]``).
    node_limit : int, optional
        One bias-free layer, methods ``auto``/``gordan``/``gordan-python``: the most nodes
        each exact search tree may visit (the decision; with ``exact_value`` each P* search
        too); past it the verdict is ``unknown`` with ``solver_status="node-limit"``. A
        work limit that gives the same verdict on any machine under any load and for any
        ``threads`` (the limited search runs on one thread; set it to bind before
        ``time_limit``). About 15,000-28,000 nodes a second at n = 15 on one core
        (docs/one_layer.md). ``auto`` above n = 16 runs only the heuristic, which has no
        nodes: there the limit does not apply.

    Returns
    -------
    Verdict

    Examples
    --------
    >>> import injcheck
    >>> net = injcheck.random_relu_net(3, [30], seed=0)
    >>> injcheck.check(net).status
    'injective'
    """
    parsed = read_network(network)
    layers: list[Layer] = parsed.layers
    n = architecture(layers)[0]
    head = None if parsed.head is None else _head_certificate(parsed.head, layers[-1].shape[0])
    time_limit, box, x0 = _validate_options(mode, method, time_limit, input_box, x0, threads, n)
    _check_finite_scale(layers, box, x0)
    one_layer = _one_layer_case(layers, mode, box, proof)
    if exact_value and not one_layer:
        raise InvalidArgumentError(
            "exact_value (P*) is computed for one bias-free layer without a box, "
            "in global or local mode; not for deep nets, boxes or pointwise checks"
        )
    node_limit = _validate_node_limit(node_limit, one_layer)

    start = time.perf_counter()
    # The one budget of this call, down to every solver.
    budget = Budget.seconds(time_limit, nodes=node_limit)
    if one_layer:
        verdict = _check_one_layer(layers[0].weight, method, budget, exact_value, proof, threads)
    else:
        verdict = _check_deep(layers, mode, method, budget, x0, box, threads)
    verdict.mode = mode
    if head is not None:
        _record_head(verdict, parsed.head, head)
    verdict.wall_time = time.perf_counter() - start
    return verdict


def _record_head(verdict: Verdict, head: AffineMap, certificate: dict) -> None:
    """Add the injective head's width to the architecture and its certificate."""
    verdict.architecture = list(verdict.architecture) + [head.weight.shape[0]]
    verdict.certificate = dict(verdict.certificate or {}, final_affine=certificate)


def is_one_layer_case(n_layers: int, has_bias: bool, has_box: bool, mode: str) -> bool:
    """Whether a check is decided by :mod:`injcheck.one_layer` (which alone has ``P*``
    and node limits): one bias-free layer, no box, global or local mode."""
    return n_layers == 1 and not has_bias and not has_box and mode != "pointwise"


def _one_layer_case(layers: list[Layer], mode: str, box, proof: str | None) -> bool:
    """Whether :mod:`injcheck.one_layer` decides the check (one bias-free layer, no box,
    global or local mode).

    Raises
    ------
    InvalidArgumentError
        When ``proof`` is given and the check is not that case in global mode.
    """
    one_layer = is_one_layer_case(len(layers), layers[0].has_bias, box is not None, mode)
    if proof is not None and not (one_layer and mode == "global"):
        raise InvalidArgumentError("proof files are written for one bias-free layer, mode='global'")
    return one_layer


def _validate_options(
    mode: str, method, time_limit, input_box, x0, threads, n: int
) -> tuple[float | None, tuple[np.ndarray, np.ndarray] | None, np.ndarray | None]:
    """Validate the options of :func:`check` for a network with ``n`` inputs.

    Returns
    -------
    time_limit : float or None
    box : (lo, hi) or None
    x0 : np.ndarray or None
        Only in ``pointwise`` mode, where it is required.

    Raises
    ------
    InvalidArgumentError
        The first invalid option, in the order of the signature of :func:`check`.
    """
    if mode not in MODES:
        raise InvalidArgumentError(f"mode must be one of {MODES}, got {mode!r}")
    if not isinstance(method, str):
        raise InvalidArgumentError(f"method must be a string, got {method!r}")
    time_limit = _validate_time_limit(time_limit)
    box = _validate_box(input_box, n)
    if mode == "pointwise":
        if x0 is None:
            raise InvalidArgumentError("mode='pointwise' needs x0, the input to check")
        x0 = _validate_point(x0, n)
    elif x0 is not None:
        raise InvalidArgumentError(f"x0 is only used with mode='pointwise', not mode={mode!r}")
    if isinstance(threads, bool) or not isinstance(threads, (int, np.integer)) or threads < 1:
        raise InvalidArgumentError(f"threads must be a positive integer, got {threads!r}")
    return time_limit, box, x0


def _validate_node_limit(node_limit, one_layer: bool) -> int | None:
    """A positive integer or None; only one bias-free layer has node-counted searches."""
    if node_limit is None:
        return None
    if isinstance(node_limit, bool) or not isinstance(node_limit, (int, np.integer)):
        raise InvalidArgumentError(f"node_limit must be a positive integer, got {node_limit!r}")
    if not 1 <= node_limit <= MAX_NODES:
        raise InvalidArgumentError(
            f"node_limit must be an integer from 1 to 2**62, got {node_limit!r}"
        )
    if not one_layer:
        raise InvalidArgumentError(
            "node_limit bounds the one-layer Gordan search (one bias-free layer, no box, "
            "global or local mode); the other checks have only time_limit"
        )
    return int(node_limit)


def _check_deep(
    layers: list[Layer], mode: str, method, budget: Budget, x0, box, threads
) -> Verdict:
    """Every other case: :func:`injcheck.deep.check_deep`."""
    from .deep import check_deep

    return check_deep(
        layers,
        mode=mode,
        method=method,
        budget=budget,
        x0=x0,
        box=box,
        threads=threads,
    )


def _check_one_layer(
    weight: np.ndarray,
    method: str,
    budget: Budget,
    exact_value: bool,
    proof: str | None,
    threads: int = 1,
) -> Verdict:
    """One bias-free layer, global/local mode: :func:`injcheck.one_layer.check_layer`.

    With ``proof`` (validated by the caller: global mode), an injective verdict's proof
    is written to that path.
    """
    from .one_layer import check_layer

    if method not in ONE_LAYER_METHODS:
        raise InvalidArgumentError(
            f"one-layer method must be one of {ONE_LAYER_METHODS}, got {method!r}"
        )
    verdict = check_layer(
        weight, method=method, budget=budget, exact_value=exact_value, threads=threads
    )
    if proof is not None:  # validated by the caller: global mode
        from .one_layer.proof import attach_proof

        attach_proof(verdict, weight, str(proof), budget.remaining())
    return verdict
