"""Imports every zoo family so that each registers its models."""

from . import alexnet, densenet, googlenet, lenet, resnet, vgg  # noqa: F401
