"""The public entry points: load a model into a Network, analyse it into a Report."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .cost.counts import count
from .errors import InvalidArgument
from .ir import Network, Shape, parse_shape
from .report import Report


def load(model: Any, *, input_shape: Sequence[int] | str | None = None,
         args: Mapping[str, Any] | None = None, example_inputs: Any = None) -> Network:
    """A zoo name ('resnet50'), an import path ('torchvision:resnet50',
    'mypkg.models:build'), an nn.Module, or a Network."""
    if isinstance(model, Network):
        return model
    if isinstance(model, str) and ":" not in model:
        from . import zoo

        if args:
            raise InvalidArgument("--arg applies to import paths, not to zoo models")
        return zoo.build(model, input_shape)
    from .importers import torch as torch_importer  # lazily: torch is an extra

    return torch_importer.load(model, input_shape=input_shape, args=args,
                               example_inputs=example_inputs)


def positive_int(name: str, value: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise InvalidArgument(f"{name} must be a positive integer, got {value!r}")
    return value


def analyze(model: Any, *, input_shape: Sequence[int] | str | None = None,
            example_inputs: Any = None, args: Mapping[str, Any] | None = None,
            batch: int | None = None, precision: str = "fp32", convention: str = "lecture",
            input_requires_grad: bool = False, device: Any = None,
            optimizer: str = "momentum", amp: str | None = None) -> Report:
    """Analyse a model. `input_shape` may include the batch for torch models
    ((1, 3, 224, 224)); for zoo names it is the per-sample shape (3x224x224).
    `device` (a name from the catalogue, or 'local') adds the time section; without it the
    section is added for this machine when it has been calibrated. `optimizer` and `amp`
    shape the memory section (cost/memory.py) and the optimizer step."""
    network = load(model, input_shape=input_shape, args=args, example_inputs=example_inputs)
    if batch is None:
        batch = int(network.extra.get("batch", 1))
    report = count(network, batch=positive_int("batch", batch), precision=precision,
                   convention=convention, input_requires_grad=input_requires_grad)
    from .cost import memory

    report.memory = memory.estimate(network, batch=report.batch, precision=report.precision,
                                    optimizer=optimizer, amp=amp).to_dict()
    attach_time(report, network, device=device, optimizer=optimizer, amp=amp,
                input_requires_grad=input_requires_grad)
    return report


def attach_time(report: Report, network: Network, *, device: Any = None,
                optimizer: str = "momentum", amp: str | None = None,
                input_requires_grad: bool = False) -> None:
    """Set report.time for `device`, or for `local` when this machine is calibrated."""
    from .cost import time as time_model

    if device is None:
        from .hardware.profile import load_profile

        profile = load_profile()
        if profile is None:
            return
        device = profile.device()  # `local`, without reading the profile a second time
    report.time = time_model.estimate(
        network, batch=report.batch, precision=report.precision, device=device,
        optimizer=optimizer, amp=amp, input_requires_grad=input_requires_grad).to_dict()


__all__ = ["analyze", "load", "parse_shape", "Shape"]
