"""Sweep specifications: what a Monte Carlo sweep runs, parsed from the CLI or a TOML file.

A :class:`SweepSpec` only stores settings. Its grid is a generator of :class:`Point`
(input size and layer widths), and each point has ``trials`` replicates. The
:attr:`SweepSpec.spec_hash` covers every setting that can change the result of one
trial (seed, mode, method, time limit, exact value, width rule, trial function and its
options); the grid and the number of trials only say *which* trials to run, so a sweep
can be extended with more trials or more points and reuse the rows it already has.
"""

from __future__ import annotations

import hashlib
import json
import math
import operator
import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from ..budget import MAX_NODES, NODELESS_METHODS
from ..exceptions import SpecError

WIDTH_RULES = ("per-layer", "equal")
MODES = ("global", "local", "pointwise")
RERUN_POLICIES = ("never", "unknown", "all")
DEFAULT_TRIAL_FN = "injcheck.sweep.trials:check_trial"
#: Most weights in one layer of a sweep's network (10**8 float64: 800 MB per trial).
MAX_LAYER_ENTRIES = 10**8

# Settings that change the result of one trial: they, and only they, enter the hash.
_HASHED = (
    "seed",
    "depth",
    "width_rule",
    "mode",
    "method",
    "time_limit",
    "exact_value",
    "trial_fn",
    "trial_options",
    "node_limit",
)
#: Hashed settings added later: left out of the hash while at their default, so the sweeps
#: stored before they existed keep their hash.
_HASHED_WHEN_SET = ("node_limit",)


@dataclass(frozen=True)
class Point:
    """One grid point: input size ``n`` and hidden/output widths ``m_1, ..., m_l``.

    Attributes
    ----------
    n : int
        Input dimension.
    widths : tuple of int
        Layer widths.
    alpha : float
        Realised expansion per layer, ``(m_l / n) ** (1 / l)`` (for one layer ``m / n``;
        with ``width_rule="equal"`` it is ``m_1 / n``).
    alpha_nominal : float or None
        The grid value the widths were rounded from (None for explicit widths).
    """

    n: int
    widths: tuple[int, ...]
    alpha: float
    alpha_nominal: float | None = None

    @property
    def key(self) -> str:
        """Canonical text key of the point; trial seeds and store rows are keyed by it."""
        return f"n={self.n};widths={','.join(map(str, self.widths))}"

    @property
    def depth(self) -> int:
        return len(self.widths)


def _round_half_up(x: float) -> int:
    # Python's round() rounds half to even (round(10.5) == 10); sweeps want the obvious rule.
    return int(math.floor(x + 0.5 + 1e-9))


def widths_for(n: int, alpha: float, depth: int, rule: str) -> tuple[int, ...]:
    """Layer widths for input size ``n`` and expansion ``alpha``.

    Parameters
    ----------
    n, alpha, depth
        Input size, expansion, number of layers.
    rule : {"per-layer", "equal"}
        ``per-layer``: constant expansion per layer, ``m_k = round(alpha * m_{k-1})``
        (overall expansion ``~alpha**depth``). ``equal``: every width is
        ``round(alpha * n)`` (the first layer expands, the others keep the width).

    Examples
    --------
    >>> widths_for(4, 3.5, 2, "per-layer")
    (14, 49)
    >>> widths_for(4, 3.5, 2, "equal")
    (14, 14)
    """
    if rule not in WIDTH_RULES:
        raise SpecError(f"width_rule must be one of {WIDTH_RULES}, got {rule!r}")
    out: list[int] = []
    prev = n
    for _ in range(depth):
        m = _round_half_up(alpha * (prev if rule == "per-layer" else n))
        out.append(max(m, 1))
        prev = m
    return tuple(out)


def realised_alpha(n: int, widths: Sequence[int], rule: str) -> float:
    """Realised expansion of a grid point (see :class:`Point`)."""
    if rule == "equal":
        return widths[0] / n
    return (widths[-1] / n) ** (1.0 / len(widths))


def _network_shapes(widths: Any) -> tuple[tuple[int, ...], ...]:
    """Explicit widths as a tuple of network shapes, all non-empty and of one depth.

    Raises
    ------
    SpecError
        A shape that is empty or holds a non-positive width, no shape at all, or shapes of
        different depths.
    """
    shapes = []
    for w in _seq(widths, "widths"):
        shape = tuple(_positive_int(v, "widths", minimum=1) for v in _seq(w, "widths"))
        if not shape:
            raise SpecError("widths: a network needs at least one layer")
        shapes.append(shape)
    if not shapes:
        raise SpecError("widths: give at least one network shape")
    depths = {len(s) for s in shapes}
    if len(depths) != 1:
        raise SpecError(
            f"widths: all networks of a sweep need the same depth, got {sorted(depths)}"
        )
    return tuple(shapes)


@dataclass(frozen=True)
class SweepSpec:
    """Settings of one Monte Carlo sweep (validated on construction).

    Parameters
    ----------
    n : tuple of int
        Input sizes.
    alpha : tuple of float, optional
        Expansion grid; widths follow ``width_rule``. Exactly one of ``alpha`` and
        ``widths`` must be given.
    widths : tuple of tuple of int, optional
        Explicit layer widths, one tuple per network shape (combined with every ``n``).
    depth : int
        Number of layers when ``alpha`` is given.
    width_rule : {"per-layer", "equal"}
        How widths follow from ``alpha`` for ``depth > 1`` (see :func:`widths_for`).
    trials : int
        Replicates per point.
    mode, method, time_limit, exact_value, node_limit
        Passed to :func:`injcheck.check.check` (``time_limit`` in seconds per trial,
        None for no limit; ``exact_value`` computes P* exactly for one layer;
        ``node_limit`` bounds the one-layer Gordan search by work instead of time, so
        that a trial's verdict does not depend on the machine's load: set it to bind
        before ``time_limit``).
    seed : int
        Master seed; trial seeds derive from (seed, point, trial index).
    trial_fn : str
        ``"module:function"`` run for each trial (see :mod:`injcheck.sweep.trials`).
    trial_options : tuple of (str, value)
        Extra options for the trial function (hashed; JSON scalars only).
    """

    n: tuple[int, ...]
    alpha: tuple[float, ...] | None = None
    widths: tuple[tuple[int, ...], ...] | None = None
    depth: int = 1
    width_rule: str = "per-layer"
    trials: int = 20
    mode: str = "global"
    method: str = "auto"
    time_limit: float | None = 60.0
    exact_value: bool = True
    node_limit: int | None = None
    seed: int = 0
    trial_fn: str = DEFAULT_TRIAL_FN
    trial_options: tuple[tuple[str, Any], ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        self._validate_grid()
        self._validate_check()
        self._validate_trial()

    def check_runnable(self) -> None:
        """Refuse settings with which every trial would fail (an unknown method for the
        default trial, networks too large to build): checked when a sweep starts
        (:func:`~injcheck.sweep.run_sweep`), not when a spec is read back, so a store that
        holds such a spec from an older version still lists and reports.

        Raises
        ------
        SpecError
            With the first such setting.
        """
        self._validate_size()
        if self.trial_fn == DEFAULT_TRIAL_FN:
            self._validate_default_trial()

    def _set(self, name: str, value: Any) -> None:
        """Store a normalised setting (the dataclass is frozen)."""
        object.__setattr__(self, name, value)

    def _validate_grid(self) -> None:
        """Normalise ``n`` and exactly one of ``alpha`` and ``widths``; set ``depth``."""
        self._set("n", tuple(_positive_int(v, "n", minimum=1) for v in _seq(self.n, "n")))
        if not self.n:
            raise SpecError("n: give at least one input size")
        if (self.alpha is None) == (self.widths is None):
            raise SpecError(
                "give exactly one of alpha (an expansion grid) and widths (explicit widths)"
            )
        if self.alpha is not None:
            alphas = tuple(_positive_float(v, "alpha") for v in _seq(self.alpha, "alpha"))
            if not alphas:
                raise SpecError("alpha: the expansion grid is empty")
            self._set("alpha", alphas)
            self._set("depth", _positive_int(self.depth, "depth", minimum=1))
        else:
            shapes = _network_shapes(self.widths)
            self._set("widths", shapes)
            self._set("depth", len(shapes[0]))

    def _validate_check(self) -> None:
        """Validate the settings passed to the check of each trial."""
        if self.width_rule not in WIDTH_RULES:
            raise SpecError(f"width_rule must be one of {WIDTH_RULES}, got {self.width_rule!r}")
        self._set("trials", _positive_int(self.trials, "trials", minimum=1))
        if self.mode not in MODES:
            raise SpecError(f"mode must be one of {MODES}, got {self.mode!r}")
        if not isinstance(self.method, str) or not self.method:
            raise SpecError(f"method must be a non-empty string, got {self.method!r}")
        if self.time_limit is not None:
            self._set("time_limit", _positive_float(self.time_limit, "time_limit"))
        if not isinstance(self.exact_value, bool):
            raise SpecError(f"exact_value must be true or false, got {self.exact_value!r}")
        if self.node_limit is not None:
            self._set("node_limit", _positive_int(self.node_limit, "node_limit", minimum=1))
            if self.node_limit > MAX_NODES:
                raise SpecError(f"node_limit must be at most 2**62, got {self.node_limit}")
            if self.method in NODELESS_METHODS or self.depth > 1 or (self.mode == "pointwise"):
                raise SpecError(
                    "node_limit bounds the one-layer Gordan search (depth 1, global or local "
                    "mode, method auto, gordan or gordan-python), not method "
                    f"{self.method!r} in mode {self.mode!r} at depth {self.depth}"
                )
        if self.method == "heuristic" and self.exact_value:
            # Caught here, not trial by trial: every row would be an error otherwise.
            raise SpecError(
                "method 'heuristic' gives only an upper bound on P*, not its exact value: "
                "turn exact_value off (CLI: --no-exact-value)"
            )

    def _validate_trial(self) -> None:
        """Validate the seed, the trial function's name and its options (sorted by key)."""
        self._set("seed", _positive_int(self.seed, "seed", minimum=0))
        if not isinstance(self.trial_fn, str) or ":" not in self.trial_fn:
            raise SpecError(
                f"trial_fn must look like 'package.module:function', got {self.trial_fn!r}"
            )
        opts = dict(self.trial_options)
        for key, value in opts.items():
            if not isinstance(key, str) or not (
                value is None or isinstance(value, (bool, int, float, str))
            ):
                raise SpecError(f"trial_options: {key!r} must map to a number, string or boolean")
        self._set("trial_options", tuple(sorted(opts.items())))

    def _validate_size(self) -> None:
        """Refuse a grid whose largest network has a layer of more than
        :data:`MAX_LAYER_ENTRIES` weights (widths and entries grow with ``n`` and ``alpha``)."""
        n = max(self.n)
        for shape in self.widths if self.widths is not None else (None,):
            prev = n
            for k in range(self.depth):
                if shape is not None:
                    m = shape[k]
                else:
                    x = max(self.alpha) * (prev if self.width_rule == "per-layer" else n)
                    m = _round_half_up(x) if x <= MAX_LAYER_ENTRIES + 1 else None
                if m is None or max(m, 1) * max(prev, 1) > MAX_LAYER_ENTRIES:
                    width = f"more than {MAX_LAYER_ENTRIES:,}" if m is None else max(m, 1)
                    raise SpecError(
                        f"layer {k + 1} of the largest network of the grid (n={n}) would hold "
                        f"{width} x {max(prev, 1)} weights, more than {MAX_LAYER_ENTRIES:,}; "
                        "lower alpha, widths, depth or n"
                    )
                prev = m

    def _validate_default_trial(self) -> None:
        """What the default trial (:func:`injcheck.check.check`) would refuse in every trial."""
        from ..check import ONE_LAYER_METHODS
        from ..deep import DEEP_METHODS
        from ..one_layer import BRUTE_MAX_N

        one_layer = self.depth == 1 and self.mode != "pointwise"
        methods = ONE_LAYER_METHODS if one_layer else DEEP_METHODS
        if self.method not in methods:
            kind = "one layer" if one_layer else f"depth {self.depth} in mode {self.mode!r}"
            raise SpecError(f"method must be one of {methods} for {kind}, got {self.method!r}")
        if one_layer and self.method == "brute" and max(self.n) > BRUTE_MAX_N:
            raise SpecError(
                f"method 'brute' enumerates cells and needs n <= {BRUTE_MAX_N}, got n={max(self.n)}"
            )

    # -- the grid ---------------------------------------------------------------------
    def points(self) -> Iterator[Point]:
        """Yield the grid points in a fixed order (n outer, expansion inner).

        Two grid values that round to the same widths give one point (the first one).
        """
        for n in self.n:
            seen: set[tuple[int, ...]] = set()
            if self.alpha is not None:
                candidates = [
                    (widths_for(n, a, self.depth, self.width_rule), a) for a in self.alpha
                ]
            else:
                candidates = [(w, None) for w in self.widths]
            for widths, nominal in candidates:
                if widths in seen:
                    continue
                seen.add(widths)
                yield Point(n, widths, realised_alpha(n, widths, self.width_rule), nominal)

    @property
    def n_trials(self) -> int:
        """Number of trials in the sweep."""
        return sum(1 for _ in self.points()) * self.trials

    # -- identity ---------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict of all settings (round-trips through :meth:`from_dict`)."""
        d = asdict(self)
        d["trial_options"] = dict(self.trial_options)
        return d

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SweepSpec:
        data = dict(data)
        data["trial_options"] = tuple(dict(data.get("trial_options") or {}).items())
        unknown = set(data) - {f for f in cls.__dataclass_fields__}
        if unknown:
            raise SpecError(f"unknown sweep settings: {sorted(unknown)}")
        return cls(**data)

    @property
    def spec_hash(self) -> str:
        """16 hex digits of SHA-256 over the settings that change a trial's result."""
        d = self.to_dict()
        ident = {k: d[k] for k in _HASHED if not (k in _HASHED_WHEN_SET and d[k] is None)}
        if ident["time_limit"] is not None:
            ident["time_limit"] = float(ident["time_limit"])
        text = json.dumps(ident, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def with_updates(self, **changes: Any) -> SweepSpec:
        """A copy with some settings changed (validated again)."""
        return replace(self, **changes)


# -- small validators ---------------------------------------------------------------
def _seq(value, name: str) -> tuple:
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return (value,)
        raise SpecError(f"{name} must be a list, got {value!r}")
    return tuple(value)


def _positive_int(value, name: str, minimum: int) -> int:
    """An integer >= ``minimum``; integers stay exact (never through float), and
    integral floats or text such as ``4.0`` or ``"1e3"`` are accepted as before."""
    if isinstance(value, bool):
        raise SpecError(f"{name} must be an integer, got {value!r}")
    try:
        out = operator.index(value)  # int, numpy integer: exact
    except TypeError:
        out = _int_from_text_or_float(value, name)
    if out < minimum:
        raise SpecError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return out


def _int_from_text_or_float(value, name: str) -> int:
    """``"17"`` exactly; ``4.0``, ``"4.0"`` or ``"1e3"`` through float when integral."""
    if isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            pass
    try:
        as_float = float(value)
        out = int(as_float)
    except (TypeError, ValueError, OverflowError) as exc:
        raise SpecError(f"{name} must be an integer, got {value!r}") from exc
    if out != as_float:
        raise SpecError(f"{name} must be an integer, got {value!r}")
    return out


def _positive_float(value, name: str) -> float:
    if isinstance(value, bool):
        raise SpecError(f"{name} must be a number, got {value!r}")
    try:
        out = float(value)
    except (TypeError, ValueError) as exc:
        raise SpecError(f"{name} must be a number, got {value!r}") from exc
    if not math.isfinite(out) or out <= 0:
        raise SpecError(f"{name} must be positive and finite, got {value!r}")
    return out


# -- text formats -------------------------------------------------------------------
def parse_int_list(text: str, name: str) -> tuple[int, ...]:
    """``"4,6"`` or ``"4:8:2"`` (inclusive) -> ``(4, 6)`` / ``(4, 6, 8)``."""
    if ":" in text:
        return tuple(_positive_int(v, name, minimum=0) for v in parse_range(text, name))
    items = [t.strip() for t in str(text).split(",") if t.strip()]
    if not items:
        raise SpecError(f"{name}: empty list {text!r}")
    return tuple(_positive_int(t, name, minimum=1) for t in items)


def parse_range(text: str, name: str) -> tuple[float, ...]:
    """Parse ``"start:stop:step"`` (stop included when on the grid) or ``"a,b,c"``.

    Examples
    --------
    >>> parse_range("3:5:0.5", "alpha")
    (3.0, 3.5, 4.0, 4.5, 5.0)
    >>> parse_range("2,3.5", "alpha")
    (2.0, 3.5)
    """
    text = str(text).strip()
    if ":" not in text:
        items = [t.strip() for t in text.split(",") if t.strip()]
        if not items:
            raise SpecError(f"{name}: empty list {text!r}")
        return tuple(_positive_float(t, name) for t in items)
    parts = text.split(":")
    if len(parts) not in (2, 3):
        raise SpecError(f"{name}: expected start:stop[:step], got {text!r}")
    try:
        start, stop = float(parts[0]), float(parts[1])
        step = float(parts[2]) if len(parts) == 3 else 1.0
    except ValueError as exc:
        raise SpecError(f"{name}: expected numbers in start:stop:step, got {text!r}") from exc
    if not (math.isfinite(start) and math.isfinite(stop) and math.isfinite(step)) or step <= 0:
        raise SpecError(f"{name}: step must be positive and all values finite, got {text!r}")
    if stop < start:
        raise SpecError(f"{name}: stop < start in {text!r}")
    count = int(math.floor((stop - start) / step + 1e-9)) + 1
    if count > 100_000:
        raise SpecError(f"{name}: {text!r} gives {count} values; use a coarser step")
    # Multiply rather than accumulate so 3:8:0.1 gives 3.3, not 3.3000000000000003.
    return tuple(round(start + i * step, 12) for i in range(count))


def parse_widths(text: str) -> tuple[tuple[int, ...], ...]:
    """``"12;16,32"`` -> ``((12,), (16, 32))``: networks split by ``;``, layers by ``,``."""
    shapes = [s.strip() for s in str(text).split(";") if s.strip()]
    if not shapes:
        raise SpecError(f"widths: empty list {text!r}")
    return tuple(parse_int_list(s, "widths") for s in shapes)


def load_toml(path: str | os.PathLike) -> tuple[dict[str, Any], dict[str, Any]]:
    """Read a sweep TOML file into ``(spec settings, run settings)``.

    The file holds the spec at top level or under ``[sweep]`` and optional run settings
    (``store``, ``workers``, ``executor``, ``address``, ``rerun``) under ``[run]``. String
    values of ``n``, ``alpha`` and ``widths`` use the CLI syntax (``"3:8:0.5"``).
    """
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        try:
            import tomli as tomllib
        except ModuleNotFoundError as exc:
            raise SpecError("reading TOML needs Python >= 3.11 or the 'tomli' package") from exc
    path = os.fspath(path)
    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError as exc:
        raise SpecError(f"file not found: {path}", argument="path") from exc
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise SpecError(f"cannot read {path}: {exc}", argument="path") from exc
    except UnicodeDecodeError as exc:
        raise SpecError(f"cannot read {path}: not UTF-8 text ({exc})", argument="path") from exc
    for table in ("run", "sweep"):
        if not isinstance(data.get(table, {}), Mapping):
            raise SpecError(f"{path}: [{table}] must be a table", argument="path")
    run = dict(data.pop("run", {}))
    spec = dict(data.pop("sweep", {}))
    spec.update(data)
    bad_run = set(run) - {"store", "workers", "executor", "address", "rerun"}
    if bad_run:
        raise SpecError(f"unknown keys in [run]: {sorted(bad_run)}", argument="path")
    _check_run_types(run, path)
    return normalise_settings(spec, source=f"{path}"), run


def _check_run_types(run: Mapping[str, Any], path: str) -> None:
    """``store``, ``executor``, ``address`` and ``rerun`` are strings, ``workers`` an integer."""
    for key, value in run.items():
        if key == "workers":
            ok = isinstance(value, int) and not isinstance(value, bool) and value >= 0
            want = "a non-negative integer"
        else:
            ok = isinstance(value, str) and value != ""
            want = "a non-empty string"
        if not ok:
            raise SpecError(f"{path}: [run] {key} must be {want}, got {value!r}", argument="path")
    if "rerun" in run and run["rerun"] not in RERUN_POLICIES:
        raise SpecError(
            f"{path}: [run] rerun must be one of {RERUN_POLICIES}, got {run['rerun']!r}",
            argument="path",
        )


def normalise_settings(settings: Mapping[str, Any], source: str = "settings") -> dict[str, Any]:
    """Turn TOML/CLI-style values (strings like ``"3:8:0.5"``) into :class:`SweepSpec` fields."""
    out = dict(settings)
    fields = set(SweepSpec.__dataclass_fields__)
    unknown = set(out) - fields
    if unknown:
        raise SpecError(
            f"{source}: unknown sweep settings {sorted(unknown)}; known: {sorted(fields)}"
        )
    if isinstance(out.get("n"), str):
        out["n"] = parse_int_list(out["n"], "n")
    if isinstance(out.get("alpha"), str):
        out["alpha"] = parse_range(out["alpha"], "alpha")
    if isinstance(out.get("widths"), str):
        out["widths"] = parse_widths(out["widths"])
    if "trial_options" in out:
        opts = out["trial_options"]
        if not isinstance(opts, Mapping):
            raise SpecError(f"{source}: trial_options must be a table")
        out["trial_options"] = tuple(opts.items())
    if out.get("time_limit") in (0, "none", "None"):
        out["time_limit"] = None
    return out
