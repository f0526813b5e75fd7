"""Measure this machine with PyTorch: achieved throughput by shape, not one peak.

What is measured, per backend (CPU, and CUDA when present) and precision (fp32, and bf16
where the backend has bf16 kernels):
- GEMM throughput over (rows, width) - linear layers at small and large batches;
- convolution throughput over (output pixels, channels) for 3x3, 1x1 and depthwise kernels
  and for stems (3 input channels: 3x3 stride 1 and 7x7 stride 2), forward and backward;
- an elementwise op that allocates its output, over sizes (what framework ops pay: caches,
  page faults of fresh memory), STREAM-like copy/triad into preallocated memory, and the
  bandwidth of a cold read (data last touched hundreds of MiB ago, as a weight in a model);
- the dispatch overhead of one tiny op, forward and with autograd's backward;
- the per-tensor overhead of a foreach optimizer step;
- the cost of a fresh page of memory (fault and zeroing, see cost.pagefaults), CPU only;
- each op group's cold start: an op's time in a small CNN run in sequence over its time in
  a loop, CPU only;
- what writing an output into memory last touched long ago adds, as a training forward
  writes the activations it holds, CPU only.

On the CPU throughputs are net of the dispatch overhead, which the time model adds once per
op; on CUDA they are the kernels' alone (Timer.kernels), and the CPU's dispatch of each op
group is measured inside a small network (the time model pipelines the two, cost.time).
torch is imported inside the functions: `import netcost` stays light.
"""

from __future__ import annotations

import datetime as _dt
import functools
import itertools
import math
import os
import statistics
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from .profile import Backend, Profile, save_profile

# (output pixels incl. batch, channels): the grid each conv class is measured on. Pixels
# 49..25088 span 7x7 maps at batch 1 to 56x56 at batch 8; a point whose MACs exceed
# MAX_MACS is left out to keep the calibration short (the curve is flat beyond it).
PIXELS = (49, 196, 784, 3136, 25088)
CHANNELS = {"conv3x3": (16, 64, 256, 512), "conv1x1": (32, 128, 512, 2048),
            "depthwise": (32, 144, 576, 1280)}
# Stem convolutions, the first layer of image models (3 input channels), run far below the
# conv3x3 surface (no channel blocking to vectorise over): (kernel, stride) of the two
# common ones, output channels, output pixels incl. batch (56x56 to 224x224 maps at batch 1,
# batch 8 beyond).
STEM_KERNELS = ((3, 1), (7, 2))
STEM_CHANNELS = (32, 64)
STEM_PIXELS = (3136, 12544, 50176, 401408)
STEM_INPUT = 3
GEMM_ROWS = (1, 8, 64, 512)
GEMM_WIDTH = (256, 1024, 4096)
# At few rows a matrix product streams its weight: measured with weights rotated over
# GEMM_STREAM_BYTES (more than the last-level cache: 480 MiB of L3 on the VM this was
# written on), so that the weight comes from memory as in a network, where the other
# layers' weights stream through the caches between two calls, and at a width whose
# weight alone is larger than most caches (256 MiB in fp32).
GEMM_STREAM_ROWS = (1, 8)
GEMM_STREAM_WIDTH = 8192
GEMM_STREAM_BYTES = 512 * 2**20
ELEMENTWISE_NUMEL = tuple(2 ** k for k in range(10, 25, 2))
# cold reads: 4 MiB chunks cycled over 256 MiB, more than any cache a core reaches quickly
COLD_CHUNK = 4 * 2**20
COLD_SPAN = 256 * 2**20
MAX_MACS = 2e9
# (batch, channels, side) of the inputs each memory-bound op class is measured at: 3K to 6.4M
# numbers, from a 7x7 map at batch 1 to a 112x112 one at batch 8.
POINTWISE_SIZES = ((1, 64, 7), (1, 64, 28), (1, 64, 56), (8, 64, 56), (8, 64, 112))
# A GPU is far from full at the CPU grid's largest points (2 GMACs: ~10 us on a datacentre
# GPU), and its last-level cache holds tens of MiB: on CUDA the conv grid goes on to 56x56
# and 112x112 maps at batch 64, and the memory-bound classes are measured up to 205 MB at
# the channel counts of a network's middle: a batch norm's reductions run per channel, and
# at 64 channels of 112x112 x 64 images its backward took 1.2 ms on an H200, 3-4 times the
# bytes' time.
CUDA_PIXELS = (200704, 802816)
CUDA_MAX_MACS = 1e11
CUDA_POINTWISE_SIZES = ((1, 64, 7), (1, 64, 28), (1, 256, 56), (8, 256, 56), (64, 512, 28),
                        (64, 256, 56))
POINTWISE = ("batch_norm", "relu", "max_pool", "avg_pool", "add", "cat")


@dataclass(frozen=True)
class Task:
    label: str
    run: Callable[[float], Any]  # seconds allowed -> result


WARMUP_S = 0.004


class Timer:
    """Lower-quartile time of a callable after warm-up (on CUDA: see `kernels`). The
    lower quartile rather than the median: on a shared machine a run is only ever slowed
    down, never sped up, so the faster runs are the better estimate of what the hardware
    does.

    Once `fresh_page[0]` holds the calibrated cost of a fresh page (CPU), each call of 50 us
    or more is timed net of the page faults it took: the time model charges an op's fresh
    pages apart, from a replay of a network's allocations (cost.pagefaults), so its rates
    must not carry the faults of a calibration loop's allocations too (measured: a batch
    norm backward over 8x64x112x112 faulted 3,757 pages a call, about half its time)."""

    def __init__(self, torch: Any, device: str, fresh_page: list[float] | None = None):
        self.torch = torch
        self.cuda = device == "cuda"
        self.fresh_page = fresh_page if device == "cpu" else None

    def __call__(self, fn: Callable[..., Any], seconds: float, *, min_reps: int = 5,
                 max_reps: int = 50, after: Callable[[], Any] | None = None) -> float:
        """`after`: an op run (untimed) before each call, whose result `fn` takes - the
        op's time as it follows another in a network, not the difference of two timings,
        which noise can drive to nothing. On CUDA it runs once and every call takes its
        result: the calls are queued back to back, and a GPU's caches make little of
        what the producer left in them."""
        if self.cuda:
            return self.kernels(fn, seconds, (after(),) if after is not None else ())
        fault_s = self.fresh_page[0] if self.fresh_page else 0.0

        def call(net_of_faults: bool = False) -> float:
            args = (after(),) if after is not None else ()
            faults = _minor_faults() if net_of_faults else 0
            begin = time.perf_counter()
            fn(*args)
            elapsed = time.perf_counter() - begin
            if net_of_faults:
                elapsed = max(elapsed - (_minor_faults() - faults) * fault_s, elapsed * 0.1)
            return elapsed

        # Warm-up: the first call's setup (kernel selection, allocation), then calls until
        # WARMUP_S has passed, so that the worker threads are awake and spinning as they
        # are between the back-to-back ops of a training step (a parallel region that has
        # to wake a sleeping thread costs milliseconds on a busy machine).
        start = time.perf_counter()
        calls = 0
        while calls < 2 or (calls < 200 and time.perf_counter() - start < WARMUP_S):
            call()
            calls += 1
        per_call = (time.perf_counter() - start) / calls
        reps = int(min(max(seconds / max(per_call, 1e-7), min_reps), max_reps))
        if per_call * min_reps > 4 * seconds:  # a slow call: a few repeats only
            reps = 2
        # counting faults costs a system call or two: only where that is lost in the call
        net = fault_s > 0 and per_call >= FAULT_COUNT_MIN_S
        return lower_quartile([call(net) for _ in range(reps)])

    def cpu_side(self, fn: Callable[..., Any], seconds: float, **kwargs: Any) -> float:
        """A dispatch cost: on CUDA the calls issued back to back (tiny kernels finish
        before the CPU has queued the next), on the CPU the timer itself."""
        return self.throughput(fn, seconds) if self.cuda else self(fn, seconds, **kwargs)

    def kernels(self, fn: Callable[..., Any], seconds: float, args: tuple[Any, ...] = (),
                repeats: int = 3) -> float:
        """Seconds of GPU work per call of `fn`, without its dispatch (CUDA): the stream
        is held by a sleeping kernel for longer than the CPU takes to queue the calls,
        then CUDA events time them run back to back. The time model pipelines these
        kernels with each op's dispatch inside a network (calibrate._dispatch_task); a
        call timed alone would carry its dispatch and, for a backward, the autograd
        engine's start (60-110 us a call on an H200 host), which a network pays once."""
        torch = self.torch
        per_call = self.throughput(fn, seconds / 3, args)  # also the warm-up
        # at most 100 calls: a backward step queues several kernels, and a full launch
        # queue would block the CPU inside the timed window
        calls = int(min(max(seconds / 3 / repeats / per_call, 1), 100))
        # a call's throughput is at least its dispatch: queuing `calls` of them takes less
        # than this sleep (cycles at up to 2 GHz; a slower clock only sleeps longer)
        cycles = int(2e9 * (1.5 * per_call * calls + 5e-4))
        start, end = (torch.cuda.Event(enable_timing=True) for _ in range(2))
        best = math.inf
        for _ in range(repeats):
            torch.cuda.synchronize()
            torch.cuda._sleep(cycles)
            start.record()
            for _ in range(calls):
                fn(*args)
            end.record()
            torch.cuda.synchronize()
            best = min(best, start.elapsed_time(end) / 1e3 / calls)
        return best

    def throughput(self, fn: Callable[..., Any], seconds: float, args: tuple[Any, ...] = (),
                   batches: int = 5) -> float:
        """Seconds per call of `fn` issued back to back, one synchronisation per batch of
        calls (CUDA): the larger of its dispatch on the CPU and its kernels on the GPU.
        The lower of the batches' medians, as for the CPU."""
        sync = self.torch.cuda.synchronize

        def batch(calls: int) -> float:
            sync()
            begin = time.perf_counter()
            for _ in range(calls):
                fn(*args)
            sync()
            return (time.perf_counter() - begin) / calls

        batch(2)  # setup: kernel selection, the allocator's first blocks
        per_call = batch(3)
        calls = int(min(max(seconds / batches / max(per_call, 1e-7), 1), 2000))
        return lower_quartile([batch(calls) for _ in range(batches)])


def lower_quartile(times: list[float]) -> float:
    """The median of the faster half: what every calibration timing keeps (see Timer)."""
    ordered = sorted(times)
    return statistics.median(ordered[: max(len(ordered) // 2, 1)])


FAULT_COUNT_MIN_S = 50e-6


def _minor_faults() -> int:
    try:
        import resource
    except ImportError:  # Windows: no count, nothing taken off
        return 0
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def _dtype(torch: Any, precision: str) -> Any:
    return {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}[precision]


def conv_shape(cls: str, pixels: int, channels: int, *, backward: bool = False
               ) -> tuple[int, int, int, int, int]:
    """(batch, channels in, output side, channels out, groups) for a grid point: square maps.
    Forward: batch 1 up to 56x56 (inference; 224x224 for a stem), batch 8 beyond; backward
    only runs in training, so it is measured at batch 8 (the weight gradient reduces over
    the batch)."""
    b1_pixels = STEM_PIXELS[-2] if cls == "stem" else 3136
    batch = 8 if backward or pixels > b1_pixels else 1
    if cls != "stem" and pixels >= CUDA_PIXELS[0]:
        batch = 64  # the GPU grid's 56x56 and 112x112 maps
    side = max(round((pixels / batch) ** 0.5), 1)
    if cls == "stem":
        return batch, STEM_INPUT, side, channels, 1
    if cls == "conv1x1":
        return batch, channels, side, channels // 2, 1  # bottleneck-style squeeze
    if cls == "depthwise":
        return batch, channels, side, channels, channels
    return batch, channels, side, channels, 1


def conv_macs(cls: str, pixels: int, channels: int, *, backward: bool = False,
              kernel: int = 3) -> int:
    b, c, s, k, g = conv_shape(cls, pixels, channels, backward=backward)
    kk = 1 if cls == "conv1x1" else kernel * kernel
    return b * s * s * k * (c // g) * kk


def conv_feature(cls: str, cin: int, cout: int, kernel: int) -> float:
    """The channel feature cost.time.shape_features reads a conv at: the channels for a
    depthwise one, else the geometric mean of the inner-product length (a k x k kernel
    counts k*k/9 times its input channels) and the output channels."""
    if cls == "depthwise":
        return cout
    inner = cin * (kernel * kernel / 9 if cls in ("conv3x3", "stem") else 1)
    return (inner * cout) ** 0.5


def conv_grid(dev: str = "cpu") -> Iterator[tuple[str, int, int, int, int]]:
    """(class, channels, pixels, kernel, stride) of every conv point, stems first (the
    first layer of every image model), within the device's MAC cap."""
    pixels = PIXELS + (CUDA_PIXELS if dev == "cuda" else ())
    points = [("stem", c, p, k, s) for k, s in STEM_KERNELS for c in STEM_CHANNELS
              for p in STEM_PIXELS]
    points += [(cls, c, p, 1 if cls == "conv1x1" else 3, 1)
               for cls, chans in CHANNELS.items() for c in chans for p in pixels]
    for cls, c, p, k, s in points:
        if conv_macs(cls, p, c, kernel=k) <= max_macs(dev):
            yield cls, c, p, k, s


def max_macs(dev: str) -> float:
    return CUDA_MAX_MACS if dev == "cuda" else MAX_MACS


def _conv_tasks(torch: Any, dev: str, prec: str, timer: Timer, out: dict[str, list],
                overhead: list[float]) -> Iterator[Task]:
    dtype = _dtype(torch, prec)

    def make(cls: str, c: int, p: int, kk: int, stride: int, backward: bool
             ) -> tuple[Iterator[Any], int, float, int]:
        """Endless (conv, input, output gradient) triples over enough copies to span
        ROTATION_BYTES, so weights and inputs come from memory as in a network, where
        other layers' tensors and weights stream through the caches between two uses
        (see `rotation`), and how many copies. A stem's input is the image: it needs no
        gradient."""
        b, cin, s, k, g = conv_shape(cls, p, c, backward=backward)
        side = s * stride  # padding kk // 2: the output side is side / stride
        size = 4 * (b * cin * side * side + k * (cin // g) * kk * kk)
        input_grad = backward and cls != "stem"
        copies = []
        grad = torch.rand(b, k, s, s, device=dev, dtype=dtype) if backward else None
        # A long call's caches matter little beside its arithmetic, and each copy is run
        # once before timing: at most MAX_MACS of copies (two or more) for a heavy point
        macs = conv_macs(cls, p, c, backward=backward, kernel=kk)
        n = min(max(-(-ROTATION_BYTES // size), 1), 16, max(int(max_macs(dev) // macs), 2))
        for _ in range(n):
            conv = torch.nn.Conv2d(cin, k, kk, stride=stride, padding=kk // 2, groups=g,
                                   bias=False)
            x = torch.rand(b, cin, side, side, device=dev, dtype=dtype,
                           requires_grad=input_grad)
            copies.append((conv.to(dev, dtype), x, grad))
        return itertools.cycle(copies), b * s * s, conv_feature(cls, cin, k, kk), len(copies)

    for cls, c, p, kk, stride in conv_grid(dev):
        def run(seconds: float, cls: str = cls, c: int = c, p: int = p, kk: int = kk,
                stride: int = stride) -> None:
            def forward(triples: Iterator[Any]) -> None:
                conv, x, _ = next(triples)
                conv(x)

            # Each copy's first calls map its kernel's buffers and set up its primitives: a
            # whole cycle of them before timing (with the timer's two warm-up calls), or a
            # big conv's few timed calls are mostly first calls (measured: 512 channels at
            # 7x7 read 61-85 GFLOP/s without this warm-up, 110-127 after it, 145 on one
            # copy in a loop).
            triples, pixels, feat, n = make(cls, c, p, kk, stride, backward=False)
            macs = conv_macs(cls, p, c, kernel=kk)
            with torch.no_grad():
                _warm(lambda: forward(triples), n - 2, seconds / 3)
                t_fwd = timer(lambda: forward(triples), seconds / 3)
            out.setdefault(cls, []).append(
                [pixels, feat, 2 * macs / max(t_fwd - overhead[0], t_fwd * 0.1)])
            triples, pixels, feat, n = make(cls, c, p, kk, stride, backward=True)
            macs = conv_macs(cls, p, c, backward=True, kernel=kk)
            with torch.no_grad():
                _warm(lambda: forward(triples), n - 2, seconds / 3)
                t_fwd = timer(lambda: forward(triples), seconds / 3)
            # the forward at batch 8 too: a training batch spreads the same pixels
            # over more images, which kernels parallelise better than one image
            out.setdefault(cls + "_b8", []).append(
                [pixels, feat, 2 * macs / max(t_fwd - overhead[0], t_fwd * 0.1)])

            def step() -> None:
                conv, x, grad = next(triples)
                conv.weight.grad = None
                x.grad = None
                conv(x).backward(grad)

            _warm(step, n - 2, seconds / 3)
            t_all = timer(step, seconds / 3)
            # floor: a stalled forward can exceed forward+backward (seen: 2.9e16 FLOP/s for
            # a depthwise backward, which the running maximum then spread along its row)
            net = max(t_all - t_fwd - overhead[1], (t_all - t_fwd) * 0.1, t_fwd * 0.1)
            # backward: the weight gradient and (but for a stem) the input gradient, each
            # as many MACs as the forward
            grads = 1 if cls == "stem" else 2
            out.setdefault(cls + "_bwd", []).append([pixels, feat, 2 * grads * macs / net])

        label = f"{kk}x{kk}/{stride} " if cls == "stem" else ""
        yield Task(f"{dev} {prec} {cls} {label}{c}ch {p}px", run)


def _warm(fn: Callable[[], Any], calls: int, seconds: float) -> None:
    """Up to `calls` calls (beyond the timer's own two warm-up calls: one per copy of a
    rotation) within about `seconds`, what the timing after it is handed."""
    deadline = time.perf_counter() + seconds
    for _ in range(calls):
        if time.perf_counter() > deadline:
            return
        fn()


def _gemm_tasks(torch: Any, dev: str, prec: str, timer: Timer, out: dict[str, list],
                overhead: list[float]) -> Iterator[Task]:
    dtype = _dtype(torch, prec)
    pool: list[Any] = []  # one GEMM_STREAM_BYTES buffer the streamed weights are views of

    def weights(n: int, streamed: bool) -> Iterator[Any]:
        """Endless n x n weights: one, cached, at many rows (compute-bound: the weight is
        reused across rows); at few rows, views cycled over GEMM_STREAM_BYTES, so each
        call reads its weight from memory."""
        if not streamed:
            return itertools.repeat(torch.empty(n, n, device=dev, dtype=dtype).uniform_())
        if not pool:  # uniform_, not randn: filling 512 MiB with normals takes seconds
            pool.append(torch.empty(GEMM_STREAM_BYTES // dtype.itemsize,
                                    device=dev, dtype=dtype).uniform_())
        buf = pool[0]
        views = [buf[i * n * n:(i + 1) * n * n].view(n, n)
                 for i in range(max(buf.numel() // (n * n), 1))]
        return itertools.cycle(views)

    points = [(m, n) for m in GEMM_ROWS for n in GEMM_WIDTH]
    points += [(m, GEMM_STREAM_WIDTH) for m in GEMM_STREAM_ROWS]
    for m, n in points:
        def run(seconds: float, m: int = m, n: int = n) -> None:
            a = torch.empty(m, n, device=dev, dtype=dtype).uniform_()
            ws = weights(n, m in GEMM_STREAM_ROWS)
            t = timer(lambda: torch.mm(a, next(ws)), seconds)
            net = max(t - overhead[0], t * 0.1)
            out.setdefault("gemm", []).append([m, n, 2 * m * n * n / net])  # rows, width
            if (m, n) == points[-1]:
                pool.clear()  # the last streamed point: free the buffer

        yield Task(f"{dev} {prec} gemm {m}x{n}x{n}", run)


def _overhead_task(torch: Any, dev: str, timer: Timer, overhead: list[float]) -> Task:
    def run(seconds: float) -> None:
        a = torch.ones(8, device=dev)
        overhead[0] = timer.cpu_side(lambda: torch.add(a, a), seconds / 2, min_reps=20,
                                     max_reps=2000)
        x = torch.ones(8, device=dev, requires_grad=True)

        def both() -> None:
            x.grad = None
            torch.add(x, x).sum().backward()

        # fwd+bwd of add then sum: two forward ops, two backward nodes, one engine run
        overhead[1] = max((timer.cpu_side(both, seconds / 2, min_reps=20, max_reps=2000)
                           - 2 * overhead[0]) / 2, 0.0)

    return Task(f"{dev} dispatch overhead", run)


def _memory_tasks(torch: Any, dev: str, timer: Timer, elementwise: list, inplace: list,
                  stream: dict[str, float], overhead: list[float]) -> Iterator[Task]:
    for n in ELEMENTWISE_NUMEL:
        def run(seconds: float, n: int = n) -> None:
            pairs = rotation(torch, (2, n), dev, span=0)  # inputs just written: cached
            t = timer(lambda: torch.add(*next(pairs)), seconds, max_reps=200)
            net = max(t - overhead[0], t * 0.1)
            elementwise.append([12 * n, 12 * n / net])  # read a and b, write a fresh output
            t = timer(lambda: next(pairs)[0].add_(next(pairs)[1]), seconds, max_reps=200)
            net = max(t - overhead[0], t * 0.1)
            inplace.append([12 * n, 12 * n / net])  # read a and b, write a in place

        yield Task(f"{dev} elementwise {n} numbers", run)

    def run_stream(seconds: float) -> None:
        n = ELEMENTWISE_NUMEL[-1] * 4
        a, b, c = (torch.randn(n, device=dev) for _ in range(3))
        t_copy = timer(lambda: c.copy_(a), seconds / 2)
        t_triad = timer(lambda: torch.add(a, b, alpha=3.0, out=c), seconds / 2)
        stream["copy"] = 8 * n / t_copy
        stream["triad"] = 12 * n / t_triad
        # the triad writes into c in place: the in-place curve's point beyond every cache
        # (its other points, one tensor pair each, fit a large shared cache: 59-77 GB/s at
        # 50-200 MB on the VM this was written on, against 29 GB/s here at 805 MB)
        inplace.append([12 * n, stream["triad"]])

    yield Task(f"{dev} STREAM copy/triad", run_stream)

    def run_cold(seconds: float) -> None:
        # cold read: a weight (or an activation written many layers before) last touched
        # COLD_SPAN bytes ago is no longer in any cache near this core; summing chunks
        # cycled over that span measures the bandwidth such reads get (on the 2-core VM
        # this was written on: 17 GB/s with 2 threads, 8 GB/s with one, against 22-25 GB/s
        # for STREAM copy/triad over tensors just written)
        chunk = COLD_CHUNK // 4
        chunks = [torch.empty(chunk, device=dev).fill_(1.0)
                  for _ in range(COLD_SPAN // COLD_CHUNK)]
        cycle = itertools.cycle(chunks)
        t_cold = timer(lambda: next(cycle).sum(), seconds, max_reps=len(chunks))
        stream["cold_read"] = COLD_CHUNK / max(t_cold - overhead[0], t_cold * 0.5)

    yield Task(f"{dev} cold read", run_cold)


FRESH_BYTES = 64 * 2**20  # above glibc's 32 MiB mmap ceiling: every allocation is mapped anew


def _fresh_page_task(torch: Any, timer: Timer, result: list[float]) -> Task:
    """Seconds per fresh 4 KiB page an op writes (fault, zeroing, unmapping): writing a new
    allocation against writing the same bytes of one already mapped (cost.pagefaults), on
    one thread. In a network the faults cost what one thread pays, not a share of a
    parallel fill: measured on the 2-core VM this was written on, densenet121 and googlenet
    forwards lost 1.2-1.7 us per fault against glibc told to keep its memory, one thread's
    fill 1.4 us per fresh page, two threads' 0.9 us."""
    def run(seconds: float) -> None:
        n = FRESH_BYTES // 4
        kept = torch.empty(n).fill_(1.0)
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            t_fresh = timer(lambda: torch.empty(n).fill_(1.0), seconds / 2, max_reps=20)
            t_kept = timer(lambda: kept.fill_(1.0), seconds / 2, max_reps=20)
        finally:
            torch.set_num_threads(threads)
        result[0] = max(t_fresh - t_kept, 0.0) / (FRESH_BYTES / 4096)

    return Task("cpu fresh pages", run)


# Output sizes of the cold-write measurement: a 7x7 map's to a 56x56 one's at batch 8.
COLD_WRITE_BYTES = (2**18, 2**20, 2**22, 2**24)


def _cold_write_task(torch: Any, timer: Timer, result: list[list[float]]) -> Task:
    """Seconds an op's output costs beyond its time in a loop when it is written into memory
    last touched long ago, per output size: a multiply into buffers cycled over COLD_SPAN
    against one into a single buffer. A loop reuses the memory its last call freed, which
    the caches hold; a training forward writes each activation into memory the previous
    step's backward freed, a step's worth of data ago. Measured on the 2-core VM this was
    written on: 0.02 ms more at 0.25 MiB, 0.16 ms at 4 MiB, 0.8 ms at 16 MiB. A convolution
    pays 2-3 times that (0.4-3.2 ms per output of 0.8-12 MiB at batch 8, with glibc told to
    keep its memory mapped), its writes interleaved with its arithmetic; that needs the
    process's allocator changed to measure, so the elementwise figure is what the time
    model charges, a lower bound. The buffers are mapped before timing: fresh pages are
    charged apart (`_fresh_page_task`), and the kernel zeroes them, so they come cached."""
    def run(seconds: float) -> None:
        share = seconds / len(COLD_WRITE_BYTES)
        points = []
        for nbytes in COLD_WRITE_BYTES:
            x = torch.rand(nbytes // 4)
            ring = [torch.empty_like(x).fill_(0.0) for _ in range(max(COLD_SPAN // nbytes, 4))]
            hot = timer(functools.partial(torch.mul, x, 2.0, out=ring[0]), share / 2)
            cycle = itertools.cycle(ring)
            cold = timer(lambda x=x, cycle=cycle: torch.mul(x, 2.0, out=next(cycle)),
                         share / 2, max_reps=len(ring))
            points.append([nbytes, max(cold - hot, 0.0)])
            del ring, cycle  # one span of buffers alive at a time
        result[:] = points

    return Task("cpu cold writes", run)


def _cold_start_chain(torch: Any, device: str = "cpu"
                      ) -> tuple[list[tuple[str, Callable[[Any], Any]]], Any]:
    """A small CNN at batch 1 as (op group, op) pairs, one or more ops of every group of
    cost.time.cold_start_group, and its input: 3x3 convolution, batch norm and ReLU blocks
    at 28x28, a max pool, a 1x1 block with an in-place add, a concat, a block at 14x14, an
    average pool, a sigmoid and a global pool (other ops), a linear layer."""
    nn = torch.nn
    ops: list[tuple[str, Callable[[Any], Any]]] = []

    def block(cin: int, cout: int, kernel: int) -> None:
        ops.extend([("conv", nn.Conv2d(cin, cout, kernel, padding=kernel // 2, bias=False,
                                       device=device)),
                    ("batch_norm", nn.BatchNorm2d(cout, device=device).eval()),
                    ("relu", nn.ReLU(inplace=True))])

    for c in (64, 72, 80):
        block(c, c + 8, 3)
    ops.append(("max_pool", nn.MaxPool2d(3, 2, 1)))
    block(88, 88, 1)
    ops.insert(-1, ("add", lambda t: t.add_(t)))  # a residual sum, before its ReLU
    ops.append(("cat", lambda t: torch.cat([t, t], 1)))
    block(176, 96, 3)
    linear = nn.Linear(96, 1000, device=device)
    ops += [("avg_pool", nn.AvgPool2d(2, 2)), ("other", torch.sigmoid),
            ("other", nn.AdaptiveAvgPool2d(1)), ("gemm", lambda t: linear(t.flatten(1)))]
    return ops, torch.rand(1, 64, 28, 28, device=device)


def _times_in_sequence(ops: list[tuple[str, Callable[[Any], Any]]], x: Any, passes: int,
                       warmup: int = 5, finish: Callable[[Any], Any] | None = None
                       ) -> tuple[list[Any], list[list[float]]]:
    """Each op's input (a copy), and its times over `passes` runs of the whole chain;
    `finish` takes each run's output (a backward, say)."""
    inputs: list[Any] = []
    times: list[list[float]] = [[] for _ in ops]
    for i in range(warmup + passes):
        t = x
        for j, (_, op) in enumerate(ops):
            if i == 0:
                inputs.append(t.detach().clone())
            start = time.perf_counter()
            t = op(t)
            if i >= warmup:
                times[j].append(time.perf_counter() - start)
        if finish is not None:
            finish(t)
    return inputs, times


def _times_alone(op: Callable[[Any], Any], inp: Any, passes: int, warmup: int = 10
                 ) -> list[float]:
    """The op's times called again and again on one input."""
    times = []
    for i in range(warmup + passes):
        start = time.perf_counter()
        op(inp)
        if i >= warmup:
            times.append(time.perf_counter() - start)
    return times


def _cold_start_task(torch: Any, result: dict[str, float]) -> Task:
    """Per op group, what an op takes in a network beyond its time in a loop: each op of a
    small CNN timed as it runs in sequence against the same op called again and again on
    its input (medians). In sequence the ops between two of a kind evict its code, the
    interpreter's and dispatcher's state and its module's bookkeeping (measured on the
    2-core VM this was written on: in densenet121's dense layers each op took 6-37 us more
    in sequence than in a loop). Not timed after a sweep through memory: that evicts
    everything, and its cost swung from 30 to 80 us for batch norm with the load of the
    VM's neighbours while ops in a network paid 25-40 us."""
    def run(seconds: float) -> None:
        ops, x = _cold_start_chain(torch)
        passes = max(int(seconds / 2 / 2e-3), 30)  # a pass takes about 1-2 ms
        with torch.no_grad():
            inputs, in_sequence = _times_in_sequence(ops, x, passes)
            extras: dict[str, list[float]] = {}
            for (group, op), inp, seq in zip(ops, inputs, in_sequence, strict=True):
                extra = statistics.median(seq) - statistics.median(_times_alone(op, inp, passes))
                extras.setdefault(group, []).append(max(extra, 0.0))
        result.update({g: statistics.fmean(v) for g, v in extras.items()})

    return Task("cpu cold op starts", run)


def _dispatch_task(torch: Any, result: dict[str, float]) -> Task:
    """CUDA: what the CPU spends on one op of each group inside a network, where the GPU
    runs the kernels it queued meanwhile: the small CNN of the cold starts at batch 1 (its
    kernels take less than their dispatch), each op timed as it runs in sequence, without
    synchronising: in an inference forward (eval, no_grad), in a training forward (autograd
    records each op), and its backward per op. A loop over one op finds the
    interpreter, the dispatcher and the module hot; a network does not (measured on an H200
    host: resnet18's batch-1 forward took 2.55 ms of dispatch for 69 ops, 37 us an op,
    against 7 us for a tiny add in a loop and 22 us for a small convolution)."""
    def run(seconds: float) -> None:
        ops, x = _cold_start_chain(torch, "cuda")
        passes = max(int(seconds / 3 / 2e-3), 50)  # a pass takes about 1-2 ms
        with torch.no_grad():
            _, times = _times_in_sequence(ops, x, passes)
        result.update(_group_medians(ops, times))
        for _, op in ops:
            if hasattr(op, "train"):
                op.train()
        backward: list[float] = []
        params = [p for _, op in ops if hasattr(op, "parameters") for p in op.parameters()]

        def timed_backward(out: Any) -> None:
            for p in params:  # as zero_grad(set_to_none=True): no gradient accumulation
                p.grad = None
            start = time.perf_counter()
            out.float().sum().backward()
            backward.append(time.perf_counter() - start)
            torch.cuda.synchronize()

        _, times = _times_in_sequence(ops, x, passes, finish=timed_backward)
        result.update({f"train:{g}": v for g, v in _group_medians(ops, times).items()})
        # per op of the chain, as the time model charges it per layer (a conv's backward
        # node with its weight's AccumulateGrad, the linear's two nodes, the engine's start)
        result["backward"] = lower_quartile(backward) / len(ops)

    return Task("cuda dispatch in a network", run)


def _group_medians(ops: list[tuple[str, Any]], times: list[list[float]]) -> dict[str, float]:
    """Per group, the mean over its ops of each op's lower-quartile time, as Timer takes:
    a host's slow spell only ever adds (on the H200's VM host, two calibrations minutes
    apart read a convolution's dispatch as 29 and 59 us while the networks' eager forwards
    ran at the faster pace)."""
    groups: dict[str, list[float]] = {}
    for (group, _), ts in zip(ops, times, strict=True):
        groups.setdefault(group, []).append(lower_quartile(ts))
    return {g: statistics.fmean(v) for g, v in groups.items()}


def _pointwise_op(torch: Any, cls: str, c: int, *, inplace: bool) -> Callable[..., Any]:
    """The framework op of a memory-bound class, as models call it."""
    if cls == "batch_norm":
        return torch.nn.BatchNorm2d(c)
    if cls == "relu":
        return torch.nn.ReLU(inplace=inplace)
    if cls == "max_pool":
        return torch.nn.MaxPool2d(3, 2, 1)
    if cls == "avg_pool":
        return torch.nn.AvgPool2d(2, 2)
    if cls == "add":
        return (lambda x: x.add_(x)) if inplace else (lambda x: x + x)
    return lambda x: torch.cat([x, x], 1)


ROTATION_BYTES = 64 * 2**20


def rotation(torch: Any, shape: tuple[int, ...], dev: str, *, requires_grad: bool = False,
             span: int = ROTATION_BYTES) -> Iterator[Any]:
    """Endless inputs cycling through enough copies to span `span` bytes (at most 16): a
    tensor saved in the forward and read in the backward (or a weight) was last touched
    long before, with other tensors streamed in between, so a large one comes from memory,
    not from the cache a repeated call on one tensor finds it in. span=0: one tensor, as
    an input the previous op has just written."""
    import itertools

    size = 4 * max(int(torch.Size(shape).numel()), 1)
    k = min(max(-(-span // size), 1), 16)
    copies = [torch.rand(shape, device=dev, requires_grad=requires_grad) for _ in range(k)]
    return itertools.cycle(copies)


def _pointwise_tasks(torch: Any, dev: str, timer: Timer, out: dict[str, list],
                     overhead: list[float]) -> Iterator[Task]:
    """Batch norm, ReLU, pooling, add and concat at several sizes: forward in training
    mode, backward, and eval forward, as (size, size per second) curves; the size is the
    input's numbers, for pooling its window reads (see cost.time.pointwise_class)."""
    for cls in POINTWISE:
        for b, c, side in CUDA_POINTWISE_SIZES if dev == "cuda" else POINTWISE_SIZES:
            def run(seconds: float, cls: str = cls, b: int = b, c: int = c,
                    side: int = side) -> None:
                n = b * c * side * side
                x = torch.rand(b, c, side, side, device=dev)
                op = _pointwise_op(torch, cls, c, inplace=True)
                if hasattr(op, "to"):
                    op = op.to(dev)
                # In a network the op reads what the op before it has just written, as that
                # op's threads left it (a convolution's, here), not what its own previous
                # call left in its cache: timed right after a 1x1 convolution (measured:
                # batch norm 49-87 us after a convolution where a loop over one tensor
                # takes 8-24 us).
                producer = torch.nn.Conv2d(c, c, 1, bias=False).to(dev)
                with torch.no_grad():
                    if hasattr(op, "train"):
                        op.train()
                    t_train = timer(op, seconds / 4, after=lambda: producer(x))
                    if hasattr(op, "eval"):
                        op.eval()
                    t_eval = timer(op, seconds / 4, after=lambda: producer(x))
                fresh = _pointwise_op(torch, cls, c, inplace=False)
                if hasattr(fresh, "to"):
                    fresh = fresh.to(dev).train()
                xgs = rotation(torch, (b, c, side, side), dev, requires_grad=True)
                t_fwd = timer(lambda: fresh(next(xgs)), seconds / 4)
                grads = rotation(torch, tuple(fresh(next(xgs)).shape), dev, span=0)

                def both() -> None:
                    # the input's gradient handed back, as to the op before it in a
                    # network; backward() would add it into x.grad, one more pass
                    x = next(xgs)
                    torch.autograd.grad(fresh(x), x, next(grads))

                t_all = timer(both, seconds / 4)
                net = [max(t_train - overhead[0], t_train * 0.1),
                       max(t_all - t_fwd - overhead[1], (t_all - t_fwd) * 0.1, t_fwd * 0.1),
                       max(t_eval - overhead[0], t_eval * 0.1)]
                if cls == "max_pool":  # window reads: outputs x 3x3 kernel
                    n = b * c * ((side + 1) // 2) ** 2 * 9
                elif cls == "avg_pool":  # outputs x 2x2 kernel
                    n = b * c * (side // 2) ** 2 * 4
                for phase, t in zip(("", "_bwd", "_eval"), net, strict=True):
                    out.setdefault(cls + phase, []).append([n, n / t])

            yield Task(f"{dev} {cls} {b}x{c}x{side}x{side}", run)


def _optimizer_task(torch: Any, dev: str, timer: Timer, result: list[float]) -> Task:
    """Per-tensor cost of a foreach SGD step over many tiny tensors (their bytes are nil)."""
    def run(seconds: float) -> None:
        params = [torch.zeros(4, device=dev, requires_grad=True) for _ in range(200)]
        for p in params:
            p.grad = torch.ones_like(p)
        opt = torch.optim.SGD(params, lr=0.1, momentum=0.9, foreach=True)
        opt.step()
        result[0] = timer.cpu_side(opt.step, seconds) / len(params)

    return Task(f"{dev} optimizer step overhead", run)


def _bf16_supported(torch: Any, dev: str) -> bool:
    if dev == "cuda":
        return bool(torch.cuda.is_bf16_supported())
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def _memory_bytes(torch: Any, dev: str) -> int:
    if dev == "cuda":
        return int(torch.cuda.get_device_properties(0).total_memory)
    return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))


def _device_name(torch: Any, dev: str, threads: int) -> str:
    if dev == "cuda":
        return torch.cuda.get_device_name(0)
    name = "CPU"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    name = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    import platform

    if name == "CPU" and platform.processor():
        name = platform.processor()
    return f"{name}, {threads} threads"


def plan_backend(torch: Any, dev: str, precisions: tuple[str, ...],
                 state: dict[str, Any]) -> list[Task]:
    """The measurements of one backend, the indispensable first (overhead, memory, GEMM):
    when the budget runs out the rest is skipped, and the time model falls back to the
    GEMM surface for a missing convolution class and to bytes over bandwidth for a
    missing memory-bound class."""
    # the fresh page's cost, once measured, times the later measurements net of faults
    timer = Timer(torch, dev, state.setdefault("fresh_page", [0.0]))
    measured_overhead = state.setdefault("overhead", [0.0, 0.0])
    # On the CPU an op's dispatch and its work run one after the other: rates are net of
    # the dispatch, which the time model adds back once per op. On CUDA rates are the
    # kernels' alone (Timer.kernels), which the time model pipelines with the dispatch.
    overhead = measured_overhead if dev == "cpu" else [0.0, 0.0]
    tasks = [_overhead_task(torch, dev, timer, measured_overhead)]
    tasks += list(_memory_tasks(torch, dev, timer, state.setdefault("elementwise", []),
                                state.setdefault("inplace", []),
                                state.setdefault("stream", {}), overhead))
    tasks.append(_optimizer_task(torch, dev, timer, state.setdefault("optimizer", [0.0])))
    if dev == "cpu":  # CUDA's caching allocator keeps its memory mapped
        tasks.append(_fresh_page_task(torch, timer, state.setdefault("fresh_page", [0.0])))
        tasks.append(_cold_start_task(torch, state.setdefault("cold_start", {})))
        tasks.append(_cold_write_task(torch, timer, state.setdefault("cold_write", [])))
    else:
        tasks.append(_dispatch_task(torch, state.setdefault("dispatch", {})))
    convs = []
    for prec in precisions:
        compute = state.setdefault("compute", {}).setdefault(prec, {})
        tasks += list(_gemm_tasks(torch, dev, prec, timer, compute, overhead))
        convs += list(_conv_tasks(torch, dev, prec, timer, compute, overhead))
    state["must_run"] = len(tasks)  # these run even past the budget
    tasks += list(_pointwise_tasks(torch, dev, timer, state.setdefault("pointwise", {}),
                                   overhead))
    return tasks + convs


def monotone(points: list[list[float]]) -> tuple[tuple[float, float, float], ...]:
    """A compute surface made non-decreasing in its size (x) within each row (y): more
    parallel work never lowers a kernel's achieved rate, while a dip in a measurement is
    another process stealing the CPU. The running maximum discards such dips."""
    out = []
    for y in sorted({p[1] for p in points}):
        best = 0.0
        for x, _, v in sorted(p for p in points if p[1] == y):
            best = max(best, v)
            out.append((x, y, best))
    return tuple(out)


def _backend(torch: Any, dev: str, threads: int, state: dict[str, Any]) -> Backend:
    return Backend(
        backend=dev, name=_device_name(torch, dev, threads), threads=threads,
        memory_bytes=_memory_bytes(torch, dev),
        compute={p: {c: monotone(pts) for c, pts in classes.items()}
                 for p, classes in state["compute"].items()},
        elementwise=tuple(tuple(pt) for pt in state["elementwise"]),
        elementwise_inplace=tuple(tuple(pt) for pt in sorted(state["inplace"])),
        extra={"skipped": list(state.get("skipped", []))},
        pointwise={k: tuple(tuple(pt) for pt in sorted(v)) for k, v in state["pointwise"].items()},
        stream=state["stream"], overhead_s=state["overhead"][0],
        overhead_bwd_s=state["overhead"][1], optimizer_overhead_s=state["optimizer"][0],
        fresh_page_s=state.get("fresh_page", [0.0])[0],
        cold_start_s=dict(state.get("cold_start", {})),
        cold_write=tuple(tuple(pt) for pt in sorted(state.get("cold_write", []))),
        dispatch_s=dict(state.get("dispatch", {})),
    )


def calibrate(*, budget_s: float = 45.0, backends: tuple[str, ...] | None = None,
              threads: int | None = None, progress: Callable[[str, int, int], None] | None = None,
              save: bool = True) -> Profile:
    """Measure every backend within about `budget_s` seconds and (by default) save the profile
    atomically. `progress(label, done, total)` is called before each measurement."""
    import torch

    if threads is not None:
        torch.set_num_threads(threads)
    if backends is None:
        backends = ("cpu", "cuda") if torch.cuda.is_available() else ("cpu",)
    plans = []
    for dev in backends:
        precisions = ("fp32", "bf16") if _bf16_supported(torch, dev) else ("fp32",)
        state: dict[str, Any] = {}
        plans.append((dev, state, plan_backend(torch, dev, precisions, state)))
    total = sum(len(tasks) for _, _, tasks in plans)
    # Each measurement gets an equal share of the budget; the setup and warm-up of each take
    # roughly as long again, so half of the budget is handed out.
    done = 0
    began = time.perf_counter()
    for _dev, state, tasks in plans:
        for i, task in enumerate(tasks):
            if progress:
                progress(task.label, done, total)
            # an equal share of what is left of the budget (half of it: setting up and
            # warming up each measurement take about as long again), so a slow machine
            # still finishes near the budget
            left = budget_s - (time.perf_counter() - began)
            if left > 0 or i < state["must_run"]:
                task.run(max(left * 0.5 / (total - done), 0.001))
            else:
                state.setdefault("skipped", []).append(task.label)
            done += 1
    if progress:
        progress("done", done, total)
    profile = Profile(
        created=_dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        torch=torch.__version__,
        backends={dev: _backend(torch, dev, torch.get_num_threads(), state)
                  for dev, state, _ in plans},
    )
    if save:
        save_profile(profile)
    return profile

