"""Time per layer, per iteration, per epoch: a roofline on real hardware.

Each layer (one framework op) takes

    time = max(compute time, memory time) + dispatch overhead
           [+ cold reads + fresh pages + cold start + cold writes]

- compute time: its FLOPs (2 per MAC) at the throughput *its shape* achieves. On the
  calibrated device `local` that throughput is interpolated from the measured curves: GEMM
  over (rows, width), convolutions per kernel class (3x3 and other k x k, 1x1, depthwise,
  and stems: the first layer's convolution of a 3-channel image) over (output pixels,
  channels), forward and backward separately. On a catalogue device it
  is the datasheet peak times an efficiency that rises with the work per call (see
  `catalogue_efficiency`).
- memory time: bytes read and written over the bandwidth that an op of that size achieves
  (calibrated: an elementwise op measured over sizes, allocating its output or in place,
  so caches and page faults of fresh memory are in it; catalogue: 80% of the datasheet
  bandwidth). On the calibrated device, the memory-bound classes that dominate CNNs -
  batch norm, in-place activations, pooling, in-place add, concat - are read from their
  own measured curves (forward in training mode, backward, eval), as nn-Meter does per
  kernel type: their passes over memory, reductions and index bookkeeping are in them, and
  (forward) what it costs to read an input a convolution's threads have just written.
- overhead: the measured cost of dispatching one tiny op (and of its autograd node).
- fresh pages (calibrated CPU device): the pages of memory the op writes that
  glibc's allocator has just mapped, at the calibrated cost of a page fault (see
  cost.pagefaults: a replay of the allocations through a model of glibc's heap). A loop
  that calibrates an op reuses its memory and never sees them; a network may.
- cold start (calibrated CPU): what an op takes in a network beyond its loop time, its code,
  the interpreter's and dispatcher's state and its module's bookkeeping fetched back after
  the ops between two of its kind evicted them; per op group (conv, GEMM, each
  memory-bound class, other), measured by running a small CNN and timing each op in
  sequence against the same op in a loop. Every op's forward pays it (measured on a 2-core
  VM: inside densenet121's dense layers, where each op moves 150-500 KB, each op took 6-37
  us more than in a loop).
- cold reads (calibrated device): a layer's weights, and inputs written before the two
  layers just ahead of it (skip connections, concatenated features), are fetched from
  memory no cache holds, at the calibrated cold-read bandwidth, added to its time (the
  per-op rates are timed in loops that find their operands cached; a memory-bound class
  is timed right after a convolution that writes its input, which it then finds cached).
  A matrix product's surface already streams its weight. A memory-bound op's backward
  reads what its forward saved (cost.memory.saved_bytes) the same way.
- cold writes (calibrated CPU, training forward): each output held for the backward is
  written into memory the previous step's backward freed, at the calibrated cost of
  writing that many bytes into memory last touched long ago, less its fresh pages.

Backward: a layer with MACs computes one product per gradient it needs (input gradient
when its input depends on a parameter, weight gradient when it has parameters). A layer
without MACs is memory-bound: it reads the output gradient and what it saved, and writes
the input gradient. A tensor used by k layers has its k gradients summed: k-1 additions.
The optimizer step streams parameters, gradients and state as PyTorch's foreach kernels do,
from memory (a forward and a backward have passed through every cache since).

A layer is compute-bound when its compute time exceeds its memory time.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from ..errors import InvalidArgument
from ..ir import Layer, Network, numel
from ..units import PRECISION_BITS, check_precision
from .counts import needs_input_grad
from .memory import allocation_log, output_storage, saved_bytes
from .pagefaults import PAGE, Replay, held_at_backward, network_fresh_pages, replay

# Passes over the parameter bytes of one foreach optimizer step (reads + writes of params,
# grads and state, as torch.optim's foreach implementations issue them):
#   sgd:      p -= lr*g                                  read p, g; write p          = 3
#   momentum: buf = m*buf + g; p -= lr*buf               buf r/w 2+3, p r/w 3        = 8
#   adam:     m.lerp_(g) 3, v.mul_ 2, v.addcmul_(g,g) 3, denom=sqrt(v) 2, /=c 2, +=eps 2,
#             p.addcdiv_(m, denom) 4                                               = 18
#   adamw:    adam + decoupled decay p.mul_(1-lr*wd) 2                             = 20
OPTIMIZER_PASSES = {"sgd": 3, "momentum": 8, "adam": 18, "adamw": 20}
# Foreach kernels launched per parameter list by one step (each one a dispatch).
OPTIMIZER_KERNELS = {"sgd": 1, "momentum": 3, "adam": 7, "adamw": 8}

# Kinds that move memory without arithmetic (a layer with no MACs and no elementwise ops of
# another kind is a view: dispatch overhead only).
_COPY_KINDS = {"concat", "cat", "clone", "copy", "contiguous", "pad", "constant_pad_nd",
               "stack", "to", "embedding", "index", "gather", "permute_copy"}
# Kinds whose backward hands the gradient on without touching memory.
_PASS_KINDS = {"add", "flatten", "reshape", "view", "identity", "concat", "cat", "clone",
               "parameters", "dropout"}
_NORM_PREFIXES = ("batch_norm", "layer_norm", "group_norm", "instance_norm")

@dataclass(frozen=True)
class CatalogueFit:
    """How a catalogue device's datasheet turns into time: the fraction of peak that large
    GEMMs/convolutions reach (depthwise ones: no reuse across channels, far below), the
    fraction of the datasheet bandwidth a memory-bound op reaches, and Hockney's n1/2: a
    call takes `half_work_s / compute` to start before its work runs at its class's rate
    (a GEMM or convolution reaches half its large-problem rate at the work the device does
    in `half_work_s` at peak; a depthwise conv starts as fast, then runs at its lower
    ceiling, rather than `compute / depthwise` times slower: 2.9 us, not 20 us, on a
    catalogue CPU)."""

    compute: float
    depthwise: float
    bandwidth: float
    half_work_s: float


# CPUs: oneDNN reaches 60-80% of the dense peak on large problems, STREAM-like copies ~80%
# of the bandwidth. GPUs: fitted to PyTorch eager on an H200 (torch 2.11, cuDNN; fp32
# convolutions on TF32): the kernels of six torchvision CNNs' forwards, replayed as CUDA
# graphs at batch 1 and 64, ran at 40% of the TF32 peak and 50% of the datasheet bandwidth
# (median |error| 9% over 12 forwards with these figures; benchmarks/time_accuracy.py).
CATALOGUE_FIT = {"cpu": CatalogueFit(compute=0.7, depthwise=0.1, bandwidth=0.8,
                                     half_work_s=2e-6),
                 "gpu": CatalogueFit(compute=0.4, depthwise=0.1, bandwidth=0.5,
                                     half_work_s=1e-6)}
# The time to dispatch one tiny op (PyTorch eager: a view, a bookkeeping node).
CATALOGUE_OVERHEAD_S = {"gpu": 5e-6, "soc": 5e-6, "cpu": 2e-6}
# On a catalogue GPU, what the host CPU spends per op inside a network (inference forward,
# training forward, an op's backward: measured on the H200's host, a VM's
# x86 cores, by `netcost calibrate`; a faster host dispatches faster) and the least time a
# kernel takes on the device (its launch and ramp, in a CUDA graph's replay too).
CATALOGUE_GPU_DISPATCH_S = (25e-6, 50e-6, 60e-6)
CATALOGUE_KERNEL_FLOOR_S = 3e-6


@dataclass(frozen=True)
class LayerTime:
    name: str
    kind: str
    flops: int  # forward, whole batch (2 per MAC; elementwise ops for memory-bound layers)
    bytes: int  # forward bytes read + written
    forward_s: float
    backward_s: float
    inference_s: float
    compute_s: float  # forward compute time alone
    memory_s: float  # forward memory time alone
    throughput: float  # FLOP/s its shape achieves forward (0 for layers without MACs)
    bound: str  # "compute" | "memory" | "overhead"
    fresh_pages: int = 0  # 4 KiB pages its inference forward maps in (cost.pagefaults)
    cold_start_s: float = 0.0  # its forward's cold start, in forward_s and inference_s
    step_fresh_pages: int = 0  # pages its forward and backward map in during a training step
    dispatch_s: float = 0.0  # the CPU's dispatch of its training forward, in forward_s
    dispatch_inference_s: float = 0.0  # ... of its inference forward, in inference_s
    dispatch_bwd_s: float = 0.0  # the CPU's dispatch of its backward, in backward_s
    cold_write_s: float = 0.0  # its training forward's output written to cold memory, in forward_s

    @property
    def intensity(self) -> float:
        """FLOPs per byte: its x position on the roofline."""
        return self.flops / self.bytes if self.bytes else math.inf

    def to_dict(self) -> dict[str, Any]:
        # Flat fields only, so a shallow copy; dataclasses.asdict deep-copies each value and
        # cost more than the time model itself on a 500-layer network.
        d = dict(vars(self))
        d["intensity"] = self.intensity if self.bytes else None
        return d


@dataclass(frozen=True)
class TimeEstimate:
    device: str
    device_name: str
    method: str  # "calibrated" | "catalogue"
    batch: int
    precision: str
    optimizer: str
    amp: str | None
    forward_s: float
    backward_s: float
    optimizer_s: float
    inference_s: float
    peak_flops: float  # the device's compute roof at this precision
    bandwidth: float  # its memory roof, bytes/s
    layers: tuple[LayerTime, ...]

    fresh_page_s: float = 0.0  # the calibrated cost of one fresh page (0: not modelled)
    # True on a GPU: the totals pipeline the CPU's dispatch with the device's kernels
    # (see `pipelined`), so they are less than the sums of the layers' times
    pipelined: bool = False

    @property
    def iteration_s(self) -> float:
        return self.forward_s + self.backward_s + self.optimizer_s

    @property
    def fresh_pages(self) -> int:
        """4 KiB pages the inference forward maps in afresh (cost.pagefaults)."""
        return sum(layer.fresh_pages for layer in self.layers)

    @property
    def fresh_pages_s(self) -> float:
        """Their share of `inference_s`."""
        return self.fresh_pages * self.fresh_page_s

    @property
    def step_fresh_pages(self) -> int:
        """4 KiB pages a training step's forward and backward map in afresh."""
        return sum(layer.step_fresh_pages for layer in self.layers)

    @property
    def step_fresh_pages_s(self) -> float:
        """Their share of `forward_s` and `backward_s`."""
        return self.step_fresh_pages * self.fresh_page_s

    @property
    def cold_start_s(self) -> float:
        """The ops' cold starts: their share of `forward_s` and of `inference_s`."""
        return sum(layer.cold_start_s for layer in self.layers)

    @property
    def cold_write_s(self) -> float:
        """The training forward's outputs written into cold memory: their share of
        `forward_s`."""
        return sum(layer.cold_write_s for layer in self.layers)

    def to_dict(self) -> dict[str, Any]:
        return {
            "device": self.device, "device_name": self.device_name, "method": self.method,
            "batch": self.batch, "precision": self.precision, "optimizer": self.optimizer,
            "amp": self.amp,
            "iteration_s": self.iteration_s, "forward_s": self.forward_s,
            "backward_s": self.backward_s, "optimizer_s": self.optimizer_s,
            "inference_s": self.inference_s,
            "fresh_pages": self.fresh_pages, "fresh_pages_s": self.fresh_pages_s,
            "step_fresh_pages": self.step_fresh_pages,
            "step_fresh_pages_s": self.step_fresh_pages_s,
            "cold_start_s": self.cold_start_s, "cold_write_s": self.cold_write_s,
            "pipelined": self.pipelined,
            "peak_flops": self.peak_flops, "bandwidth": self.bandwidth,
            "layers": [lt.to_dict() for lt in self.layers],
        }


# --- throughput models ------------------------------------------------------------------


def interpolate2d(points: Sequence[Sequence[float]], x: float, y: float) -> float:
    """Value at (x, y) from measured (x, y, value) points: piecewise linear in log x within
    each measured y, then in log y between the two nearest y (flat beyond the ends)."""
    from ..hardware.profile import interpolate

    rows: dict[float, list[tuple[float, float]]] = {}
    for px, py, v in points:
        rows.setdefault(py, []).append((px, v))
    ys = sorted(rows)
    at_y = [(yy, interpolate(sorted(rows[yy]), x)) for yy in ys]
    return interpolate(at_y, y)


# Input channels up to which a convolution is a stem (the image: RGB, RGBA, grey).
STEM_MAX_CHANNELS = 4
# The measured class a profile without a newer one falls back to (then to the GEMM surface).
_FALLBACK = {"stem": "conv3x3"}


def conv_class(layer: Layer) -> str:
    a = layer.attrs
    cin, groups = int(a.get("in_channels", 0) or 0), int(a.get("groups", 1) or 1)
    if groups > 1 and groups == cin:
        return "depthwise"
    if groups == 1 and 0 < cin <= STEM_MAX_CHANNELS:
        return "stem"  # too few channels to vectorise over: far below the 3x3 surface
    if tuple(a.get("kernel", (3, 3))) == (1, 1):
        return "conv1x1"
    return "conv3x3"


def shape_features(layer: Layer, batch: int) -> tuple[str, float, float]:
    """The op class and the two features its throughput is read at. Convolutions: output
    pixels (batch included) and the geometric mean of the channels in and out (a k x k kernel
    counts as k*k/9 times the channels of a 3x3 one: same inner-product length; so a stem's
    7x7 kernel reads its own points, apart from the 3x3 ones). Everything
    else with MACs is a matrix product: rows, and the geometric mean of its two widths."""
    out = layer.output_shape
    if layer.kind.startswith("conv") and "in_channels" in layer.attrs and len(out) == 3:
        cls = conv_class(layer)
        a = layer.attrs
        cin, cout = int(a["in_channels"]), int(a.get("out_channels", out[0]))
        g = int(a.get("groups", 1) or 1)
        kh, kw = tuple(a.get("kernel", (3, 3)))
        pixels = batch * out[1] * out[2]
        if cls == "depthwise":
            return cls, pixels, cout
        inner = cin // g * (kh * kw / 9 if cls in ("conv3x3", "stem") else 1)
        return cls, pixels, math.sqrt(inner * cout / g)
    n = out[-1] if out else 1
    per_out = layer.cost.macs / max(numel(out), 1)  # inner length of each dot product
    rows = batch * numel(out) / max(n, 1)
    return "gemm", rows, math.sqrt(max(per_out, 1) * n)


def catalogue_efficiency(flops: float, peak: float, cls: str,
                         fit: CatalogueFit = CATALOGUE_FIT["cpu"]) -> float:
    """Fraction of peak for a call of `flops` on a catalogue device: the large-problem
    efficiency, reduced by Hockney's half-performance work. The call then takes
    flops / (top x peak) + half_work_s / compute: the same start-up for every class (a
    depthwise conv's low ceiling does not slow its start)."""
    top = fit.depthwise if cls == "depthwise" else fit.compute
    half = peak * fit.half_work_s * top / fit.compute
    return top * flops / (flops + half)


@dataclass(frozen=True)
class Rates:
    """How fast a device does each kind of work, for one estimate."""

    device: Any  # hardware.catalogue.Device
    precision: str

    @property
    def profile(self) -> Any:
        return self.device.profile

    def compute(self, cls: str, x: float, y: float, flops: float, backward: bool,
                batch: int = 1) -> float:
        prof = self.profile
        if prof is not None:
            curves = prof.compute.get(self.precision) or prof.compute["fp32"]
            if cls not in curves:  # an older profile, or one whose budget ran out
                cls = _FALLBACK.get(cls, "gemm")
            key = f"{cls}_bwd" if backward and f"{cls}_bwd" in curves else cls
            if key not in curves:
                key = "gemm"
            rate = interpolate2d(curves[key], x, y)
            if not backward and f"{key}_b8" in curves and batch > 1:
                # forward surfaces at batch 1 and 8: linear in log(batch) between them
                from ..hardware.profile import interpolate

                at8 = interpolate2d(curves[f"{key}_b8"], x, y)
                rate = interpolate(((1.0, rate), (8.0, at8)), float(batch))
            return rate
        peak = self.device.peak(self.precision)
        if (self.precision == "fp32" and self.device.kind == "gpu" and cls != "gemm"
                and "tf32" in self.device.peak_flops):
            # PyTorch's default torch.backends.cudnn.allow_tf32=True: fp32 convolutions run
            # on TF32 tensor cores (matrix products do not: allow_tf32 is off for matmul)
            peak = self.device.peak_flops["tf32"]
        return peak * catalogue_efficiency(flops, peak, cls, self.fit)

    def memory(self, nbytes: float, inplace: bool = False) -> float:
        prof = self.profile
        if prof is not None:
            from ..hardware.profile import interpolate

            curve = prof.elementwise_inplace if inplace and prof.elementwise_inplace \
                else prof.elementwise
            return interpolate(curve, nbytes)
        return self.device.bandwidth * self.fit.bandwidth

    @property
    def fit(self) -> CatalogueFit:
        return CATALOGUE_FIT["gpu" if self.pipelined else "cpu"]

    def pointwise(self, layer: Layer, batch: int) -> tuple[float, float, float] | None:
        """(training forward, backward, eval forward) seconds of a memory-bound layer from
        its class's measured curves; None without a calibrated curve for it."""
        prof = self.profile
        found = pointwise_class(layer)
        if prof is None or found is None or found[0] not in prof.pointwise:
            return None
        from ..hardware.profile import interpolate

        cls, per_sample = found
        n = max(per_sample * batch, 1)
        return tuple(n / interpolate(prof.pointwise[cls + phase], n)  # type: ignore[return-value]
                     for phase in ("", "_bwd", "_eval"))

    @property
    def cold_bandwidth(self) -> float | None:
        """Bytes/s of a read from memory no cache holds (calibrated CPU only); None: no
        term. A GPU's last-level cache holds tens of MiB, so its calibrated large operands
        already come from device memory, and a cold 4 MiB read there is a launch, not a
        bandwidth (H200: 0.41 TB/s against 4.2 TB/s for a copy; charged, it made
        resnet50's 16 residual adds at batch 64 take 4.1 ms instead of 0.65 ms)."""
        prof = self.profile
        return prof.stream.get("cold_read") if prof is not None and prof.backend == "cpu" \
            else None

    @property
    def fresh_page_s(self) -> float:
        """Seconds per fresh page an op writes (calibrated CPU only; 0: no term)."""
        prof = self.profile
        return prof.fresh_page_s if prof is not None and prof.backend == "cpu" else 0.0

    def cold_start(self, group: str) -> float:
        """Seconds an op of `group` takes beyond its loop time in a network (calibrated CPU
        only; 0: no term)."""
        prof = self.profile
        if prof is None or prof.backend != "cpu" or not prof.cold_start_s:
            return 0.0
        return prof.cold_start_s.get(group, prof.cold_start_s.get("other", 0.0))

    @property
    def cold_write_curve(self) -> tuple[tuple[float, float], ...]:
        """The calibrated cold-write costs (calibrated CPU only; empty: no term)."""
        prof = self.profile
        return prof.cold_write if prof is not None and prof.backend == "cpu" else ()

    def cold_write(self, nbytes: float) -> float:
        """Seconds writing `nbytes` of output into memory last touched long ago adds to an
        op (calibrated CPU only; 0: no term): linear between the calibrated sizes, and
        beyond them in proportion to the bytes (a bandwidth at large sizes, a per-page cost
        at small ones)."""
        curve = self.cold_write_curve
        if not curve or nbytes <= 0:
            return 0.0
        (lo, at_lo), (hi, at_hi) = curve[0], curve[-1]
        if nbytes <= lo:
            return at_lo * nbytes / lo
        if nbytes >= hi:
            return at_hi * nbytes / hi
        (x0, y0), (x1, y1) = next((a, b) for a, b in itertools.pairwise(curve)
                                  if a[0] <= nbytes <= b[0] and a[0] < b[0])
        return y0 + (y1 - y0) * (nbytes - x0) / (x1 - x0)

    def cold(self, nbytes: float) -> float:
        """Seconds to fetch `nbytes` that no cache holds, on top of the op's own time."""
        bw = self.cold_bandwidth
        return nbytes / bw if bw and nbytes else 0.0

    @property
    def pipelined(self) -> bool:
        """The device runs kernels from a queue the CPU fills ahead of it (a CUDA GPU):
        dispatch and kernels overlap."""
        prof = self.profile
        if prof is not None:  # a CUDA profile from before dispatch was measured apart
            return prof.backend == "cuda" and bool(prof.dispatch_s)  # summed its rates
        return self.device.kind == "gpu"  # Apple's (soc) keep the summed model: unchecked

    @property
    def overhead(self) -> float:
        if self.profile is not None:
            return self.profile.overhead_s
        return CATALOGUE_OVERHEAD_S.get(self.device.kind, 5e-6)

    def dispatch(self, group: str) -> tuple[float, float]:
        """(training forward, inference) seconds the CPU spends dispatching one op of
        `group` (cost.time.cold_start_group): on a calibrated CUDA device as measured
        inside a network, on a catalogue GPU CATALOGUE_GPU_DISPATCH_S, else the tiny op's
        overhead."""
        if self.profile is None and self.pipelined:
            inference, training, _ = CATALOGUE_GPU_DISPATCH_S
            return training, inference
        found = self.profile.dispatch_s if self.profile is not None else {}
        if group not in found:
            return self.overhead, self.overhead
        return found.get(f"train:{group}", found[group]), found[group]

    @property
    def overhead_bwd(self) -> float:
        if self.profile is not None:
            return self.profile.dispatch_s.get("backward", self.profile.overhead_bwd_s)
        if self.pipelined:
            return CATALOGUE_GPU_DISPATCH_S[2]
        return CATALOGUE_OVERHEAD_S.get(self.device.kind, 5e-6)

    @property
    def kernel_floor(self) -> float:
        """Least device time of a kernel (catalogue GPU; calibrated rates hold their own)."""
        return CATALOGUE_KERNEL_FLOOR_S if self.profile is None and self.pipelined else 0.0

    @property
    def optimizer_overhead(self) -> float:
        if self.profile is not None:
            return self.profile.optimizer_overhead_s
        return CATALOGUE_OVERHEAD_S.get(self.device.kind, 5e-6) / 10


# --- per-layer model ----------------------------------------------------------------------


_ACTIVATIONS = {"relu", "relu6", "leaky_relu", "hardtanh", "elu", "gelu", "silu", "sigmoid",
                "tanh", "hardswish", "hardsigmoid", "mish", "softplus"}


def pointwise_class(layer: Layer) -> tuple[str, int] | None:
    """The measured memory-bound op class of a layer (calibrate.POINTWISE) and the size it
    is read at, per sample: numbers of the input; for pooling, window reads (outputs x
    kernel area, so a stride-1 pool costs its 4x the outputs of a stride-2 one). None: the
    generic bytes model (out-of-place activations and adds, whose fresh output is the
    allocating elementwise curve's case)."""
    kind = layer.kind
    inplace = bool(layer.attrs.get("inplace", False))
    if _is_norm(kind) and kind.startswith("batch_norm"):
        return "batch_norm", layer.input_numel
    if kind in _ACTIVATIONS and inplace:
        return "relu", layer.input_numel
    if kind.startswith(("max_pool", "avg_pool")) and "kernel" in layer.attrs:
        kh, kw = tuple(layer.attrs["kernel"])
        return kind[:8], layer.output_numel * kh * kw
    if kind == "add" and inplace:
        return "add", layer.output_numel
    if kind in ("concat", "cat"):
        return "cat", layer.output_numel // 2  # measured as cat([x, x]): output = 2 x input
    return None


def cold_start_group(layer: Layer) -> str:
    """The op group whose calibrated cold start a layer pays (calibrate._cold_start_chain);
    layer_time adds it."""
    if layer.cost.macs:
        return "gemm" if _gemm(layer) else "conv"
    found = pointwise_class(layer)
    return found[0] if found else "other"


def _is_norm(kind: str) -> bool:
    return kind.startswith(_NORM_PREFIXES)


def _traffic(layer: Layer, batch: int, act: float, par: float, *, training: bool
             ) -> tuple[float, float]:
    """(forward bytes, backward bytes) of a layer at a batch; act and par are bytes per
    activation and per parameter number."""
    ins = batch * layer.input_numel * act
    out = batch * layer.output_numel * act
    params = layer.cost.params * par
    fwd = ins + out + params
    if _is_norm(layer.kind) and training:
        fwd += ins  # batch statistics: one more pass over the input before normalising
    # backward: read the output gradient and the saved input, write the input gradient;
    # read the weights and write their gradients
    bwd = out + 2 * ins + 2 * params
    if _is_norm(layer.kind):
        bwd += out  # the reductions of grad_out (and grad_out * x-hat) for the statistics
    if layer.kind.startswith("max_pool"):
        bwd += out  # int64 indices are read besides the gradient
    return fwd, bwd


def _strided_input_copy(layer: Layer, batch: int, act: float, rates: Rates) -> float:
    """What a strided depthwise conv takes beyond a stride-1 one over its outputs: oneDNN
    first reorders the whole input into its blocked layout, and a stride-s input is s*s
    times the size. The surplus is read and written once, by a transposing copy that runs
    at about half a plain copy's speed (measured here, batch 1, against stride-1 convs over
    the outputs: 13-343 us for mobilenet_v2's stride-2 ones and a 32-channel one at 112x112,
    1.4-2.7x the time of cloning their input)."""
    surplus = 2 * 2 * batch * (layer.input_numel - layer.output_numel) * act
    return surplus / rates.memory(surplus) if surplus > 0 else 0.0


def _input_pixels(layer: Layer) -> int:
    shape = layer.input_shapes[0] if layer.input_shapes else ()
    return numel(shape[1:]) if len(shape) == 3 else 1


def _macs_backward(layer: Layer, needs_grad: bool) -> int:
    """One product per gradient: for the input (if needed) and per weight (if any)."""
    grads = (1 if needs_grad else 0) + (1 if layer.cost.params else 0)
    if layer.cost.params == 0 and len(layer.input_shapes) > 1:  # a product of activations
        grads = len(layer.input_shapes) if needs_grad else 0
    return layer.cost.macs * grads


def cold_inputs(network: Network) -> dict[str, int]:
    """Per layer, the numbers per sample it reads from tensors written before the two layers
    just ahead of it in execution order (a skip connection, a concat of earlier features): in a
    whole network, other layers' data have streamed through the caches since."""
    out: dict[str, int] = {}
    recent: tuple[str, ...] = ()
    for layer in network.layers:
        out[layer.name] = sum(numel(shape) for parent, shape
                              in zip(layer.parents, layer.input_shapes, strict=False)
                              if parent not in recent)
        # the two layers just ahead: an op traced as a copy and the op (clone, relu6) both
        # read the tensor written just before them
        recent = (*recent[-1:], layer.name)
    return out


def layer_time(layer: Layer, rates: Rates, *, batch: int, act: float, par: float,
               needs_grad: bool, grad_sums: int, cold_numel: int = 0,
               saved_nbytes: int = 0) -> LayerTime:
    t = _layer_time(layer, rates, batch=batch, act=act, par=par, needs_grad=needs_grad,
                    grad_sums=grad_sums)
    # Weights and older activations come from memory no cache holds: a call timed alone in
    # a loop finds them cached, an op in a network does not. Kernels do not hide that fetch
    # behind their arithmetic at these sizes (measured: a batch-1 conv inside resnet18 took
    # its loop time plus roughly its weight bytes at the cold-read bandwidth), so it adds.
    # A memory-bound layer too: its calibrated time reads inputs a producer has just
    # written, from cache, so the fetch from memory adds to it (measured: densenet121's
    # concatenations of 23 earlier feature maps take 2-2.5x their calibrated time, about
    # that time plus the maps at the cold-read bandwidth).
    # A matrix product's calibrated surface already streams its weight: at few rows, where
    # the weight read dominates, calibrate rotates weights over more than the caches hold.
    weights = layer.cost.params * par if not _gemm(layer) else 0.0
    cold_fwd = rates.cold(weights + cold_numel * batch * act)
    # A backward reads what its forward saved, written a whole forward ago: a memory-bound
    # op's calibrated backward finds it cached (its forward ran just before), so the fetch
    # adds (measured in densenet121's step at batch 8: its 120 ReLU backwards took 49-58 ms
    # against 29 ms calibrated; their saved outputs, 478 MiB, take 25 ms at the cold-read
    # bandwidth). An op with MACs (a convolution, a matrix product) is calibrated reading
    # rotated copies of its input, so only its weights are fetched again.
    if not t.backward_s:
        cold_bwd = 0.0
    elif layer.cost.macs:
        cold_bwd = rates.cold(weights)
    else:
        cold_bwd = rates.cold(saved_nbytes)
    # The forward's cold start, for an op that runs a kernel (a view dispatches only); the
    # backward leaves it out: calibrate times backward kernels, not their cold starts.
    group = cold_start_group(layer)
    start = rates.cold_start(group) if t.bound != "overhead" else 0.0
    # the CPU's share: one dispatch forward (a view's is the tiny op's); backward, its
    # autograd node's and an add per gradient summed into this layer's output gradient
    d_fwd, d_inf = rates.dispatch(group) if t.bound != "overhead" else (rates.overhead,) * 2
    dispatch_bwd = min(t.backward_s, (rates.overhead_bwd if t.backward_s > 0 else 0.0)
                       + grad_sums * rates.overhead)
    floor = rates.kernel_floor if t.bound != "overhead" else 0.0
    # a backward that hands its gradient on (add, concat, ...) runs no kernel of its own
    floor_bwd = floor if t.backward_s and layer.kind not in _PASS_KINDS else 0.0
    return replace(t, forward_s=t.forward_s + cold_fwd + start + d_fwd + floor,
                   inference_s=t.inference_s + cold_fwd + start + d_inf + floor,
                   backward_s=t.backward_s + cold_bwd + floor_bwd,
                   cold_start_s=start,
                   dispatch_s=d_fwd, dispatch_inference_s=d_inf, dispatch_bwd_s=dispatch_bwd)


def _gemm(layer: Layer) -> bool:
    return bool(layer.cost.macs) and shape_features(layer, 1)[0] == "gemm"


def _layer_time(layer: Layer, rates: Rates, *, batch: int, act: float, par: float,
                needs_grad: bool, grad_sums: int) -> LayerTime:
    macs = layer.cost.macs * batch
    fwd_bytes, bwd_bytes = _traffic(layer, batch, act, par, training=True)
    inf_bytes, _ = _traffic(layer, batch, act, par, training=False)
    on_grad_path = needs_grad or layer.cost.params > 0
    # gradients from several consumers of this layer's output are summed: read 2, write 1,
    # each sum an add the autograd engine dispatches (a tiny op's overhead, not a node's)
    sum_bytes = grad_sums * 3 * batch * layer.output_numel * act
    sum_s = grad_sums * rates.overhead + (
        sum_bytes / rates.memory(sum_bytes / max(grad_sums, 1)) if sum_bytes else 0.0)
    if macs:
        cls, x, y = shape_features(layer, batch)
        flops = 2 * macs
        thr = rates.compute(cls, x, y, flops, backward=False, batch=batch)
        compute = flops / thr
        stride = _input_pixels(layer) / max(numel(layer.output_shape[1:]), 1) \
            if cls == "depthwise" else 1.0
        if stride > 1:
            compute += _strided_input_copy(layer, batch, act, rates)
            thr = flops / compute
        # weights and inputs are read where they lie: the in-place (no fresh pages) rate
        memory = fwd_bytes / rates.memory(fwd_bytes, inplace=True)
        bwd_flops = 2 * batch * _macs_backward(layer, needs_grad)
        bwd_compute = bwd_flops * max(stride, 1.0) / rates.compute(
            cls, x, y, bwd_flops, backward=True) if bwd_flops else 0.0
        bwd_memory = bwd_bytes / rates.memory(bwd_bytes, inplace=True) if on_grad_path else 0.0
        fwd = max(compute, memory)
        bwd = max(bwd_compute, bwd_memory) if on_grad_path else 0.0
        bound = "compute" if compute >= memory else "memory"
        inference = max(compute, inf_bytes / rates.memory(inf_bytes, inplace=True))
        return _finish(layer, rates, flops, fwd_bytes, fwd, bwd, inference, compute, memory,
                       thr, bound, on_grad_path, sum_s)
    elementwise = layer.cost.elementwise_ops * batch
    moves = elementwise or layer.kind in _COPY_KINDS
    if not moves:  # a view or a bookkeeping node: dispatch only
        return _finish(layer, rates, 0, 0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, "overhead",
                       on_grad_path, sum_s)
    inplace = bool(layer.attrs.get("inplace", False))  # relu_, add_: no fresh output
    passes = on_grad_path and layer.kind not in _PASS_KINDS
    measured = rates.pointwise(layer, batch)
    if measured is not None:  # this op class was timed by calibrate at several sizes
        memory, bwd, inference = measured
        bwd = bwd if passes else 0.0
        return _finish(layer, rates, elementwise, fwd_bytes, memory, bwd, inference, 0.0,
                       memory, 0.0, "memory", on_grad_path, sum_s)
    memory = fwd_bytes / rates.memory(fwd_bytes, inplace)
    inference = inf_bytes / rates.memory(inf_bytes, inplace)
    bwd = bwd_bytes / rates.memory(bwd_bytes) if passes else 0.0
    return _finish(layer, rates, elementwise, fwd_bytes, memory, bwd, inference, 0.0, memory,
                   0.0, "memory", on_grad_path, sum_s)


def _finish(layer: Layer, rates: Rates, flops: float, nbytes: float, fwd: float, bwd: float,
            inference: float, compute: float, memory: float, thr: float, bound: str,
            on_grad_path: bool, sum_s: float) -> LayerTime:
    return LayerTime(  # layer_time adds the forward's dispatch
        name=layer.name, kind=layer.kind, flops=int(flops), bytes=int(nbytes),
        forward_s=fwd,
        backward_s=(bwd + rates.overhead_bwd if on_grad_path else 0.0) + sum_s,
        inference_s=inference,
        compute_s=compute, memory_s=memory, throughput=thr, bound=bound,
    )


def autograd_copies(network: Network) -> set[str]:
    """Clones that autograd makes before an in-place op whose backward needs the input it
    overwrites (a batch norm's output under ReLU6(inplace=True): the trace, taken with
    gradients on, records `clone`, which only the backward reads, then `hardtanh_`). An
    inference forward under no_grad makes none: they cost nothing there."""
    users = network.consumers()
    copies = set()
    for layer, after in zip(network.layers, network.layers[1:], strict=False):
        if (layer.kind == "clone" and not users[layer.name] and after.attrs.get("inplace")
                and layer.name in after.attrs.get("saved", ())):
            copies.add(layer.name)
    return copies


def _grad_sums(network: Network, needs: Mapping[str, bool]) -> dict[str, int]:
    """How many gradient additions each tensor's gradient takes: consumers on the grad
    path, minus one."""
    on_path = {name: needs.get(name, False) for name in network.inputs}
    for layer in network.layers:
        on_path[layer.name] = needs[layer.name] or layer.cost.params > 0
    sums = {}
    for name, consumers in network.consumers().items():
        k = sum(1 for c in consumers if needs.get(c, False))
        sums[name] = max(k - 1, 0) if on_path.get(name) else 0
    return sums


def optimizer_time(params: int, n_tensors: int, rates: Rates, optimizer: str,
                   par: float) -> float:
    nbytes = OPTIMIZER_PASSES[optimizer] * params * par
    kernels = OPTIMIZER_KERNELS[optimizer]
    # The step follows a forward and a backward that streamed a step's activations through
    # every cache: parameters, gradients and state come from memory, at the rate of an
    # in-place op beyond every cache (a calibrated curve's largest point, the STREAM triad;
    # on a calibrated GPU too, whose L2 holds tens of MiB, not checked there;
    # the per-kernel size's rate, 45-56 GB/s from this VM's large L3 at resnet50's 272 MB,
    # made its step 23 ms against 50 ms measured after a backward, 28 ms repeated at once).
    # In place, so no fresh pages.
    streaming = nbytes / rates.memory(math.inf, inplace=True) if nbytes else 0.0
    dispatch = kernels * (rates.overhead + n_tensors * rates.optimizer_overhead)
    if rates.pipelined:
        return pipelined([(dispatch / kernels, streaming / kernels)] * kernels)
    return streaming + dispatch


def pipelined(ops: Sequence[tuple[float, float]]) -> float:
    """Wall time of ops that each cost (dispatch, kernel): the CPU dispatches them one after
    another, and the device runs each kernel once it is queued and the one before it has
    finished. A launch-bound run (small batches) takes its dispatches; a compute-bound one
    its kernels, plus the first dispatch."""
    cpu = device = 0.0
    for dispatch, kernel in ops:
        cpu += dispatch
        device = max(device, cpu) + kernel
    return max(cpu, device)


def _param_tensors(network: Network) -> int:
    """Parameter tensors (weight, bias, ...) for the per-tensor optimizer overhead."""
    total = 0
    for layer in network.layers:
        names = layer.attrs.get("params")
        if isinstance(names, (list, tuple)):
            total += len(names)
        elif layer.cost.params:
            total += 2 if layer.attrs.get("bias", False) or layer.kind.startswith(
                _NORM_PREFIXES) else 1
    return total


def estimate(network: Network, *, batch: int = 1, precision: str = "fp32",
             device: Any = "local", optimizer: str = "momentum", amp: str | None = None,
             input_requires_grad: bool = False) -> TimeEstimate:
    """Time of one training iteration (forward, backward, optimizer step) and of one
    inference forward at `batch` on `device` (a name, or a hardware Device)."""
    from ..hardware.catalogue import get_device

    if not isinstance(batch, int) or isinstance(batch, bool) or batch <= 0:
        raise InvalidArgument(f"batch must be a positive integer, got {batch!r}")
    precision = check_precision(precision)
    if optimizer not in OPTIMIZER_PASSES:
        raise InvalidArgument(
            f"unknown optimizer {optimizer!r}; choose one of {', '.join(OPTIMIZER_PASSES)}")
    if amp is not None and amp not in ("fp16", "bf16"):
        raise InvalidArgument(f"amp must be fp16 or bf16, got {amp!r}")
    dev = get_device(device)
    par = PRECISION_BITS[precision] / 8
    act = PRECISION_BITS[amp] / 8 if amp else par
    rates = Rates(dev, amp or precision)
    needs = needs_input_grad(network, input_requires_grad=input_requires_grad)
    sums = _grad_sums(network, needs)
    cold = cold_inputs(network)
    # what each backward reads back: only where a cold read costs anything (calibrated CPU)
    saved = saved_bytes(network, batch=batch, precision=precision, amp=amp) \
        if rates.cold_bandwidth else {}
    rows = tuple(
        layer_time(layer, rates, batch=batch, act=act, par=par, needs_grad=needs[layer.name],
                   grad_sums=sums.get(layer.name, 0), cold_numel=cold[layer.name],
                   saved_nbytes=saved.get(layer.name, 0))
        for layer in network.layers
    )
    per_page = rates.fresh_page_s
    infer_pages = network_fresh_pages(network, batch=batch, training=False,
                                      precision=precision, amp=amp) if per_page else {}
    step_log = allocation_log(network, batch=batch, training=True, precision=precision,
                              optimizer=optimizer, amp=amp, backend="cpu") \
        if per_page or rates.cold_write_curve else []
    step = replay(step_log) if per_page else Replay({}, {})
    rows = _with_fresh_pages(rows, per_page, infer_pages, step.per_op)
    rows = _with_cold_writes(rows, rates, step_log, step.per_storage)
    grad_only = autograd_copies(network)
    rows = tuple(replace(r, inference_s=0.0, dispatch_inference_s=0.0, fresh_pages=0)
                 if r.name in grad_only else r for r in rows)
    opt = optimizer_time(network.params, _param_tensors(network), rates, optimizer, par)
    opt += step.per_op.get("optimizer step", 0) * per_page
    if rates.pipelined:  # the backward runs the layers in reverse
        forward = pipelined([(r.dispatch_s, r.forward_s - r.dispatch_s) for r in rows])
        inference = pipelined([(r.dispatch_inference_s, r.inference_s - r.dispatch_inference_s)
                               for r in rows])
        backward = pipelined([(r.dispatch_bwd_s, r.backward_s - r.dispatch_bwd_s)
                              for r in reversed(rows)])
    else:
        forward = sum(r.forward_s for r in rows)
        inference = sum(r.inference_s for r in rows)
        backward = sum(r.backward_s for r in rows)
    return TimeEstimate(
        device=dev.key, device_name=dev.name,
        method="calibrated" if dev.profile is not None else "catalogue",
        batch=batch, precision=precision, optimizer=optimizer, amp=amp,
        forward_s=forward, backward_s=backward, optimizer_s=opt, inference_s=inference,
        peak_flops=dev.peak(amp or precision), bandwidth=dev.bandwidth,
        layers=rows, fresh_page_s=per_page, pipelined=rates.pipelined,
    )


def _with_fresh_pages(rows: tuple[LayerTime, ...], per_page: float, infer: Mapping[str, int],
                      step: Mapping[str, int]) -> tuple[LayerTime, ...]:
    """Each op's fresh pages at the calibrated cost of one: those of an inference forward in
    its inference time, those of a training step in its forward and backward times. The
    replay follows the faults Linux counts per batch-1 forward
    (resnet18/50: 0 against 0-800; densenet121 7,464 against 6,569-14,040; mobilenet_v2
    3,496 against 2,661-4,085) and per training step at batch 8 for the models whose steps
    fault most (vgg11 404,638 against 326,000-398,000; mobilenet_v2 107,419 against
    69,000-118,000); where the count swings from process to process (resnet50 56,883
    against 3,000-116,000; resnet18 29,701 against 2,000-24,000; densenet121 34,831 against
    0-26,000) it is a few percent of a step."""
    out = []
    for row in rows:
        n = infer.get(f"forward: {row.name}", 0)
        fwd, bwd = step.get(f"forward: {row.name}", 0), step.get(f"backward: {row.name}", 0)
        if n or fwd or bwd:
            row = replace(row, inference_s=row.inference_s + n * per_page, fresh_pages=n,
                          forward_s=row.forward_s + fwd * per_page,
                          backward_s=row.backward_s + bwd * per_page,
                          step_fresh_pages=fwd + bwd)
        out.append(row)
    return tuple(out)


def _with_cold_writes(rows: tuple[LayerTime, ...], rates: Rates,
                      step_log: Sequence[tuple[Any, ...]], fresh: Mapping[Any, int]
                      ) -> tuple[LayerTime, ...]:
    """Each output a training forward holds for the backward, written into cold memory
    (calibrated CPU): held outputs pile up, so each op writes into memory that the previous
    step's backward freed, a step's data ago, where a calibration loop reuses what its last
    call freed, still cached. Held: allocated in the forward and alive when the backward
    starts (the memory walk's own account, cost.memory; an in-place op or a view allocates
    nothing). Less the output's fresh pages (already charged), which the kernel hands over
    zeroed, hence cached. Not in inference: its outputs reuse memory freed a layer or two
    before."""
    if not rates.cold_write_curve:
        return rows
    held = held_at_backward(step_log)
    sizes = {args[0]: args[1] for kind, *args in step_log if kind == "alloc"}
    out = []
    for row in rows:
        sid = output_storage(row.name)
        if sid in held:
            extra = rates.cold_write(max(sizes[sid] - fresh.get(sid, 0) * PAGE, 0))
            if extra:
                row = replace(row, forward_s=row.forward_s + extra, cold_write_s=extra)
        out.append(row)
    return tuple(out)


# --- epochs and whole runs ----------------------------------------------------------------


@dataclass(frozen=True)
class TrainingPlan:
    """Wall-clock time of a whole training run: the lecture's closing question."""

    model: str
    device: str
    batch: int
    dataset: int  # samples per epoch
    epochs: int
    iterations_per_epoch: int  # ceil(dataset / batch): the last batch may be partial
    iteration_s: float  # a full batch
    last_iteration_s: float  # the partial last batch (= iteration_s when none)
    training_peak_bytes: int | None = None
    memory_bytes: int | None = None

    @property
    def epoch_s(self) -> float:
        return (self.iterations_per_epoch - 1) * self.iteration_s + self.last_iteration_s

    @property
    def total_s(self) -> float:
        return self.epochs * self.epoch_s

    @property
    def fits(self) -> bool | None:
        if self.training_peak_bytes is None or self.memory_bytes is None:
            return None
        return self.training_peak_bytes <= self.memory_bytes

    def to_dict(self) -> dict[str, Any]:
        return {"model": self.model, "device": self.device, "batch": self.batch,
                "dataset": self.dataset, "epochs": self.epochs,
                "iterations_per_epoch": self.iterations_per_epoch,
                "iteration_s": self.iteration_s, "last_iteration_s": self.last_iteration_s,
                "epoch_s": self.epoch_s, "total_s": self.total_s,
                "training_peak_bytes": self.training_peak_bytes,
                "memory_bytes": self.memory_bytes, "fits": self.fits}


def positive(name: str, value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise InvalidArgument(f"{name} must be a positive integer, got {value!r}")
    return value


def iterations_per_epoch(dataset: int, batch: int) -> int:
    return -(-positive("dataset size", dataset) // positive("batch", batch))


def plan(network: Network, *, device: Any, batch: int, epochs: int, dataset: int,
         precision: str = "fp32", optimizer: str = "momentum", amp: str | None = None,
         memory: bool = True) -> TrainingPlan:
    """Iterations per epoch, time per epoch and time to train `epochs` epochs over a dataset
    of `dataset` samples, with whether training fits the device's memory at this batch."""
    from ..hardware.catalogue import get_device

    positive("epochs", epochs)
    iters = iterations_per_epoch(dataset, batch)
    dev = get_device(device)
    est = estimate(network, batch=batch, precision=precision, device=dev, optimizer=optimizer,
                   amp=amp)
    rest = dataset - (iters - 1) * batch
    last = est.iteration_s if rest == batch else estimate(
        network, batch=rest, precision=precision, device=dev, optimizer=optimizer,
        amp=amp).iteration_s
    peak = None
    if memory:
        from . import memory as memory_model

        backend = "cuda" if dev.kind == "gpu" or (dev.profile is not None and
                                                  dev.profile.backend == "cuda") else "cpu"
        peak = memory_model.estimate(network, batch=batch, precision=precision,
                                     optimizer=optimizer, amp=amp,
                                     backend=backend).training.peak_bytes
    return TrainingPlan(model=network.name, device=dev.key, batch=batch, dataset=dataset,
                        epochs=epochs, iterations_per_epoch=iters, iteration_s=est.iteration_s,
                        last_iteration_s=last, training_peak_bytes=peak,
                        memory_bytes=dev.memory_bytes)


def rank_by_time(plans: Sequence[TrainingPlan]) -> list[TrainingPlan]:
    """Fastest run to train first: fewer epochs win only if their epochs are not slower by
    more than the ratio of epochs (the lecture: 10 epochs of 2.4 h lose to 100 of 1.5 min)."""
    return sorted(plans, key=lambda p: p.total_s)

__all__ = ["LayerTime", "OPTIMIZER_PASSES", "TimeEstimate", "TrainingPlan", "estimate",
           "iterations_per_epoch", "plan", "rank_by_time"]
