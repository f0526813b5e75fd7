"""Real step times of a PyTorch model, to check cost.time against (extra: torch).

A training iteration is `zero_grad(set_to_none=True)`, forward, cross-entropy loss (or the
mean of the output when it is not a class score), backward, `optimizer.step()`; inference is
one forward in eval mode under `torch.no_grad()`. Each is run `warmup` times, then timed
`repeats` times (at least 5); the figure is the median. Forward, backward and optimizer
phases are timed inside the same iterations, and each top-level module (a "layer group")
gets its forward and backward time from hooks: module hooks mark its forward, tensor hooks
on its output and input gradients mark its backward.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..errors import InvalidArgument, MissingDependency

MIN_REPEATS = 5


@dataclass(frozen=True)
class Timing:
    device: str
    batch: int
    repeats: int
    iteration_s: float
    forward_s: float
    backward_s: float
    optimizer_s: float
    inference_s: float
    inference_batch: int
    groups: dict[str, tuple[float, float]] = field(default_factory=dict)  # fwd, bwd

    def to_dict(self) -> dict[str, Any]:
        return {"device": self.device, "batch": self.batch, "repeats": self.repeats,
                "iteration_s": self.iteration_s, "forward_s": self.forward_s,
                "backward_s": self.backward_s, "optimizer_s": self.optimizer_s,
                "inference_s": self.inference_s, "inference_batch": self.inference_batch,
                "groups": {k: {"forward_s": f, "backward_s": b}
                           for k, (f, b) in self.groups.items()}}


def _torch() -> Any:
    try:
        import torch
    except ModuleNotFoundError:
        raise MissingDependency(
            "timing real steps needs PyTorch; install it with `pip install netcost[torch]`"
        ) from None
    return torch


def make_optimizer(torch: Any, params: Any, name: str) -> Any:
    opts: dict[str, Callable[[], Any]] = {
        "sgd": lambda: torch.optim.SGD(params, lr=1e-3, foreach=True),
        "momentum": lambda: torch.optim.SGD(params, lr=1e-3, momentum=0.9, foreach=True),
        "adam": lambda: torch.optim.Adam(params, lr=1e-4, foreach=True),
        "adamw": lambda: torch.optim.AdamW(params, lr=1e-4, foreach=True),
    }
    if name not in opts:
        raise InvalidArgument(f"unknown optimizer {name!r}; choose one of {', '.join(opts)}")
    return opts[name]()


class _GroupClock:
    """Forward and backward time per top-level child module, from hooks."""

    def __init__(self, torch: Any, model: Any, sync: Callable[[], None]):
        self.torch, self.sync = torch, sync
        self.fwd: dict[str, list[float]] = {}
        self.bwd: dict[str, list[float]] = {}
        self._start: dict[str, float] = {}
        self._bwd_start: dict[str, float] = {}
        self._handles = []
        self.active = False
        for name, child in model.named_children():
            self._handles.append(child.register_forward_pre_hook(self._pre(name)))
            self._handles.append(child.register_forward_hook(self._post(name)))

    def _now(self) -> float:
        self.sync()
        return time.perf_counter()

    def _pre(self, name: str) -> Callable[..., None]:
        def hook(module: Any, args: Any) -> None:
            if not self.active:
                return
            self._start[name] = self._now()
            x = args[0] if args else None
            if self.torch.is_grad_enabled() and getattr(x, "requires_grad", False):
                x.register_hook(lambda g: self._bwd_end(name))
        return hook

    def _post(self, name: str) -> Callable[..., None]:
        def hook(module: Any, args: Any, out: Any) -> None:
            if not self.active:
                return
            self.fwd.setdefault(name, []).append(self._now() - self._start.pop(name))
            if self.torch.is_grad_enabled() and getattr(out, "requires_grad", False):
                out.register_hook(lambda g: self._bwd_begin(name))
        return hook

    def _bwd_begin(self, name: str) -> None:
        self._bwd_start[name] = self._now()

    def _bwd_end(self, name: str) -> None:
        if name in self._bwd_start:
            self.bwd.setdefault(name, []).append(self._now() - self._bwd_start.pop(name))

    def finish_backward(self) -> None:
        """Groups whose input needs no gradient end when backward ends."""
        end = self._now()
        for name, start in list(self._bwd_start.items()):
            self.bwd.setdefault(name, []).append(end - start)
        self._bwd_start.clear()

    def medians(self) -> dict[str, tuple[float, float]]:
        return {name: (statistics.median(ts),
                       statistics.median(self.bwd[name]) if self.bwd.get(name) else 0.0)
                for name, ts in self.fwd.items()}

    def remove(self) -> None:
        for h in self._handles:
            h.remove()


def time_steps(model: Any, input_shape: tuple[int, ...], *, batch: int,
               inference_batch: int | None = None, optimizer: str = "momentum",
               device: str = "cpu", warmup: int = 2, repeats: int = MIN_REPEATS,
               groups: bool = True, classes: int | None = None) -> Timing:
    """Median times of real training iterations at `batch` and inference forwards at
    `inference_batch` (default: the same). `input_shape` is per sample (C, H, W).
    Inference is timed first, while the allocator holds only what building the model left
    (as in a process that serves the model): training's large tensors raise glibc's mmap
    and trim thresholds, after which the forward no longer faults its memory in afresh
    (see cost.pagefaults)."""
    torch = _torch()
    if repeats < MIN_REPEATS:
        raise InvalidArgument(f"repeats must be at least {MIN_REPEATS}, got {repeats}")
    for what, value in (("batch", batch), ("inference batch", inference_batch or batch)):
        if not isinstance(value, int) or value <= 0:
            raise InvalidArgument(f"{what} must be a positive integer, got {value!r}")
    sync = torch.cuda.synchronize if device.startswith("cuda") else (lambda: None)
    model = model.to(device)
    ib = inference_batch or batch
    inference_s = time_inference(model, input_shape, batch=ib, device=device, warmup=warmup,
                                 repeats=repeats)
    opt = make_optimizer(torch, [p for p in model.parameters() if p.requires_grad], optimizer)
    x = torch.randn(batch, *input_shape, device=device)

    def loss_of(out: Any) -> Any:
        if isinstance(out, tuple):  # e.g. GoogLeNet's auxiliary outputs
            out = out[0]
        if hasattr(out, "logits"):
            out = out.logits
        if out.dim() == 2:
            target = torch.zeros(out.shape[0], dtype=torch.long, device=device)
            return torch.nn.functional.cross_entropy(out, target)
        return out.float().mean()

    clock = _GroupClock(torch, model, sync) if groups else None
    phases: dict[str, list[float]] = {"iteration": [], "forward": [], "backward": [],
                                      "optimizer": []}
    model.train()
    for i in range(warmup + repeats):
        timed = i >= warmup
        if clock:
            clock.active = timed
        sync()
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        loss = loss_of(model(x))
        sync()
        t1 = time.perf_counter()
        loss.backward()
        if clock:
            clock.finish_backward()
        sync()
        t2 = time.perf_counter()
        opt.step()
        sync()
        t3 = time.perf_counter()
        if timed:
            for k, v in (("iteration", t3 - t0), ("forward", t1 - t0), ("backward", t2 - t1),
                         ("optimizer", t3 - t2)):
                phases[k].append(v)
    group_times = clock.medians() if clock else {}
    if clock:
        clock.remove()
    med = {k: statistics.median(v) for k, v in phases.items()}
    return Timing(device=device, batch=batch, repeats=repeats, iteration_s=med["iteration"],
                  forward_s=med["forward"], backward_s=med["backward"],
                  optimizer_s=med["optimizer"], inference_s=inference_s,
                  inference_batch=ib, groups=group_times)


def time_inference(model: Any, input_shape: tuple[int, ...], *, batch: int = 1,
                   device: str = "cpu", warmup: int = 2, repeats: int = MIN_REPEATS) -> float:
    """Median time of one eval-mode forward under no_grad."""
    torch = _torch()
    sync = torch.cuda.synchronize if device.startswith("cuda") else (lambda: None)
    model = model.to(device).eval()
    x = torch.randn(batch, *input_shape, device=device)
    times = []
    with torch.no_grad():
        for i in range(warmup + max(repeats, MIN_REPEATS)):
            sync()
            t0 = time.perf_counter()
            model(x)
            sync()
            if i >= warmup:
                times.append(time.perf_counter() - t0)
    return statistics.median(times)


def group_of(layer: Any) -> str:
    """The top-level module a layer belongs to (its first module path part)."""
    module = layer.attrs.get("module") if hasattr(layer, "attrs") else None
    name = str(module) if module else layer.name.split("/")[0]
    return name.split(".")[0]


def compare_times(network: Any, module: Any, input_shape: tuple[int, ...], *, batch: int,
                  optimizer: str = "momentum", device: str = "cpu") -> dict[str, Any]:
    """Measured step times against the prediction on this machine's calibrated backend
    (`local-cpu` / `local-cuda`; predictions are left out when it is not calibrated):
    {"rows": [(what, predicted_s | None, measured_s)], "groups": [...same per group]}."""
    from ..cost.time import estimate
    from ..hardware.catalogue import local_devices

    backend = "cuda" if device.startswith("cuda") else "cpu"
    local = local_devices().get(f"local-{backend}")
    meas = time_steps(module, input_shape, batch=batch, optimizer=optimizer, device=device)
    pred = estimate(network, batch=batch, device=local, optimizer=optimizer) if local else None
    rows = [(what, getattr(pred, attr) if pred else None, getattr(meas, attr))
            for what, attr in (("iteration", "iteration_s"), ("forward", "forward_s"),
                               ("backward", "backward_s"), ("optimizer step", "optimizer_s"),
                               ("inference forward", "inference_s"))]
    groups: dict[str, list[float]] = {}
    if pred:
        for layer, lt in zip(network.layers, pred.layers, strict=True):
            acc = groups.setdefault(group_of(layer), [0.0, 0.0])
            acc[0] += lt.forward_s
            acc[1] += lt.backward_s
    group_rows = [(name, groups.get(name, [None, None])[0], f, groups.get(name, [None, None])[1],
                   b) for name, (f, b) in meas.groups.items()]
    return {"device": f"local-{backend}" if local else None, "rows": rows,
            "groups": group_rows, "timing": meas}


def render_times(result: dict[str, Any]) -> str:
    """Plain-text table of compare_times (seconds shown in human units)."""
    from ..units import seconds

    def err(p: float | None, m: float) -> str:
        return "—" if p is None or m <= 0 else f"{p / m - 1:+.1%}"

    def fmt(v: float | None) -> str:
        return "—" if v is None else seconds(v)

    lines = []
    if result["device"] is None:
        lines.append("time: no predictions (run `netcost calibrate` to predict this machine)")
    else:
        lines.append(f"time (predicted on {result['device']}; measured: median of "
                     f"{result['timing'].repeats} steps after warm-up)")
    lines.append(f"{'':26s}  {'predicted':>10s}  {'measured':>10s}  {'error':>7s}")
    for what, p, m in result["rows"]:
        lines.append(f"{what:26s}  {fmt(p):>10s}  {fmt(m):>10s}  {err(p, m):>7s}")
    if result["groups"]:
        lines.append(f"{'layer group':26s}  {'fwd pred':>10s}  {'fwd meas':>10s}  "
                     f"{'bwd pred':>10s}  {'bwd meas':>10s}")
        for name, pf, mf, pb, mb in result["groups"]:
            lines.append(f"{name:26s}  {fmt(pf):>10s}  {fmt(mf):>10s}  {fmt(pb):>10s}  "
                         f"{fmt(mb):>10s}")
    return "\n".join(lines) + "\n"
