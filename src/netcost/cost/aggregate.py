"""Collapse per-layer rows to a module depth, as fvcore sums op counts up the module path.

Depth d keeps the first d components of a dotted layer name: at depth 2, "layer1.0.conv1"
and "layer1.0.bn1" are summed into one row "layer1.0". A name with d or fewer components
is kept as it is. Every integer column of a group is the sum of its members, so the column
sums of the collapsed rows equal those of the original rows.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from ..errors import InvalidArgument
from ..report import LayerRow, Report

BLOCK = "block"  # the kind of a group whose members are of different kinds


def _summed_fields() -> tuple[str, ...]:
    # Every int column of LayerRow is additive (params, bytes, MACs, ops, activations ...);
    # reading them from the dataclass keeps columns added later summed too.
    return tuple(f.name for f in dataclasses.fields(LayerRow) if f.type in ("int", int))


def check_depth(depth: int) -> int:
    if not isinstance(depth, int) or isinstance(depth, bool) or depth < 1:
        raise InvalidArgument(f"depth must be a positive integer (1 = top-level blocks), got {depth!r}")
    return depth


def prefix(name: str, depth: int) -> str:
    """'layer1.0.conv1' at depth 2 -> 'layer1.0'."""
    return ".".join(name.split(".")[:depth])


def collapse(rows: Sequence[LayerRow], depth: int) -> tuple[LayerRow, ...]:
    """Rows summed by the first `depth` components of their names, in order of first
    appearance. A group's input shapes are its first member's, its output shape its last
    member's, and its kind the members' common kind or "block"."""
    check_depth(depth)
    groups: dict[str, list[LayerRow]] = {}
    for row in rows:
        groups.setdefault(prefix(row.name, depth), []).append(row)
    summed = _summed_fields()
    out = []
    for name, members in groups.items():
        if len(members) == 1 and members[0].name == name:
            out.append(members[0])
            continue
        kinds = {m.kind for m in members}
        totals = {f: sum(getattr(m, f) for m in members) for f in summed}
        out.append(dataclasses.replace(
            members[0], name=name, kind=kinds.pop() if len(kinds) == 1 else BLOCK,
            output_shape=members[-1].output_shape, **totals))
    return tuple(out)


def collapse_report(report: Report, depth: int | None) -> Report:
    """The report with its layers collapsed to `depth` (None: unchanged). The totals are
    unchanged; the JSON says the depth under "depth"."""
    if depth is None:
        return report
    layers = collapse(report.layers, depth)
    return dataclasses.replace(report, layers=layers, extra={**report.extra, "depth": depth})


__all__ = ["BLOCK", "check_depth", "collapse", "collapse_report", "prefix"]
