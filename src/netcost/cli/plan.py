"""`netcost plan`: iterations per epoch, time per epoch, time to train, and memory fit.
Also the time-to-train ranking that `netcost compare model:epochs ...` prints."""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from typing import Any

import click

OPTIMIZERS = "sgd, momentum, adam, adamw"


def _positive(name: str, value: int | None) -> int:
    from ..errors import InvalidArgument

    if value is None or value <= 0:
        raise InvalidArgument(f"{name} must be a positive integer, got {value}")
    return value


def make_plan(model: str, *, device: str, batch: int, epochs: int, dataset: int,
              input_shape: str | None = None, precision: str = "fp32",
              optimizer: str = "momentum", amp: str | None = None,
              devices_file: str | None = None) -> Any:
    """Check the cheap arguments first (a typo is reported before a model is built)."""
    from ..api import load
    from ..cost.time import plan
    from ..hardware.catalogue import get_device
    from ..units import check_precision

    for name, value in (("--batch", batch), ("--epochs", epochs), ("--dataset", dataset)):
        _positive(name, value)
    check_precision(precision)
    dev = get_device(device, devices_file=devices_file)
    network = load(model, input_shape=input_shape)
    return plan(network, device=dev, batch=batch, epochs=epochs, dataset=dataset,
                precision=precision, optimizer=optimizer, amp=amp)


def render_plans(plans: Sequence[Any], fmt: str) -> str:
    """One row per plan, in the given order (rank them first for compare)."""
    from ..units import iec, seconds

    if fmt == "json":
        return json.dumps({"plans": [p.to_dict() for p in plans]}, indent=1) + "\n"
    from rich.console import Console
    from rich.table import Table

    table = Table(title="time to train (wall clock, predicted)")
    for col, right in (("#", True), ("model", False), ("device", False), ("batch", True),
                       ("iterations/epoch", True), ("iteration", True), ("epoch", True),
                       ("epochs", True), ("time to train", True), ("training memory", True)):
        table.add_column(col, justify="right" if right else "left")
    for i, p in enumerate(plans, 1):
        mem = "" if p.fits is None else (
            f"{iec(p.training_peak_bytes)} of {iec(p.memory_bytes)}"
            + (" fits" if p.fits else " DOES NOT FIT"))
        table.add_row(str(i), p.model, p.device, f"{p.batch:,}", f"{p.iterations_per_epoch:,}",
                      seconds(p.iteration_s), seconds(p.epoch_s), f"{p.epochs:,}",
                      seconds(p.total_s), mem)
    console = Console(file=io.StringIO(), record=True, width=160)
    console.print(table)
    return console.export_text()


@click.command()
@click.argument("model")
@click.option("--device", required=True, help="A device from `netcost devices`, or local.")
@click.option("--batch", type=int, required=True, help="Samples per iteration.")
@click.option("--epochs", type=int, required=True, help="Epochs to train.")
@click.option("--dataset", type=int, required=True, help="Samples per epoch.")
@click.option("--input", "input_shape", metavar="CxHxW", help="Per-sample input shape.")
@click.option("--precision", default="fp32", show_default=True)
@click.option("--optimizer", default="momentum", show_default=True, help=OPTIMIZERS)
@click.option("--amp", type=click.Choice(["fp16", "bf16"]), default=None,
              help="Mixed precision.")
@click.option("--devices-file", type=click.Path(dir_okay=False),
              help="Extra devices (TOML, same format as the catalogue).")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True)
def plan(model: str, device: str, batch: int, epochs: int, dataset: int,
         input_shape: str | None, precision: str, optimizer: str, amp: str | None,
         devices_file: str | None, fmt: str) -> None:
    """How long training MODEL takes: iterations per epoch = ceil(dataset / batch), time per
    epoch, time for all epochs, and whether the batch fits the device's memory."""
    p = make_plan(model, device=device, batch=batch, epochs=epochs, dataset=dataset,
                  input_shape=input_shape, precision=precision, optimizer=optimizer, amp=amp,
                  devices_file=devices_file)
    click.echo(render_plans([p], fmt), nl=False)


def compare_by_time(models: Sequence[tuple[str, int | None]], *, device: str | None,
                    dataset: int | None, batch: int, input_shape: str | None,
                    precision: str, fmt: str) -> str:
    """`netcost compare a:90 b:60 --device D --dataset N`: rank by wall-clock time to train."""
    from ..cost.time import rank_by_time
    from ..errors import InvalidArgument

    missing = [m for m, e in models if e is None]
    if missing:
        raise InvalidArgument(f"give every model its epochs to converge, e.g. {missing[0]}:90, "
                              "to rank by time to train")
    if device is None:
        raise InvalidArgument("ranking by time to train needs --device (see `netcost devices`)")
    if dataset is None:
        raise InvalidArgument("ranking by time to train needs --dataset, the samples per epoch")
    plans = [make_plan(m, device=device, batch=batch, epochs=e or 0, dataset=dataset,
                       input_shape=input_shape, precision=precision) for m, e in models]
    return render_plans(rank_by_time(plans), fmt)
