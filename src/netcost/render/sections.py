"""Extra report sections (memory, time ...) as titled key/value lists, for every renderer.

A section is drawn from a dict the report carries (Report.memory, Report.time). Its cost
model may register a dedicated builder in BUILDERS ("module:function" under netcost, called
with the report, returning a list of Section); without one, the dict is shown generically:
nested keys joined by dots, byte counts in IEC units, seconds as durations.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..report import Report
from ..units import iec, seconds


@dataclass(frozen=True)
class Section:
    title: str
    items: tuple[tuple[str, str], ...]  # (label, value), in order
    notes: tuple[str, ...] = ()


# Report attribute -> its title; the order in which the sections are shown.
SECTIONS: dict[str, str] = {"memory": "memory", "time": "time"}
# Report attribute -> "module:function" (under netcost) building its sections.
BUILDERS: dict[str, str] = {"memory": "render.memory:sections", "time": "render.time:sections"}


def sections(report: Report) -> list[Section]:
    out: list[Section] = []
    for attr, title in SECTIONS.items():
        data = getattr(report, attr, None)
        if not data:
            continue
        if attr in BUILDERS:
            module, func = BUILDERS[attr].split(":")
            out += getattr(importlib.import_module(f"netcost.{module}"), func)(report)
        else:
            out.append(generic(title, data))
    return out


def generic(title: str, data: Mapping[str, Any]) -> Section:
    return Section(title, tuple(_flatten(data, "")))


def _flatten(data: Mapping[str, Any], prefix: str) -> list[tuple[str, str]]:
    items: list[tuple[str, str]] = []
    for key, value in data.items():
        label = f"{prefix}{key}"
        if isinstance(value, Mapping):
            items += _flatten(value, label + ".")
        elif isinstance(value, (list, tuple)) and value and isinstance(value[0], Mapping):
            items.append((label, f"{len(value)} entries (see --format json)"))
        else:
            items.append((label, format_value(str(key), value)))
    return items


def format_value(key: str, value: Any) -> str:
    """Human form of one value, chosen by the key's unit suffix."""
    if isinstance(value, bool) or value is None:
        return str(value).lower() if value is not None else "—"
    if isinstance(value, int):
        if key.endswith("bytes"):
            return f"{iec(value)} ({value:,} B)"
        return f"{value:,}"
    if isinstance(value, float):
        if key.endswith("_s") or key == "s":
            return seconds(value)
        if key.endswith("bytes"):
            return iec(value)
        return f"{value:.4g}"
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value)
    return str(value)
