"""`netcost report`, `netcost compare` and `netcost models`: parse, analyse, render.

Only click is imported at module level; the API and the renderers load inside the
commands, so `netcost models` never builds a network and nothing here imports torch.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import click

PRECISIONS = "fp64, fp32, fp16, bf16, fp8, int8, int4"
CONVENTIONS = "lecture, macs, flops, or a tool's: fvcore, ptflops, thop, flopcounter"
FORMAT = click.Choice(["table", "json", "csv", "markdown"], case_sensitive=False)


def analysis_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """Options shared by report and compare (applied bottom-up, shown top-down)."""
    options = [
        click.option("--input", "input_shape", metavar="CxHxW",
                     help="Per-sample input shape, e.g. 3x224x224 (default: the model's own)."),
        click.option("--batch", type=int, default=1, show_default=True, help="Batch size."),
        click.option("--precision", default="fp32", show_default=True,
                     help=f"Bits per stored number: {PRECISIONS}."),
        click.option("--convention", default="lecture", show_default=True,
                     help=f"How ops are counted: {CONVENTIONS} (see the README)."),
        click.option("--format", "fmt", type=FORMAT, default="table", show_default=True,
                     help="Output format."),
        click.option("--output", "-o", type=click.Path(dir_okay=False, writable=True),
                     help="Write to FILE instead of the terminal."),
        click.option("--device", default=None,
                     help="Add the time section for a device (`netcost devices`; default: "
                          "local, when `netcost calibrate` has run)."),
        click.option("--arg", "model_args", multiple=True, metavar="NAME=VALUE",
                     help="Keyword argument for an import path's class or factory "
                          "(repeatable); a Python literal, else a string."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def analyse(model: str, *, input_shape: str | None, batch: int, precision: str,
            convention: str, model_args: tuple[str, ...] = (), device: str | None = None,
            optimizer: str = "momentum", amp: str | None = None) -> Any:
    from ..api import analyze
    from ..cost.conventions import check_convention
    from ..units import check_precision

    # Check the cheap options first, so a typo is reported before any model is built.
    check_precision(precision)
    check_convention(convention)
    from ..cost.memory import check_amp, check_optimizer

    optimizer, amp = check_optimizer(optimizer), check_amp(amp)
    if device is not None:
        from ..hardware.catalogue import get_device

        get_device(device)
    from ..importers import parse_model_args

    args = parse_model_args(model_args) if model_args else None
    return analyze(model, input_shape=input_shape, batch=batch, precision=precision,
                   convention=convention, args=args, device=device, optimizer=optimizer,
                   amp=amp)


def emit(text: str, output: str | None) -> None:
    if output is None:
        click.echo(text, nl=False)
        return
    with open(output, "w", encoding="utf-8") as f:
        f.write(text)
    click.echo(f"wrote {output}", err=True)


@click.command()
@click.argument("model")
@analysis_options
@click.option("--depth", type=int, default=None,
              help="Collapse layers to this module depth (1 = top-level blocks).")
@click.option("--plot", type=click.Path(dir_okay=False), default=None, metavar="FILE.png",
              help="Draw the roofline with each layer and per-layer times (extra: plot).")
@click.option("--optimizer", default="momentum", show_default=True,
              help="Optimizer for the training memory: sgd, momentum, adam, adamw.")
@click.option("--amp", default=None, metavar="fp16|bf16",
              help="Mixed precision: half-precision activations, fp32 weights and state.")
def report(model: str, input_shape: str | None, batch: int, precision: str, convention: str,
           fmt: str, output: str | None, depth: int | None, device: str | None = None,
           plot: str | None = None, model_args: tuple[str, ...] = (),
           optimizer: str = "momentum", amp: str | None = None) -> None:
    """Per-layer cost of MODEL: a zoo name (`netcost models`) or an import path."""
    from ..cost.aggregate import check_depth, collapse_report
    from ..render import render

    if depth is not None:
        check_depth(depth)
    result = analyse(model, input_shape=input_shape, batch=batch, precision=precision,
                     convention=convention, model_args=model_args, device=device,
                     optimizer=optimizer, amp=amp)
    if plot is not None:
        from ..render.plot import plot_time

        plot_time(result, plot)
    emit(render(collapse_report(result, depth), fmt), output)


@dataclass(frozen=True)
class ModelArg:
    """One model of `compare`. Kept as the one place that reads a model argument, so that
    per-model settings written after it can be added here."""

    model: str
    epochs: int | None = None  # epochs to converge, from "model:90"


def parse_model_arg(text: str) -> ModelArg:
    # The model itself may contain a colon (an import path, torchvision:resnet50); a last
    # part made only of digits (or a sign and digits) is the epochs to converge.
    from ..errors import InvalidArgument

    head, sep, tail = text.rpartition(":")
    if sep and head and tail.lstrip("+-").isdigit():
        if int(tail) <= 0:
            raise InvalidArgument(f"epochs in {text!r} must be a positive integer")
        return ModelArg(head, int(tail))
    if sep and ":" not in head and "." not in head:
        from ..zoo import entries

        if head.lower() in entries():  # a zoo name: what follows can only be the epochs
            raise InvalidArgument(f"epochs in {text!r} must be a positive integer, "
                                  f"e.g. {head}:90")
    return ModelArg(text)


@click.command()
@click.argument("models", nargs=-1, required=True)
@analysis_options
@click.option("--dataset", type=int, default=None,
              help="Samples per epoch, to rank MODEL:EPOCHS arguments by time to train.")
def compare(models: tuple[str, ...], input_shape: str | None, batch: int, precision: str,
            convention: str, fmt: str, output: str | None, device: str | None = None,
            dataset: int | None = None, model_args: tuple[str, ...] = ()) -> None:
    """Models side by side: params, storage, MACs, ops, activations. With epochs to
    converge per model (resnet50:90 densenet121:60), --device and --dataset: ranked by
    wall-clock time to train."""
    from ..render.compare import render

    args = [parse_model_arg(m) for m in models]
    if any(a.epochs is not None for a in args):
        from .plan import compare_by_time

        emit(compare_by_time([(a.model, a.epochs) for a in args], device=device,
                             dataset=dataset, batch=batch, input_shape=input_shape,
                             precision=precision, fmt="json" if fmt == "json" else "table"),
             output)
        return
    reports = [analyse(a.model, input_shape=input_shape, batch=batch, precision=precision,
                       convention=convention, model_args=model_args, device=device)
               for a in args]
    emit(render(reports, fmt), output)


@click.command()
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True, help="Output format.")
def models(fmt: str) -> None:
    """The zoo: every model `netcost report` knows by name."""
    from ..render.compare import render_models
    from ..zoo import entries

    click.echo(render_models(list(entries().values()), fmt), nl=False)
