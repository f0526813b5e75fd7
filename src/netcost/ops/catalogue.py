"""Imports every op family so that each registers its kinds."""

from . import linear, conv  # noqa: F401
