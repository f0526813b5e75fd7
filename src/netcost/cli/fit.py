"""`netcost fit MODEL --device NAME | --memory 24GiB`: the largest batch that fits for
training and for inference, and what fills the memory. Thin: the search is
cost.memory.largest_batch over the analytic model."""

from __future__ import annotations

import json
from typing import Any

import click

from ..errors import InvalidArgument

TERM_NAMES = {"weights": "weights", "buffers": "buffers", "gradients": "weight gradients",
              "optimizer_state": "optimizer state", "inputs": "inputs",
              "activations": "activations kept", "transient": "transient"}


def _memory_of(device: str | None, memory: str | None) -> tuple[int, str, str]:
    """(bytes, what to call it, kernel backend) from exactly one of --device / --memory."""
    from ..units import iec, parse_bytes

    if (device is None) == (memory is None):
        raise InvalidArgument("give exactly one of --device NAME or --memory SIZE (e.g. 24GiB)")
    if memory is not None:
        size = parse_bytes(memory)
        return size, iec(size), "cpu"
    from ..hardware.catalogue import get_device

    d = get_device(device)
    backend = "cuda" if d.kind == "gpu" else "cpu"
    return d.memory_bytes, f"{d.name} ({iec(d.memory_bytes)})", backend


def _nothing_fits(model: str, fit: Any, where: str) -> str:
    from ..units import iec

    fixed = fit.fixed_bytes
    verb = "train" if fit.phase == "training" else "run inference"
    if fixed > fit.memory_bytes:
        parts = [f"{TERM_NAMES[k]} ({iec(v)})" for k, v in fit.fixed.items() if v]
        return (f"{model} cannot {verb} in {where} even at batch 1: the "
                f"{', '.join(parts)} alone take {iec(fixed)}")
    return (f"{model} cannot {verb} in {where} even at batch 1: "
            f"its peak is {iec(fit.peak.peak_bytes)} (activations and temporaries "
            f"{iec(fit.peak.peak_bytes - fixed)} on top of {iec(fixed)} of weights and state)")


def _lines(fit: Any) -> list[str]:
    from ..units import iec

    p = fit.peak
    more = "+" if fit.capped else ""
    out = [f"{fit.phase}: largest batch {fit.max_batch:,}{more} "
           f"(peak {iec(p.peak_bytes)} of {iec(fit.memory_bytes)}, at {p.at})"]
    for term, value in sorted(p.terms.items(), key=lambda kv: -kv[1]):
        if value:
            out.append(f"  {TERM_NAMES.get(term, term):18s} {iec(value):>12s}  "
                       f"{value / p.peak_bytes:5.1%}")
    return out


@click.command()
@click.argument("model")
@click.option("--device", default=None, help="A device from `netcost devices`.")
@click.option("--memory", default=None, metavar="SIZE", help="Memory to fill, e.g. 24GiB, 16GB.")
@click.option("--input", "input_shape", metavar="CxHxW", help="Per-sample input shape.")
@click.option("--precision", default="fp32", show_default=True, help="Bits per number.")
@click.option("--optimizer", default="momentum", show_default=True,
              help="sgd, momentum, adam or adamw.")
@click.option("--amp", default=None, metavar="fp16|bf16", help="Mixed precision.")
@click.option("--arg", "model_args", multiple=True, metavar="NAME=VALUE",
              help="Keyword argument for an import path's class or factory (repeatable).")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True)
def fit(model: str, device: str | None, memory: str | None, input_shape: str | None,
        precision: str, optimizer: str, amp: str | None, model_args: tuple[str, ...],
        fmt: str) -> None:
    """The largest batch of MODEL that fits a device's memory, for training and inference."""
    from ..api import load
    from ..cost.memory import check_amp, check_optimizer, largest_batch
    from ..units import check_precision

    # Cheap checks first: a typo is reported before any model is built.
    precision = check_precision(precision)
    optimizer, amp = check_optimizer(optimizer), check_amp(amp)
    size, where, backend = _memory_of(device, memory)
    args = None
    if model_args:
        from ..importers import parse_model_args

        args = parse_model_args(model_args)
    network = load(model, input_shape=input_shape, args=args)
    fits = {phase: largest_batch(network, size, phase=phase, precision=precision,
                                 optimizer=optimizer, amp=amp, backend=backend)
            for phase in ("training", "inference")}
    if fits["inference"].max_batch == 0:
        raise InvalidArgument(_nothing_fits(model, fits["inference"], where))
    if fmt == "json":
        click.echo(json.dumps({"model": network.name, "memory_bytes": size, "device": device,
                               "precision": precision, "optimizer": optimizer, "amp": amp,
                               **{k: v.to_dict() for k, v in fits.items()}}, indent=2))
        return
    setting = f"{precision}" if amp is None else f"mixed precision {amp}"
    click.echo(f"{network.name} in {where}, {setting}, optimizer {optimizer}")
    if fits["training"].max_batch == 0:
        click.echo(f"training: does not fit — {_nothing_fits(model, fits['training'], where)}")
    else:
        click.echo("\n".join(_lines(fits["training"])))
    click.echo("\n".join(_lines(fits["inference"])))
