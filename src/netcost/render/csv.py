"""One CSV row per layer with the exact integers of the JSON report (no human units).

No totals row, so that summing a column in a spreadsheet gives the total (params: tied
weights are counted once in the report's totals, once per use here).
"""

from __future__ import annotations

import csv
import dataclasses
import io

from ..ir import format_shape
from ..report import LayerRow, Report

TEXT = ("name", "kind", "input_shape", "output_shape")


def columns() -> list[str]:
    ints = [f.name for f in dataclasses.fields(LayerRow) if f.type in ("int", int)]
    return [*TEXT, *ints]


def render(report: Report) -> str:
    cols = columns()
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(cols)
    for row in report.layers:
        shapes = ";".join(format_shape(s) for s in row.input_shapes)
        writer.writerow([row.name, row.kind, shapes, format_shape(row.output_shape),
                         *(getattr(row, c) for c in cols[len(TEXT):])])
    return buf.getvalue()
