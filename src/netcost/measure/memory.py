"""Measured peak memory of real training steps and of inference (extra: torch).

What "measured" means (issue 4): one steady-state training iteration —
`zero_grad(set_to_none=True)`, forward, loss, backward, `optimizer.step()` — after two
warm-up iterations. On CUDA the peak is `torch.cuda.max_memory_allocated()` after
`reset_peak_memory_stats()`. On CPU it is the bytes of the tensors alive when the iteration
starts (after zero_grad: weights, buffers, optimizer state, inputs) plus the largest value of
the running sum of the profiler's memory events (`profile_memory=True`) during it. Inference
peak: the same for one forward of the model in eval mode under `torch.no_grad()`, with no
optimizer state alive.

The loss is the one netcost's memory model assumes (cost.memory.loss_kind): cross entropy
against random class labels for a (batch, classes) output, else the sum of the output.
"""

from __future__ import annotations

import bisect
import contextlib
import itertools
import os
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from ..errors import InvalidArgument, MissingDependency, NetcostError

OPTIMIZERS = ("sgd", "momentum", "adam", "adamw")
PHASES = ("forward", "backward", "step")


class MeasureOutOfMemory(NetcostError, MemoryError):
    """A measured run needed more memory than the device has."""


@contextlib.contextmanager
def _native_stderr_silenced() -> Iterator[None]:
    """Kineto writes lines to the process's stderr from C++ as the profiler starts and stops
    (torch 2.14: "profiler_start", "profiler_stop", and without a GPU a failed device count),
    which no log level turns off: file descriptor 2 goes to /dev/null meanwhile."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w", encoding="utf-8") as null:
            os.dup2(null.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def _torch() -> Any:
    try:
        import torch
    except ImportError:
        raise MissingDependency(
            "measuring needs PyTorch; install it with: pip install 'netcost[torch]'"
        ) from None
    return torch


@dataclass(frozen=True)
class MemoryMeasurement:
    """Bytes, exact. `terms` are what could be measured separately: the persistent state
    alive at the iteration start, the gradients after backward, and the activations held
    between forward and backward (everything allocated by forward and loss still alive)."""

    device: str
    batch: int
    optimizer: str
    foreach: bool
    training_peak: int
    inference_peak: int
    peak_phase: str  # forward | backward | step: where the training peak fell
    terms: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"device": self.device, "batch": self.batch, "optimizer": self.optimizer,
                "foreach": self.foreach, "training_peak_bytes": self.training_peak,
                "inference_peak_bytes": self.inference_peak, "peak_phase": self.peak_phase,
                "terms": dict(self.terms)}


def make_optimizer(name: str, params: Iterable[Any], *, foreach: bool | None = None) -> Any:
    """The optimizers netcost models, with PyTorch's default hyper-parameters (SGD with
    momentum 0.9). `foreach=None` keeps PyTorch's per-device default."""
    torch = _torch()
    key = name.lower()
    if key == "sgd":
        return torch.optim.SGD(params, lr=0.01, foreach=foreach)
    if key == "momentum":
        return torch.optim.SGD(params, lr=0.01, momentum=0.9, foreach=foreach)
    if key == "adam":
        return torch.optim.Adam(params, lr=1e-3, foreach=foreach)
    if key == "adamw":
        return torch.optim.AdamW(params, lr=1e-3, foreach=foreach)
    raise InvalidArgument(f"unknown optimizer {name!r}; choose one of {', '.join(OPTIMIZERS)}")


def _storage_bytes(tensors: Iterable[Any]) -> int:
    """Bytes of the distinct storages behind `tensors` (views and tied weights once)."""
    seen: dict[int, int] = {}
    for t in tensors:
        if t is None or not hasattr(t, "untyped_storage"):
            continue
        s = t.untyped_storage()
        seen[s.data_ptr()] = s.nbytes()
    return sum(seen.values())


def _state_tensors(optimizer: Any) -> list[Any]:
    torch = _torch()
    return [v for st in optimizer.state.values() for v in st.values() if isinstance(v, torch.Tensor)]


def loss_of(output: Any, target: Any) -> Any:
    """The loss netcost models: cross entropy on (batch, classes) logits, else the sum."""
    torch = _torch()
    if isinstance(output, (tuple, list)):
        output = output[0]
    elif hasattr(output, "logits"):
        output = output.logits
    if target is not None and output.dim() == 2:
        return torch.nn.functional.cross_entropy(output, target)
    return output.sum()


def _target(torch: Any, model: Any, inputs: tuple[Any, ...]) -> Any:
    with torch.no_grad():
        was = model.training
        model.eval()
        try:
            out = model(*inputs)
        finally:
            model.train(was)
    if isinstance(out, (tuple, list)):
        out = out[0]
    if getattr(out, "dim", lambda: 0)() == 2:
        g = torch.Generator().manual_seed(0)
        return torch.randint(0, out.shape[1], (out.shape[0],), generator=g).to(out.device)
    return None


def _is_oom(exc: BaseException) -> bool:
    text = str(exc).lower()
    return ("out of memory" in text or "can't allocate memory" in text
            or "not enough memory" in text or isinstance(exc, MemoryError))


class _CpuTracker:
    """Running sum of the profiler's memory events, with the value at phase boundaries."""

    def __init__(self, torch: Any):
        self.torch = torch

    def run(self, fn: Any) -> tuple[int, dict[str, int], dict[str, int]]:
        """Runs fn(mark) under the profiler; `mark(name)` opens a phase. Returns the peak of
        the running sum, the peak per phase and the sum when each phase ended."""
        from torch.profiler import ProfilerActivity, profile, record_function

        def mark(name: str) -> Any:
            return record_function(f"netcost.{name}")

        prof = profile(activities=[ProfilerActivity.CPU], profile_memory=True)
        with _native_stderr_silenced():
            prof.start()
        try:
            fn(mark)
        finally:
            with _native_stderr_silenced():
                prof.stop()
        events = prof.profiler.kineto_results.events()
        mem = sorted((e.start_ns(), e.nbytes()) for e in events
                     if e.name() == "[memory]" and e.device_type() == self._cpu())
        spans = {e.name()[len("netcost."):]: (e.start_ns(), e.end_ns()) for e in events
                 if e.name().startswith("netcost.")}
        times = [t for t, _ in mem]
        running = list(itertools.accumulate(nb for _, nb in mem))  # after each event
        peak = max([0, *running])
        phase_peak: dict[str, int] = {}
        at_end: dict[str, int] = {}
        for name, (start, end) in spans.items():
            first = bisect.bisect_left(times, start)  # events before the phase: its base
            last = bisect.bisect_right(times, end)
            base = running[first - 1] if first else 0
            phase_peak[name] = max([base, *running[first:last]])
            at_end[name] = running[last - 1] if last else 0
        return peak, phase_peak, at_end

    def _cpu(self) -> Any:
        return self.torch._C._autograd.DeviceType.CPU


def measure_memory(model: Any, inputs: Any, *, optimizer: str = "momentum",
                   device: str = "cpu", foreach: bool | None = True, warmup: int = 2,
                   amp: str | None = None) -> MemoryMeasurement:
    """Measure one steady-state training iteration and one inference forward of `model`
    on `inputs` (a tensor or tuple of tensors, batch first). The model is moved to `device`.
    `amp` ('fp16'/'bf16') runs forward and loss under torch.autocast."""
    torch = _torch()
    if isinstance(inputs, torch.Tensor):
        inputs = (inputs,)
    inputs = tuple(inputs)
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise InvalidArgument("CUDA was asked for but torch sees no CUDA device")
    try:
        return _measure(torch, model, inputs, optimizer, dev, foreach, warmup, amp)
    except (RuntimeError, MemoryError) as exc:
        if _is_oom(exc):
            raise MeasureOutOfMemory(
                f"the measured run ran out of memory on {dev}: {str(exc).splitlines()[0]}"
            ) from None
        raise


def _autocast(torch: Any, dev: Any, amp: str | None) -> Any:
    import contextlib

    if amp is None:
        return contextlib.nullcontext()
    dtype = {"fp16": torch.float16, "bf16": torch.bfloat16}[amp]
    return torch.autocast(dev.type, dtype=dtype)


def _measure(torch: Any, model: Any, inputs: tuple[Any, ...], optimizer: str, dev: Any,
             foreach: bool | None, warmup: int, amp: str | None) -> MemoryMeasurement:
    model = model.to(dev)
    inputs = tuple(x.to(dev) for x in inputs)
    target = _target(torch, model, inputs)
    batch = int(inputs[0].shape[0])
    weights = _storage_bytes(model.parameters())
    buffers = _storage_bytes(model.buffers())
    input_bytes = _storage_bytes([*inputs, target])

    # Inference first, before any optimizer state or gradient exists; no labels.
    model.eval()
    inference = (_inference_peak(torch, model, inputs, dev, amp) + weights + buffers
                 + _storage_bytes(inputs))

    model.train()
    opt = make_optimizer(optimizer, model.parameters(), foreach=foreach)
    used_foreach = bool(opt.defaults.get("foreach"))

    def iteration(mark: Any = None) -> None:
        import contextlib

        mark = mark or (lambda name: contextlib.nullcontext())
        with mark("forward"), _autocast(torch, dev, amp):
            loss = loss_of(model(*inputs), target)
        with mark("backward"):
            loss.backward()
        del loss
        with mark("step"):
            opt.step()

    for _ in range(warmup):
        opt.zero_grad(set_to_none=True)
        iteration()
    opt.zero_grad(set_to_none=True)
    state = _storage_bytes(_state_tensors(opt))
    start = weights + buffers + state + input_bytes
    if dev.type == "cuda":
        rel_peak, phase_peak, at_end = _cuda_run(torch, iteration)
    else:
        rel_peak, phase_peak, at_end = _CpuTracker(torch).run(iteration)
    activations = at_end.get("forward", 0)
    grads = _storage_bytes(p.grad for p in model.parameters())
    phase = max(phase_peak, key=lambda k: phase_peak[k]) if phase_peak else "unknown"
    terms = {"weights": weights, "buffers": buffers, "optimizer_state": state,
             "inputs": input_bytes, "gradients": grads}
    terms["activations"] = activations
    for name, value in phase_peak.items():
        terms[f"peak_{name}"] = start + value
    opt.zero_grad(set_to_none=True)
    return MemoryMeasurement(str(dev.type), batch, optimizer, used_foreach, start + rel_peak,
                             inference, phase, terms)


def _inference_peak(torch: Any, model: Any, inputs: tuple[Any, ...], dev: Any,
                    amp: str | None) -> int:
    """Peak bytes above what was alive before one no-grad forward (after a warm-up one)."""
    def forward(mark: Any = None) -> None:
        with torch.no_grad(), _autocast(torch, dev, amp):
            out = model(*inputs)
        del out

    forward()
    if dev.type == "cuda":
        return _cuda_run(torch, forward)[0]
    return _CpuTracker(torch).run(forward)[0]


def _cuda_run(torch: Any, fn: Any) -> tuple[int, dict[str, int], dict[str, int]]:
    """As _CpuTracker.run, from the CUDA caching allocator's counters: the peak statistics
    are reset when each phase opens and read when it closes."""
    import contextlib

    torch.cuda.synchronize()
    base = torch.cuda.memory_allocated()
    phase_peak: dict[str, int] = {}
    at_end: dict[str, int] = {}

    @contextlib.contextmanager
    def mark(name: str) -> Any:
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        yield
        torch.cuda.synchronize()
        phase_peak[name] = torch.cuda.max_memory_allocated() - base
        at_end[name] = torch.cuda.memory_allocated() - base

    torch.cuda.reset_peak_memory_stats()
    fn(mark)
    torch.cuda.synchronize()
    peak = max([torch.cuda.max_memory_allocated() - base, *phase_peak.values()])
    return peak, phase_peak, at_end


def compare(predicted: Any, measured: MemoryMeasurement) -> list[tuple[str, int, int]]:
    """(what, predicted bytes, measured bytes) for every figure measured on its own: the
    state alive throughout, the gradients, the activations held into backward, the peak of
    each phase of the training step, and the two peaks. `predicted` is a
    cost.memory.MemoryEstimate for the same model, batch and optimizer."""
    t = predicted.training.terms
    m = measured.terms
    rows = [("weights", t["weights"], m["weights"]),
            ("buffers", t["buffers"], m["buffers"]),
            ("optimizer state", t["optimizer_state"], m["optimizer_state"]),
            ("inputs and labels", t["inputs"], m["inputs"]),
            ("weight gradients (all)", t["weights"], m["gradients"]),
            ("activations held into backward", predicted.after_forward, m["activations"])]
    for phase in PHASES:
        if f"peak_{phase}" in m and phase in predicted.phases:
            rows.append((f"peak during {phase}", predicted.phases[phase], m[f"peak_{phase}"]))
    rows.append(("training peak", predicted.training.peak_bytes, measured.training_peak))
    rows.append(("inference peak", predicted.inference.peak_bytes, measured.inference_peak))
    return rows
