"""Importers translate a user's model into netcost's IR. Only `torch` exists today; it is
imported lazily (PyTorch is the optional extra `netcost[torch]`)."""

from __future__ import annotations

import ast
from collections.abc import Sequence
from typing import Any

from ..errors import InvalidArgument


def parse_model_args(items: Sequence[str]) -> dict[str, Any]:
    """`--arg name=value` pairs -> keyword arguments: each value is a Python literal when it
    reads as one (3, 0.5, True, None, (1, 2), 'x'), else the plain string."""
    out: dict[str, Any] = {}
    for item in items:
        name, sep, text = item.partition("=")
        name = name.strip()
        if not sep or not name.isidentifier():
            raise InvalidArgument(f"--arg {item!r} is not name=value, e.g. --arg num_classes=10")
        try:
            out[name] = ast.literal_eval(text.strip())
        except (ValueError, SyntaxError):
            out[name] = text.strip()
    return out


__all__ = ["parse_model_args"]
