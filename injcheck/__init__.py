"""injcheck: exact injectivity checks for ReLU networks, sweeps and theory.

Public API
----------
random_relu_net
    Seeded random Gaussian ReLU networks in PyTorch.
check
    Decide injectivity (global, local or pointwise) and return a :class:`Verdict`.
Verdict
    The JSON-serialisable result of a check.
theory
    Replica / random-duality predictions of the thresholds.
"""

from .networks import Layer, layers_from_model, load_weights, random_relu_net
from .verdict import Verdict

__version__ = "0.1.0"

__all__ = ["Layer", "Verdict", "layers_from_model", "load_weights", "random_relu_net", "__version__"]
