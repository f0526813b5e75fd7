"""Imports every zoo family so that each registers its models."""

from . import densenet, resnet, vgg  # noqa: F401
