"""The per-layer table for a terminal: header lines, one row per layer, totals, sections.

Drawn as aligned plain text rather than with rich.table: rich takes about 0.3 s to lay out
the 500-odd rows of ResNet-152 on this project's machine, more than half of the 0.5 s that
`netcost report resnet152` may take from start to exit. Column widths here are one pass of
len(); the look (a rule under the header and above the totals) follows rich's SIMPLE box.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence

from ..cost.conventions import CONVENTIONS
from ..report import Report
from .layout import coverage_line, display, input_line, precision_line, summary_items
from .sections import Section, sections

WIDTH = 100  # wrap width of prose lines (the table itself is as wide as it needs)
RULE = "─"


def grid(headers: Sequence[str], rows: Sequence[Sequence[str]], right: Sequence[bool],
         *, footer: Sequence[Sequence[str]] = ()) -> list[str]:
    """Aligned columns, two spaces apart, a rule under the header and above the footer."""
    all_rows = [headers, *rows, *footer]
    widths = [max(len(r[i]) for r in all_rows) for i in range(len(headers))]

    def line(cells: Sequence[str]) -> str:
        parts = [c.rjust(w) if r else c.ljust(w) for c, w, r in zip(cells, widths, right, strict=True)]
        return "  ".join(parts).rstrip()

    rule = RULE * (sum(widths) + 2 * (len(widths) - 1))
    out = [line(headers), rule, *(line(r) for r in rows)]
    if footer:
        out += [rule, *(line(r) for r in footer)]
    return out


def key_values(items: Sequence[tuple[str, str]], *, indent: int = 2) -> list[str]:
    """'label  value' lines, values wrapped under each other."""
    if not items:
        return []
    pad = max(len(k) for k, _ in items) + 2
    lead = " " * (indent + pad)
    out = []
    for key, value in items:
        first = " " * indent + key.ljust(pad)
        out += textwrap.wrap(value, WIDTH, initial_indent=first, subsequent_indent=lead) or [first]
    return out


def header_items(report: Report) -> list[tuple[str, str]]:
    model = report.model + (f": {report.description}" if report.description else "")
    convention = f"{report.convention}: {CONVENTIONS[report.convention].description}"
    items = [
        ("model", model),
        ("input", f"{input_line(report)} (batch {report.batch}, shapes batch first)"),
        ("precision", precision_line(report)),
        ("convention", convention),
        ("coverage", coverage_line(report)),
    ]
    if "depth" in report.extra:
        items.append(("depth", f"{report.extra['depth']}: layers summed by the first "
                               f"{report.extra['depth']} part(s) of their module path"))
    return items


def layer_lines(report: Report) -> list[str]:
    d = display(report)
    return grid(d.headers, d.body, d.right, footer=d.footer)


def section_lines(section: Section) -> list[str]:
    out = ["", section.title, *key_values(section.items)]
    out += [f"  {n}" for n in section.notes]
    return out


def render(report: Report) -> str:
    lines = [f"netcost report · {report.model}", *key_values(header_items(report)), ""]
    lines += layer_lines(report)
    lines += section_lines(Section("totals", tuple(summary_items(report))))
    for section in sections(report):
        lines += section_lines(section)
    return "\n".join(lines) + "\n"
