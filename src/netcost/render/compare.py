"""Models side by side (`netcost compare`) and the zoo's index (`netcost models`)."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ..cost.conventions import CONVENTIONS
from ..errors import InvalidArgument
from ..ir import format_shape
from ..report import Report
from ..units import iec, si
from .layout import input_line, precision_line

SCHEMA = "netcost.compare/1"


@dataclass(frozen=True)
class Measure:
    """One compared quantity: its JSON/CSV key, its title and its human form."""

    key: str
    title: str
    value: Callable[[Report], int | float | None]
    fmt: Callable[[Any], str]


def _total(key: str) -> Callable[[Report], int]:
    return lambda r: r.totals[key]


# Later cost models (memory, time) append their measures here.
MEASURES: list[Measure] = [
    Measure("params", "params", _total("params"), lambda n: f"{n:,}"),
    Measure("param_bytes", "storage", _total("param_bytes"), iec),
    Measure("macs", "MACs", _total("macs"), si),
    Measure("ops", "ops", _total("ops"), si),
    Measure("training_ops", "training ops", _total("training_ops"), si),
    Measure("activation_bytes", "activations", _total("activation_bytes"), iec),
]


def header(reports: Sequence[Report]) -> list[tuple[str, str]]:
    r = reports[0]
    return [("batch", str(r.batch)), ("precision", precision_line(r)),
            ("convention", f"{r.convention}: {CONVENTIONS[r.convention].description}")]


def cells(report: Report) -> list[str]:
    out = []
    for m in MEASURES:
        v = m.value(report)
        out.append("—" if v is None else m.fmt(v))
    coverage = report.coverage.get("status", "complete")
    return [report.model, input_line(report), *out, coverage]


def titles() -> list[str]:
    return ["model", "input", *(m.title for m in MEASURES), "coverage"]


def right() -> list[bool]:
    return [False, False, *([True] * len(MEASURES)), False]


def to_dict(reports: Sequence[Report]) -> dict[str, Any]:
    r = reports[0]
    return {
        "schema": SCHEMA,
        "batch": r.batch,
        "precision": r.precision,
        "convention": r.convention,
        "models": [{k: v for k, v in rep.to_dict().items() if k != "layers"}
                   for rep in reports],
    }


def render(reports: Sequence[Report], fmt: str = "table") -> str:
    if not reports:
        raise InvalidArgument("compare needs at least one model")
    if fmt == "json":
        from .json import dumps

        return dumps(to_dict(reports))
    if fmt == "csv":
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(["model", "input", *(m.key for m in MEASURES), "coverage"])
        for r in reports:
            writer.writerow([r.model, format_shape(r.input), *(m.value(r) for m in MEASURES),
                             r.coverage.get("status", "complete")])
        return buf.getvalue()
    rows = [cells(r) for r in reports]
    if fmt == "markdown":
        from .markdown import escape, pipe_table

        lines = ["## netcost compare", ""]
        lines += [f"- **{k}**: {escape(v)}" for k, v in header(reports)]
        return "\n".join([*lines, "", *pipe_table(titles(), rows, right())]) + "\n"
    from .table import grid, key_values

    lines = ["netcost compare", *key_values(header(reports)), ""]
    return "\n".join([*lines, *grid(titles(), rows, right())]) + "\n"


def render_models(entries: Sequence[Any], fmt: str = "table") -> str:
    """One line per zoo entry: name, family, the paper's input, what it is."""
    if fmt == "json":
        from .json import dumps

        return dumps([{"name": e.name, "family": e.family, "input": list(e.input_shape),
                       "torchvision": e.torchvision, "summary": e.summary} for e in entries])
    from .table import grid

    rows = [[e.name, e.family, format_shape(e.input_shape), e.summary] for e in entries]
    lines = grid(["model", "family", "input", "what it is"], rows, [False] * 4)
    return "\n".join(lines) + "\n"
