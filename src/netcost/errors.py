"""The errors a user can cause. The CLI turns each into one sentence and exit code 2."""

from __future__ import annotations


class NetcostError(Exception):
    """Base of every error netcost raises on bad input."""


class InvalidArgument(NetcostError, ValueError):
    """An option or attribute has a value netcost cannot use (zero size, unknown precision ...)."""


class ShapeError(NetcostError, ValueError):
    """Shapes that do not fit: a malformed shape, a kernel larger than its input, a clash."""


class UnknownModel(NetcostError, LookupError):
    """A model name that is neither in the zoo nor an importable path."""


class UnknownDevice(NetcostError, LookupError):
    """A device name missing from the catalogue."""


class MissingDependency(NetcostError, ImportError):
    """An optional extra (torch, matplotlib) is needed but not installed."""


class ModelImportError(NetcostError):
    """A user's model could not be imported, built or traced."""
