"""`netcost measure MODEL --batch B [--optimizer ...] [--device cpu|cuda]` (extra: torch):
run real training steps and one inference forward, and print predicted against measured,
term by term where the measurement can separate the terms, with the relative error."""

from __future__ import annotations

import json
from typing import Any

import click

from ..errors import InvalidArgument, ModelImportError, UnknownModel


def real_module(model: str, input_shape: str | None,
                args: dict[str, Any] | None) -> tuple[Any, tuple[int, ...]]:
    """A real (not meta) nn.Module for MODEL and its per-sample input shape: an import
    path's class or factory, or the PyTorch twin of a zoo model (its `torchvision` name)."""
    from ..ir import parse_shape
    from ..measure.memory import _torch

    torch = _torch()
    shape = parse_shape(input_shape) if input_shape else None
    if ":" in model:
        from ..importers.torch import _default_input, _resolve_attr

        obj = _resolve_attr(model)
        if isinstance(obj, torch.nn.Module):
            module = obj
        elif callable(obj):
            try:
                module = obj(**(args or {}))
            except Exception as exc:
                raise ModelImportError(f"building {model!r} failed: {type(exc).__name__}: "
                                       f"{exc}") from None
        else:
            raise ModelImportError(f"{model!r} is a {type(obj).__name__}, not a model")
        shape = shape or _default_input(model)
        if shape is None:
            raise InvalidArgument(f"give the per-sample input shape of {model!r} with --input")
        return module, shape
    from ..zoo import get

    entry = get(model)
    if entry.torchvision is None:
        raise UnknownModel(f"zoo model {entry.name!r} has no PyTorch twin to run; measure an "
                           f"import path instead, e.g. torchvision:resnet50")
    import torchvision

    kwargs = {"aux_logits": False, "init_weights": False} if entry.torchvision == "googlenet" \
        else {}
    return torchvision.models.get_model(entry.torchvision, **kwargs), shape or entry.input_shape


def _error(pred: int, meas: int) -> str:
    if meas == 0:
        return "—" if pred == 0 else "n/a"
    return f"{pred / meas - 1:+.2%}"


@click.command()
@click.argument("model")
@click.option("--batch", type=int, default=8, show_default=True, help="Batch size.")
@click.option("--optimizer", default="momentum", show_default=True,
              help="sgd, momentum, adam or adamw (PyTorch's foreach implementations).")
@click.option("--device", default="cpu", show_default=True, help="cpu or cuda.")
@click.option("--amp", default=None, metavar="fp16|bf16", help="Run under torch.autocast.")
@click.option("--input", "input_shape", metavar="CxHxW", help="Per-sample input shape.")
@click.option("--arg", "model_args", multiple=True, metavar="NAME=VALUE",
              help="Keyword argument for an import path's class or factory (repeatable).")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True)
@click.option("--time/--no-time", "with_time", default=True, show_default=True,
              help="Also time real steps against the prediction for this machine.")
def measure(model: str, batch: int, optimizer: str, device: str, amp: str | None,
            input_shape: str | None, model_args: tuple[str, ...], fmt: str,
            with_time: bool = True) -> None:
    """Measure MODEL's real peak memory and compare it with netcost's prediction."""
    from ..api import positive_int
    from ..cost.memory import check_amp, check_optimizer, estimate
    from ..measure.memory import _torch, compare, measure_memory

    positive_int("batch", batch)
    optimizer, amp = check_optimizer(optimizer), check_amp(amp)
    if device.split(":")[0] not in ("cpu", "cuda"):
        raise InvalidArgument(f"measure runs on cpu or cuda, not {device!r}")
    torch = _torch()
    args = None
    if model_args:
        from ..importers import parse_model_args

        args = parse_model_args(model_args)
    module, shape = real_module(model, input_shape, args)
    from ..importers.torch import load

    network = load(module, input_shape=(1, *shape))
    backend = "cuda" if device.startswith("cuda") else "cpu"
    predicted = estimate(network, batch=batch, optimizer=optimizer, amp=amp, backend=backend)
    times = None
    if with_time and amp is None:
        from ..measure.timing import compare_times

        # timed first, in a process that has only built the model: the memory run's
        # training steps leave glibc's thresholds raised, and a forward timed after them
        # faults in none of the fresh pages the time model charges (cost.pagefaults)
        times = compare_times(network, module, shape, batch=batch, optimizer=optimizer,
                              device=device)
    x = torch.randn(batch, *shape)
    measured = measure_memory(module, x, optimizer=optimizer, device=device, amp=amp)
    rows = compare(predicted, measured)
    if fmt == "json":
        out = {"model": model, "batch": batch, "optimizer": optimizer,
               "amp": amp, "device": measured.device,
               "memory": [{"what": w, "predicted_bytes": p,
                           "measured_bytes": m} for w, p, m in rows]}
        if times is not None:
            out["time"] = {"device": times["device"],
                           "rows": [{"what": w, "predicted_s": p, "measured_s": m}
                                    for w, p, m in times["rows"]],
                           "groups": [{"group": g, "forward_predicted_s": pf,
                                       "forward_measured_s": mf, "backward_predicted_s": pb,
                                       "backward_measured_s": mb}
                                      for g, pf, mf, pb, mb in times["groups"]]}
        click.echo(json.dumps(out, indent=2))
        return
    from ..units import iec

    click.echo(f"{model}, batch {batch}, {optimizer}"
               + (f", amp {amp}" if amp else "") + f", on {measured.device} "
               f"(training peak fell in {measured.peak_phase})")
    width = max(len(w) for w, _, _ in rows)
    click.echo(f"{'memory':{width}s}  {'predicted':>12s}  {'measured':>12s}  {'error':>8s}")
    for what, p, m in rows:
        click.echo(f"{what:{width}s}  {iec(p):>12s}  {iec(m):>12s}  {_error(p, m):>8s}")
    if times is not None:
        from ..measure.timing import render_times

        click.echo(render_times(times), nl=False)
