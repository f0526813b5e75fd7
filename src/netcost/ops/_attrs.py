"""Shared attribute parsing for op specs: positive ints, pairs, reals, dimension indices."""

from __future__ import annotations

from typing import Any

from ..errors import InvalidArgument, ShapeError


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


def real(name: str, value: Any, *, low: float | None = None, high: float | None = None,
         low_open: bool = False, high_open: bool = False) -> float:
    """A float within [low, high] (open ends when asked): dropout p, LRN alpha ..."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise InvalidArgument(f"{name} must be a number, got {value!r}") from None
    if v != v:  # NaN
        raise InvalidArgument(f"{name} must be a number, got {value!r}")
    too_low = low is not None and (v < low or (low_open and v == low))
    too_high = high is not None and (v > high or (high_open and v == high))
    if too_low or too_high:
        lo = "-inf" if low is None else f"{low:g}"
        hi = "inf" if high is None else f"{high:g}"
        interval = f"{'(' if low_open else '['}{lo}, {hi}{')' if high_open else ']'}"
        raise InvalidArgument(f"{name} must be in {interval}, got {v:g}")
    return v


def dim_index(name: str, value: Any, ndim: int) -> int:
    """A per-sample dimension index, negative counting from the end, as PyTorch."""
    try:
        d = int(value)
    except (TypeError, ValueError):
        raise InvalidArgument(f"{name} must be an integer, got {value!r}") from None
    if not -ndim <= d < ndim:
        raise InvalidArgument(
            f"{name}={d} is out of range for a {ndim}-dimensional per-sample shape "
            f"(use {-ndim}..{ndim - 1}; the batch dimension is not counted)"
        )
    return d % ndim


def rank(kind: str, shape: tuple[int, ...], ndim: int, example: str = "CxHxW") -> None:
    if len(shape) != ndim:
        raise ShapeError(
            f"{kind} expects a {example} input per sample, got {'x'.join(map(str, shape))}"
        )
