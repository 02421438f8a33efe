"""Exceptions raised by injcheck.

Every error a user can cause derives from :class:`InjcheckError`; the CLI turns
it into a one-line message and exit code 2. Library messages name the library's own
arguments; an error about one carries its name in ``argument``, for the CLI to name its flag.
"""

from __future__ import annotations


class InjcheckError(Exception):
    """Base class for all errors that injcheck raises on purpose.

    Parameters
    ----------
    *args
        The message (and, for the ``OSError`` kinds, whatever ``OSError`` takes).
    argument : str, optional
        The library argument at fault (``"workers"``, ``"spec_hash"``), so that a front end
        can name it in its own terms: the CLI says the flag (``--workers``) instead. The
        message either opens with this name (``"workers must be ..."``), or is about the
        argument's value without naming it (``"file not found: PATH"``).
    """

    def __init__(self, *args: object, argument: str | None = None) -> None:
        super().__init__(*args)
        self.argument = argument


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


class SweepAbortedError(InjcheckError, RuntimeError):
    """A sweep stopped because its trials kept raising (a broken install or environment)."""


class StoreError(InjcheckError, RuntimeError):
    """A results store cannot be opened, or holds rows from another sweep."""
