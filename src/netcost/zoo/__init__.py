"""Architectures as their papers define them. `build(name)` returns a Network."""

from .registry import ZooEntry, build, entries, get, model

__all__ = ["ZooEntry", "build", "entries", "get", "model"]
