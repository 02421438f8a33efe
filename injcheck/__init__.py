"""injcheck: exact injectivity checks for ReLU networks, sweeps and theory.

Public API
----------
random_relu_net
    Seeded random Gaussian ReLU networks in PyTorch.
check
    Decide injectivity (global, local or pointwise) and return a :class:`Verdict`.
Verdict
    The JSON-serialisable result of a check.
run_sweep, SweepSpec
    Monte Carlo sweeps into a resumable SQLite store (:mod:`injcheck.sweep`).
theory
    Replica / random-duality predictions of the thresholds (:mod:`injcheck.theory`).
"""

from importlib import import_module

from .check import check
from .networks import Layer, Network, layers_from_model, load_weights, random_relu_net
from .verdict import Verdict

__version__ = "0.1.0"

__all__ = [
    "Layer",
    "Network",
    "SweepSpec",
    "Verdict",
    "__version__",
    "check",
    "layers_from_model",
    "load_weights",
    "random_relu_net",
    "run_sweep",
    "theory",
]

# Heavier parts load on first use, so `import injcheck` stays quick.
_LAZY = {
    "theory": ("injcheck.theory", None),
    "run_sweep": ("injcheck.sweep", "run_sweep"),
    "SweepSpec": ("injcheck.sweep", "SweepSpec"),
}


def __getattr__(name: str):
    if name in _LAZY:
        module_name, attr = _LAZY[name]
        module = import_module(module_name)
        return module if attr is None else getattr(module, attr)
    raise AttributeError(f"module 'injcheck' has no attribute {name!r}")
