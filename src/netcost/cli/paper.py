"""`netcost paper TABLE`: a paper's published table beside what netcost computes.

The data and the comparison live in netcost.zoo.papers; this module only renders them
(a rich table with numbered explanations, markdown, or JSON).
"""

from __future__ import annotations

import io
import json
import sys
from typing import Any

import click

FORMAT = click.Choice(["table", "json", "markdown"], case_sensitive=False)
WIDTH = 120  # the table's width when the output is not a terminal


def _decimals(value: float) -> int:
    text = f"{value:g}"
    return len(text.split(".")[1]) if "." in text else 0


def _value(cell: Any) -> str:
    """The computed value in the paper's unit, one decimal finer than the paper prints."""
    return f"{cell.value:,.{_decimals(cell.published) + 1}f}"


def _rows(comparison: Any) -> tuple[list[str], list[list[str]], list[tuple[int, str]]]:
    """Headers, body cells (with footnote marks) and the numbered explanations."""
    quantities = comparison.table.quantities
    shapes = any(r.row.output for r in comparison.rows)  # does the paper print output sizes?
    headers = ["row"] + (["output"] if shapes else [])
    for q in quantities:
        headers += [f"{q.label}\npaper {q.unit}", f"{q.label}\nnetcost {q.unit}", "Δ"]
    body, notes = [], []
    for r in comparison.rows:
        cells = [r.row.label]
        if shapes:
            same = r.output == r.row.output
            cells.append(r.output if same else f"{r.output} (paper {r.row.output})")
        by_key = {c.quantity.key: c for c in r.cells}
        for q in quantities:
            c = by_key.get(q.key)
            if c is None:
                cells += ["", "", ""]
                continue
            diff = f"{100 * c.rel_diff:+.1f}%"
            why = r.row.notes.get(q.key)
            if why:
                notes.append((len(notes) + 1, f"{r.row.label}, {q.label}: {why}"))
                diff += f"[{len(notes)}]"
            if c.flagged(comparison.threshold):
                diff += "⚑"
            cells += [f"{c.published:g}", _value(c), diff]
        body.append(cells)
    return headers, body, notes


def _footer(comparison: Any) -> list[str]:
    t = comparison.table
    flagged = comparison.flagged()
    lines = [f"⚑ differs from the paper by more than {100 * comparison.threshold:g}%: "
             f"{len(flagged)} of {sum(len(r.cells) for r in comparison.rows)} figures."]
    lines += [f"{q.label}: {q.meaning}." for q in t.quantities]
    lines += list(t.notes)
    return lines


def render_table(comparison: Any, *, console: Any = None) -> str:
    from rich import box
    from rich.console import Console
    from rich.table import Table

    headers, body, notes = _rows(comparison)
    t = comparison.table
    table = Table(title=f"{t.title} — {t.source}", title_justify="left", box=box.SIMPLE_HEAD)
    for h in headers:
        text = h in ("row", "output")
        table.add_column(h, justify="left" if text else "right", no_wrap=not text,
                         min_width=10 if text else None)
    for cells in body:
        flagged = any("⚑" in c for c in cells)
        table.add_row(*cells, style="bold red" if flagged else None)
    buffer = io.StringIO()
    out = console or Console(file=buffer, width=WIDTH, color_system=None)
    out.print(table)
    for n, text in notes:
        out.print(f"[{n}] {text}", highlight=False, markup=False)
    for line in _footer(comparison):
        out.print(line, highlight=False, markup=False, style="dim")
    return buffer.getvalue()


def render_markdown(comparison: Any) -> str:
    from ..render.markdown import pipe_table

    headers, body, notes = _rows(comparison)
    t = comparison.table
    lines = [f"## {t.title}", "", f"{t.source}", ""]
    lines += pipe_table([h.replace("\n", " ") for h in headers], body,
                        [h not in ("row", "output") for h in headers])
    lines += [""] + [f"{n}. {text}" for n, text in notes]
    lines += [""] + [f"- {line}" for line in _footer(comparison)]
    return "\n".join(lines) + "\n"


@click.command()
@click.argument("table", metavar="TABLE")
@click.option("--format", "fmt", type=FORMAT, default="table", show_default=True,
              help="Output format.")
@click.option("--output", "-o", type=click.Path(dir_okay=False, writable=True),
              help="Write to FILE instead of the terminal.")
def paper(table: str, fmt: str, output: str | None) -> None:
    """A paper's published table beside netcost's figures: googlenet or resnet.

    Every row is computed from the zoo's paper-faithful model in the paper's units; rows
    that differ by more than 2% are flagged and explained where the reason is known.
    """
    from ..zoo.papers import compare
    from .report import emit

    comparison = compare(table)
    fmt = fmt.lower()
    if fmt == "json":
        emit(json.dumps(comparison.to_dict(), indent=2, ensure_ascii=False) + "\n", output)
    elif fmt == "markdown":
        emit(render_markdown(comparison), output)
    elif output is None and sys.stdout.isatty():
        from rich.console import Console

        render_table(comparison, console=Console())  # colours and the terminal's width
    else:
        emit(render_table(comparison), output)
