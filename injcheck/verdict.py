"""The result of a check: a small, JSON-serialisable value object."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

STATUSES = ("injective", "non-injective", "unknown")
MODES = ("global", "local", "pointwise")


@dataclass
class Verdict:
    """Outcome of an injectivity check.

    Attributes
    ----------
    status : {"injective", "non-injective", "unknown"}
        ``injective`` only from a proof, ``non-injective`` only with a witness that
        passed both independent checks, ``unknown`` otherwise (time-out, solver trouble,
        a witness that failed verification).
    mode : {"global", "local", "pointwise"}
        Which notion was checked (see the README).
    method : str
        Algorithm that produced the verdict (``"gordan"``, ``"milp"``, ``"brute"``, ...).
    architecture : list of int
        ``[n, m_1, ..., m_l]``.
    witness : dict or None
        ``{"x": [...], "y": [...]}``: two different inputs with the same output.
    certificate : dict
        Proof data: for one layer ``p_star`` (or ``p_star_lower``/``p_star_upper``),
        for deep nets the bounds or the failing layer.
    layer : int or None
        1-based index of the layer where a local/global failure happens, if known.
    solver_status : str
        The raw status of the last solver call (for diagnosis only).
    wall_time : float
        Seconds spent in the check.
    verification : dict or None
        How the witness was re-verified (float residual, separation, exact check).
    message : str
        A human-readable reason, mostly for ``unknown``.
    stats : dict
        Counters (nodes, LPs, binaries, ...).
    """

    status: str
    mode: str
    method: str
    architecture: list[int]
    witness: dict[str, list[float]] | None = None
    certificate: dict[str, Any] = field(default_factory=dict)
    layer: int | None = None
    solver_status: str = ""
    wall_time: float = 0.0
    verification: dict[str, Any] | None = None
    message: str = ""
    stats: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}, got {self.status!r}")
        if self.status == "non-injective" and self.witness is None and self.mode != "local":
            raise ValueError("a non-injective verdict needs a witness")

    @property
    def is_injective(self) -> bool | None:
        """True / False, or None when unknown."""
        return {"injective": True, "non-injective": False}.get(self.status)

    def to_dict(self) -> dict[str, Any]:
        return to_plain(asdict(self))

    def to_json(self, **kwargs) -> str:
        return json.dumps(self.to_dict(), **kwargs)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Verdict:
        return cls(**data)

    def witness_arrays(self) -> tuple[np.ndarray, np.ndarray] | None:
        if self.witness is None:
            return None
        return np.asarray(self.witness["x"], float), np.asarray(self.witness["y"], float)

    def summary(self) -> str:
        """One line for people."""
        arch = ",".join(map(str, self.architecture))
        cert = " ".join(f"{k}={v}" for k, v in self.certificate.items() if np.isscalar(v))
        line = f"{self.status} ({self.mode}, {self.method}, arch {arch}, {self.wall_time:.3g} s)"
        if cert:
            line += f" {cert}"
        if self.layer is not None:
            line += f" layer={self.layer}"
        if self.message:
            line += f": {self.message}"
        return line


def to_plain(obj: Any) -> Any:
    """A copy of ``obj`` with numpy scalars and arrays turned into Python types.

    Dicts (keys made strings), lists and tuples are copied recursively, so that
    ``json.dumps`` never fails on them; the store writes its JSON columns through it.

    Parameters
    ----------
    obj : Any
        A value, possibly nested, holding numpy values.

    Returns
    -------
    Any
        The same structure with ``int``, ``float``, ``bool``, lists and ``str``-keyed dicts.
    """
    if isinstance(obj, dict):
        return {str(k): to_plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_plain(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, np.generic):
        return obj.item()
    return obj
