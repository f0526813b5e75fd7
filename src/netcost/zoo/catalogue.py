"""Imports every zoo family so that each registers its models."""

from . import resnet  # noqa: F401
