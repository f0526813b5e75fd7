"""The per-layer table as GitHub-flavoured markdown, for READMEs and notes."""

from __future__ import annotations

from collections.abc import Sequence

from ..report import Report
from .layout import display, summary_items
from .sections import Section, sections
from .table import header_items


def escape(text: str) -> str:
    return text.replace("|", "\\|")


def pipe_table(headers: Sequence[str], rows: Sequence[Sequence[str]],
               right: Sequence[bool]) -> list[str]:
    out = ["| " + " | ".join(escape(h) for h in headers) + " |",
           "|" + "|".join("---:" if r else "---" for r in right) + "|"]
    out += ["| " + " | ".join(escape(c) for c in row) + " |" for row in rows]
    return out


def layer_table(report: Report) -> list[str]:
    d = display(report, total_label="**total**", mark=lambda c: f"**{c}**")
    return pipe_table(d.headers, d.body + d.footer, d.right)


def section_table(section: Section) -> list[str]:
    out = ["", f"### {section.title}", ""]
    out += pipe_table(["", "value"], [[f"{k}", v] for k, v in section.items], [False, False])
    out += [f"\n{n}" for n in section.notes]
    return out


def render(report: Report) -> str:
    lines = [f"## netcost report: {escape(report.model)}", ""]
    lines += [f"- **{k}**: {escape(v)}" for k, v in header_items(report)]
    lines += [""] + layer_table(report)
    lines += section_table(Section("totals", tuple(summary_items(report))))
    for section in sections(report):
        lines += section_table(section)
    return "\n".join(lines) + "\n"
