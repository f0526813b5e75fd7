"""Shared attribute parsing for op specs: positive ints, pairs, padding."""

from __future__ import annotations

from typing import Any

from ..errors import InvalidArgument


def positive(name: str, value: Any, *, zero_ok: bool = False) -> int:
    try:
        v = int(value)
    except (TypeError, ValueError):
        raise InvalidArgument(f"{name} must be an integer, got {value!r}") from None
    if v < 0 or (v == 0 and not zero_ok):
        raise InvalidArgument(f"{name} must be {'non-negative' if zero_ok else 'positive'}, got {v}")
    return v


def pair(name: str, value: Any, *, zero_ok: bool = False) -> tuple[int, int]:
    """3 -> (3, 3); '5x5' -> (5, 5); (3, 1) -> (3, 1)."""
    if isinstance(value, str):
        parts = value.lower().replace("×", "x").split("x")
        if len(parts) == 1:
            parts = parts * 2
        if len(parts) != 2:
            raise InvalidArgument(f"{name} must be one size or two joined by 'x', got {value!r}")
        value = parts
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise InvalidArgument(f"{name} must have two sizes, got {value!r}")
        return positive(name, value[0], zero_ok=zero_ok), positive(name, value[1], zero_ok=zero_ok)
    v = positive(name, value, zero_ok=zero_ok)
    return v, v
