"""`netcost tools MODEL`: the model's total under every convention, netcost's own and the
tools' (fvcore, ptflops, thop, PyTorch's FlopCounterMode), each with what it includes and
its difference from `macs` by kind. This is why fvcore says 4.11 G for ResNet-50 and thop
4.13 G: they count the same layers by different rules (cost/conventions.py).

An import path is traced in eval mode, as the tools run a model (ptflops and thop switch
to it; fvcore and FlopCounterMode are given eval models): no auxiliary heads, no dropout.
"""

from __future__ import annotations

import io
from collections import Counter
from typing import Any

import click

# netcost's own first, the tools after; every convention appears once
ORDER = ("macs", "fvcore", "ptflops", "thop", "flopcounter", "lecture", "flops")


def load_network(model: str, *, input_shape: str | None, args: dict[str, Any] | None) -> Any:
    """A zoo name, or an import path traced in eval mode."""
    from ..api import load

    if ":" in model:
        from ..importers import torch as torch_importer

        return torch_importer.load(model, input_shape=input_shape, args=args, mode="eval")
    return load(model, input_shape=input_shape, args=args)


def summarise(network: Any, *, batch: int = 1) -> dict[str, Any]:
    """Every convention's total for `network` at `batch`, with its difference from `macs`
    split by the labelled terms of cost/conventions.py (exact integers)."""
    from ..api import positive_int
    from ..cost.conventions import CONVENTIONS, MACS, forward_ops, terms

    batch = positive_int("batch", batch)
    macs = batch * sum(layer.cost.macs for layer in network.layers)
    rows = []
    for name in [*ORDER, *(c for c in CONVENTIONS if c not in ORDER)]:
        conv = CONVENTIONS[name]
        parts: Counter[str] = Counter()
        for layer in network.layers:
            parts.update(terms(layer, name))
        ops = batch * sum(forward_ops(layer.cost, name, layer) for layer in network.layers)
        diff = {k: batch * v for k, v in parts.items() if k != MACS and v}
        rows.append({"name": name, "tool": conv.tool, "summary": conv.summary or conv.description,
                     "ops": ops, "difference": ops - macs,
                     "terms": dict(sorted(diff.items(), key=lambda kv: -abs(kv[1])))})
    unsupported = dict(network.extra.get("unsupported", {}))
    return {
        "schema": "netcost.tools/1",
        "model": network.name,
        "input": [batch, *network.input_shape],
        "batch": batch,
        "mode": network.extra.get("mode"),
        "macs": macs,
        "conventions": rows,
        "coverage": {"status": "partial" if unsupported else "complete",
                     "unsupported": unsupported},
    }


def render_table(summary: dict[str, Any]) -> str:
    from rich.console import Console
    from rich.table import Table

    from ..ir import format_shape
    from ..units import si

    buffer = io.StringIO()
    console = Console(file=buffer, highlight=False, soft_wrap=False, width=170)
    mode = f", {summary['mode']} mode" if summary["mode"] else ""
    console.print(f"[bold]netcost tools · {summary['model']}[/]  input "
                  f"{format_shape(tuple(summary['input']))} (batch {summary['batch']}{mode})")
    table = Table(show_header=True, header_style="bold", show_lines=True)
    table.add_column("convention")
    table.add_column("ops", justify="right")
    table.add_column("", justify="right", style="dim")
    table.add_column("= macs + …")
    table.add_column("includes", max_width=40)
    for row in summary["conventions"]:
        numbers = [f"{v:+,}" for v in row["terms"].values()]
        width = max(map(len, numbers), default=0)
        lines = [f"{n:>{width}} {k}" for n, k in zip(numbers, row["terms"], strict=True)]
        table.add_row(row["name"], f"{row['ops']:,}", si(row["ops"]), "\n".join(lines) or "0",
                      row["summary"])
    console.print(table)
    for row in summary["conventions"]:
        if row["tool"]:
            console.print(f"[dim]{row['name']}: {row['tool']}[/]")
    if summary["coverage"]["status"] != "complete":
        ops = ", ".join(f"{k} ×{v}" for k, v in summary["coverage"]["unsupported"].items())
        console.print(f"coverage partial: no formula for {ops} (counted 0 everywhere)")
    return buffer.getvalue()


@click.command()
@click.argument("model")
@click.option("--input", "input_shape", metavar="CxHxW",
              help="Per-sample input shape, e.g. 3x224x224 (default: the model's own).")
@click.option("--batch", type=int, default=1, show_default=True, help="Batch size.")
@click.option("--arg", "model_args", multiple=True, metavar="NAME=VALUE",
              help="Keyword argument for an import path's class or factory (repeatable).")
@click.option("--format", "fmt", type=click.Choice(["table", "json"], case_sensitive=False),
              default="table", show_default=True, help="Output format.")
@click.option("--output", "-o", type=click.Path(dir_okay=False, writable=True),
              help="Write to FILE instead of the terminal.")
def tools(model: str, input_shape: str | None, batch: int, model_args: tuple[str, ...],
          fmt: str, output: str | None) -> None:
    """MODEL's total ops under every convention (macs, fvcore, ptflops, thop, PyTorch's
    FlopCounterMode, lecture, flops), each split into what it adds to the MACs."""
    import json

    from ..api import positive_int
    from ..importers import parse_model_args
    from .report import emit

    positive_int("batch", batch)  # before any model is built
    args = parse_model_args(model_args) if model_args else None
    summary = summarise(load_network(model, input_shape=input_shape, args=args), batch=batch)
    text = json.dumps(summary, indent=2) + "\n" if fmt == "json" else render_table(summary)
    emit(text, output)
