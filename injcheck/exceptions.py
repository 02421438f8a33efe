"""Exceptions raised by injcheck.

Every error a user can cause derives from :class:`InjcheckError`; the CLI turns
it into a one-line message and exit code 2.
"""


class InjcheckError(Exception):
    """Base class for all errors that injcheck raises on purpose."""


class InvalidNetworkError(InjcheckError, ValueError):
    """The network or weights cannot be checked (bad shape, NaN/inf, unsupported module)."""


class InvalidArgumentError(InjcheckError, ValueError):
    """An option has a value outside its documented range."""


class LayoutMissingError(InvalidNetworkError):
    """A weights file holds matrices but not the activations between them."""


class WeightsFileError(InjcheckError, OSError):
    """A weights file is missing, unreadable or holds no usable matrices."""


class PickleRefusedError(WeightsFileError):
    """A weights file holds pickled objects (a whole module), and unpickling was not allowed."""


class OutputError(InjcheckError, OSError):
    """An output file or directory cannot be written."""


class SpecError(InjcheckError, ValueError):
    """A sweep specification is malformed or inconsistent."""


class StoreError(InjcheckError, RuntimeError):
    """A results store cannot be opened, or holds rows from another sweep."""
