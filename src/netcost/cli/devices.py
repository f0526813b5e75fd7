"""`netcost devices`: the device catalogue, with the source of every figure."""

from __future__ import annotations

import json

import click


def _tflops(device, precision: str) -> str:  # noqa: ANN001
    value = device.peak_flops.get(precision)
    return "" if value is None else f"{value / 1e12:,.1f}"


@click.command()
@click.option("--devices-file", type=click.Path(dir_okay=False),
              help="Also read devices from this TOML file (same format as the catalogue).")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True)
@click.option("--sources", is_flag=True, help="Show where each figure comes from.")
def devices(devices_file: str | None, fmt: str, sources: bool) -> None:
    """List the devices `--device` accepts: peak FLOP/s per precision, bandwidth, memory.

    Add your own in the user config file whose path is printed under the table."""
    from ..hardware.catalogue import load, user_devices_file
    from ..units import iec

    catalogue = load(devices_file)
    if fmt == "json":
        click.echo(json.dumps({
            key: {"name": d.name, "kind": d.kind, "aliases": list(d.aliases),
                  "memory_bytes": d.memory_bytes, "bandwidth_bytes_per_s": d.bandwidth,
                  "peak_flops": dict(d.peak_flops), "sources": dict(d.sources),
                  "note": d.note, "origin": d.origin}
            for key, d in catalogue.items()}, indent=1))
        return
    from rich.console import Console
    from rich.table import Table

    precisions = ("fp32", "tf32", "bf16", "fp16", "fp8")
    table = Table(title=f"{len(catalogue)} devices (dense peak TFLOP/s; fp16/bf16/fp8 on "
                        "tensor units where present)")
    table.add_column("device")
    table.add_column("name")
    for p in precisions:
        table.add_column(p, justify="right")
    table.add_column("GB/s", justify="right")
    table.add_column("memory", justify="right")
    if sources:
        table.add_column("source")
    for key, d in catalogue.items():
        row = [key, d.name, *(_tflops(d, p) for p in precisions), f"{d.bandwidth / 1e9:,.0f}",
               iec(d.memory_bytes, 0)]
        if sources:
            row.append(d.source("*") or "; ".join(f"{k}: {v}" for k, v in d.sources.items()))
        table.add_row(*row)
    console = Console()
    console.print(table)
    console.print(f"Add your own devices in {user_devices_file()} or with --devices-file; "
                  "`netcost calibrate` adds `local` (this machine).", highlight=False)
