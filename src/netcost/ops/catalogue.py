"""Imports every op family so that each registers its kinds."""

from . import activation, conv, linear, merge, norm, pool, shape  # noqa: F401
