"""Precisions (bits per number) and human formatting. Counts stay exact integers elsewhere;
only renderers call the formatters here."""

from __future__ import annotations

import difflib
import re

from .errors import InvalidArgument

# Bits per stored number. int4 packs two numbers per byte, so bytes are rounded up per tensor.
PRECISION_BITS: dict[str, int] = {
    "fp64": 64,
    "fp32": 32,
    "tf32": 32,  # stored as fp32; only the matmul units differ
    "fp16": 16,
    "bf16": 16,
    "fp8": 8,
    "int8": 8,
    "int4": 4,
}


def check_precision(name: str) -> str:
    key = name.lower()
    if key not in PRECISION_BITS:
        raise InvalidArgument(
            f"unknown precision {name!r}; choose one of {', '.join(PRECISION_BITS)}"
        )
    return key


def nbytes(numbers: int, precision: str) -> int:
    """Bytes to hold `numbers` values at `precision`, rounded up to whole bytes."""
    bits = PRECISION_BITS.get(precision) or PRECISION_BITS[check_precision(precision)]
    return -(-numbers * bits // 8)


def bytes_per_number(precision: str) -> float:
    return PRECISION_BITS[check_precision(precision)] / 8


def nearest(word: str, choices: list[str] | tuple[str, ...], n: int = 3) -> list[str]:
    return difflib.get_close_matches(word.lower(), [c.lower() for c in choices], n=n, cutoff=0.5)


# --- formatting (renderers only) -------------------------------------------------------

_SI = [(10**12, "T"), (10**9, "G"), (10**6, "M"), (10**3, "K")]
_IEC = [(2**40, "TiB"), (2**30, "GiB"), (2**20, "MiB"), (2**10, "KiB")]


def si(n: float, digits: int = 2) -> str:
    """1234567 -> '1.23 M' (counts: parameters, MACs, ops)."""
    for scale, suffix in _SI:
        if abs(n) >= scale:
            return f"{n / scale:.{digits}f} {suffix}"
    return f"{n:,.0f}" if float(n).is_integer() else f"{n:.{digits}f}"


def iec(n: float, digits: int = 2) -> str:
    """1536 -> '1.50 KiB' (bytes)."""
    for scale, suffix in _IEC:
        if abs(n) >= scale:
            return f"{n / scale:.{digits}f} {suffix}"
    return f"{n:,.0f} B"


def seconds(s: float) -> str:
    """Durations from microseconds to days."""
    if s < 1e-3:
        return f"{s * 1e6:.1f} µs"
    if s < 1:
        return f"{s * 1e3:.1f} ms"
    if s < 120:
        return f"{s:.2f} s"
    if s < 7200:
        return f"{s / 60:.1f} min"
    if s < 172800:
        return f"{s / 3600:.1f} h"
    return f"{s / 86400:.1f} d"


_SIZE = re.compile(r"^\s*([0-9]*\.?[0-9]+)\s*([kmgtp]?i?b?)\s*$", re.IGNORECASE)
_SIZE_UNITS = {
    "": 1, "b": 1,
    "k": 10**3, "kb": 10**3, "m": 10**6, "mb": 10**6, "g": 10**9, "gb": 10**9,
    "t": 10**12, "tb": 10**12,
    "ki": 2**10, "kib": 2**10, "mi": 2**20, "mib": 2**20, "gi": 2**30, "gib": 2**30,
    "ti": 2**40, "tib": 2**40,
}


def parse_bytes(text: str) -> int:
    """'24GiB' -> 25769803776, '16 GB' -> 16000000000."""
    m = _SIZE.match(str(text))
    unit = m.group(2).lower() if m else None
    if not m or unit not in _SIZE_UNITS:
        raise InvalidArgument(
            f"cannot read memory size {text!r}; write a number and a unit, e.g. 24GiB or 16GB"
        )
    value = int(float(m.group(1)) * _SIZE_UNITS[unit])
    if value <= 0:
        raise InvalidArgument(f"memory size {text!r} must be positive")
    return value
