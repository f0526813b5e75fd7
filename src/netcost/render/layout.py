"""What the per-layer table shows, as exact integers, shared by the text and markdown tables.

The body rows are the report's layers; when shared (tied) weights make the params column
sum differ from the total, an explicit adjustment row says so, so every numeric column of
the table sums to its totals row (the check torchinfo makes).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..ir import format_shape
from ..report import Report
from ..units import PRECISION_BITS, iec, si

TIED_LABEL = "shared weights counted once"


@dataclass(frozen=True)
class Column:
    key: str  # the LayerRow / totals key holding the exact value
    title: str
    fmt: Callable[[int], str]


def _params(n: int) -> str:
    return f"{n:,}"


# The numeric columns: params exact (as papers and torchvision quote them), counts in SI,
# activation sizes in IEC bytes at the report's precision.
NUMERIC: tuple[Column, ...] = (
    Column("params", "params", _params),
    Column("macs", "MACs", si),
    Column("ops", "ops", si),
    Column("activation_bytes", "activations", iec),
)
TEXT_TITLES = ("#", "name", "kind", "output shape")


@dataclass(frozen=True)
class TableData:
    """Exact values of the table: body rows, an optional adjustment row, the totals row."""

    text: tuple[tuple[str, ...], ...]  # per body row: index, name, kind, output shape
    values: tuple[tuple[int, ...], ...]  # per body row: one int per NUMERIC column
    adjustment: tuple[int, ...] | None  # tied weights: negative params, zeros elsewhere
    totals: tuple[int, ...]


def table_data(report: Report) -> TableData:
    keys = [c.key for c in NUMERIC]
    text = tuple((str(i), r.name, r.kind, format_shape(r.output_shape))
                 for i, r in enumerate(report.layers, 1))
    values = tuple(tuple(getattr(r, k) for k in keys) for r in report.layers)
    totals = tuple(report.totals[k] for k in keys)
    column_params = sum(v[0] for v in values)
    adjustment = None
    if column_params != totals[0]:
        adjustment = (totals[0] - column_params,) + (0,) * (len(keys) - 1)
    return TableData(text, values, adjustment, totals)


def precision_line(report: Report) -> str:
    bits = PRECISION_BITS[report.precision]
    per = f"{bits // 8} bytes" if bits % 8 == 0 else f"{bits} bits"
    return f"{report.precision} ({per} per number)"


def coverage_line(report: Report) -> str:
    cov = report.coverage
    unsupported = cov.get("unsupported") or {}
    if not unsupported:
        return str(cov.get("status", "complete"))
    listed = ", ".join(f"{op} ×{n}" for op, n in sorted(unsupported.items()))
    return f"{cov.get('status', 'partial')}: no formula for {listed} (counted as nothing)"


def input_line(report: Report) -> str:
    shapes = [format_shape(s) for s in report.inputs.values()]
    if len(shapes) == 1:
        return shapes[0]
    return ", ".join(f"{k} {format_shape(s)}" for k, s in report.inputs.items())


def summary_items(report: Report) -> list[tuple[str, str]]:
    """The totals below the table: exact integers with human units beside them."""
    t = report.totals
    items = [
        ("params", f"{t['params']:,} ({si(t['params'])}), {iec(t['param_bytes'])} "
                   f"at {report.precision}"),
    ]
    if t.get("buffers"):
        items.append(("buffers", f"{t['buffers']:,} ({iec(t['buffer_bytes'])})"))
    items += [
        ("MACs", f"{t['macs']:,} ({si(t['macs'])})"),
        (f"ops ({report.convention})", f"{t['ops']:,} ({si(t['ops'])})"),
        ("backward ops", f"{t['backward_ops']:,} ({si(t['backward_ops'])})"),
        ("training ops", f"{t['training_ops']:,} ({si(t['training_ops'])}) "
                         "forward + backward"),
        ("activations", f"{t['activations']:,} numbers ({iec(t['activation_bytes'])}): "
                        "every layer's output, summed"),
        ("lecture space", f"{t['lecture_space']:,} numbers "
                          f"({iec(t['lecture_space'] * PRECISION_BITS[report.precision] / 8)}): "
                          "weights once, weight gradients, inputs, outputs and their "
                          "gradients per sample"),
    ]
    return items


@dataclass(frozen=True)
class Display:
    """The table as strings: headers, right-alignment per column, body and footer rows."""

    headers: tuple[str, ...]
    right: tuple[bool, ...]
    body: list[list[str]]
    footer: list[list[str]]


def display(report: Report, *, total_label: str = "total",
            mark: Callable[[str], str] = str) -> Display:
    """Human-formatted rows; `mark` dresses the totals cells (markdown bolds them)."""
    data = table_data(report)
    fmt = [c.fmt for c in NUMERIC]

    def cells(values: tuple[int, ...]) -> list[str]:
        return [f(v) for f, v in zip(fmt, values, strict=True)]

    body = [[*t, *cells(v)] for t, v in zip(data.text, data.values, strict=True)]
    footer = []
    if data.adjustment is not None:
        footer.append(["", TIED_LABEL, "", "", f"{data.adjustment[0]:,}",
                       *([""] * (len(NUMERIC) - 1))])
    footer.append(["", total_label, "", "", *(mark(c) for c in cells(data.totals))])
    headers = (*TEXT_TITLES, *(c.title for c in NUMERIC))
    right = (True, False, False, False, *([True] * len(NUMERIC)))
    return Display(headers, right, body, footer)
