"""Fresh pages: the memory an op writes that the operating system must first map in.

PyTorch's CPU tensors come from glibc's malloc. A small request is carved from the heap,
memory the process already holds; a large one (at or above the *mmap threshold*) is a fresh
mapping, and the heap itself gives memory back when its free top grows past the *trim
threshold*. Either way the next op that writes there takes a page fault per 4 KiB page,
and the kernel zeroes each page: on the machine this was written on, 1.2-1.7 us a page, so
a network that keeps mapping memory (densenet121 at batch 1: 7,000-14,000 faults per forward,
71 ms against 60-63 ms with glibc told to keep its memory) spends a sixth of its time there,
and one whose tensors settle (the ResNets: none) nothing. Calibrated op timings never see
it: a loop reuses the same memory.

What is modelled is a process that runs this one workload over and over from glibc's initial
state, a server: what else the process ran changes the answer (after three training steps
at batch 8, whose large tensors raise the thresholds, densenet121's forward faults nothing).

This module replays the memory walk's allocations (cost.memory.allocation_log) through a
model of glibc's main arena, over a few iterations until it reaches its steady state, and
counts the fresh pages each op touches:
- requests at or above the mmap threshold are mapped (every page fresh) and unmapped on
  free; freeing a mapped chunk larger than the threshold (up to 32 MiB) raises the
  threshold to its size and the trim threshold to twice that (glibc's dynamic threshold);
- others take the best-fitting free chunk, or extend the top of the heap (by the request
  plus a 128 KiB pad); freed chunks coalesce with free neighbours; when the free top
  reaches the trim threshold the heap shrinks back to the pad, and those pages are fresh
  when the heap grows again;
- an op writes all of its outputs and temporaries: the pages of the heap above the highest
  one ever written since the last trim are fresh.
It leaves out bins' exact order and tiny allocations (tensor metadata, Python objects).
Checked against the faults Linux counts (getrusage) for batch-1 inference on this
machine's torchvision models: see benchmarks/time_accuracy.py.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

PAGE = 4096
TOP_PAD = 128 * 1024  # glibc M_TOP_PAD default
MMAP_THRESHOLD = 128 * 1024  # glibc's initial M_MMAP_THRESHOLD
MMAP_THRESHOLD_MAX = 32 * 2**20  # the dynamic threshold's ceiling on 64-bit
MIN_CHUNK = 32
ALIGNMENT_SLACK = 64  # c10's posix_memalign(64): room to align the block


def _chunk(nbytes: int) -> int:
    """A request's chunk size: its header, rounded to 16 bytes, plus alignment room."""
    return max((nbytes + 8 + 15) // 16 * 16 + ALIGNMENT_SLACK, MIN_CHUNK)


class Arena:
    """glibc's main arena, reduced to what decides whether memory is fresh."""

    def __init__(self) -> None:
        self.mmap_threshold = MMAP_THRESHOLD
        self.trim_threshold = 2 * MMAP_THRESHOLD
        self.free_chunks: list[tuple[int, int]] = []  # (address, size), address order
        self.top = 0  # the free top chunk starts here...
        self.brk = 0  # ... and ends here: the end of the heap
        self.written = 0  # the heap's first pages, this many, are mapped in
        self.chunks: dict[Any, tuple[int, int, bool]] = {}  # key -> (address, size, mapped)

    def malloc(self, key: Any, nbytes: int) -> int:
        """Allocate and write `nbytes`; returns the fresh pages it faulted in."""
        size = _chunk(nbytes)
        if size >= self.mmap_threshold:
            size = -(-(size + 8) // PAGE) * PAGE
            self.chunks[key] = (-1, size, True)
            return size // PAGE
        fit = self._best_fit(size)
        if fit is None:
            addr = self.top
            if addr + size > self.brk:
                self.brk += -(-(addr + size - self.brk + TOP_PAD) // PAGE) * PAGE
            self.top = addr + size
        else:
            addr, size = fit
        self.chunks[key] = (addr, size, False)
        last = -(-(addr + size) // PAGE)  # one past the last page it writes
        fresh = max(last - max(addr // PAGE, self.written), 0)
        self.written = max(self.written, last)
        return fresh

    def _best_fit(self, size: int) -> tuple[int, int] | None:
        """The smallest free chunk that holds `size`, split (address, size), or None."""
        best = None
        for i, (_, free) in enumerate(self.free_chunks):
            if free >= size and (best is None or free < self.free_chunks[best][1]):
                best = i
        if best is None:
            return None
        addr, free = self.free_chunks.pop(best)
        if free - size >= MIN_CHUNK:
            bisect.insort(self.free_chunks, (addr + size, free - size))
            free = size
        return addr, free

    def free(self, key: Any) -> None:
        addr, size, mapped = self.chunks.pop(key)
        if mapped:
            if self.mmap_threshold < size <= MMAP_THRESHOLD_MAX:
                self.mmap_threshold, self.trim_threshold = size, 2 * size
            return
        i = bisect.bisect_left(self.free_chunks, (addr, 0))
        if i < len(self.free_chunks) and self.free_chunks[i][0] == addr + size:
            size += self.free_chunks.pop(i)[1]
        if i > 0 and sum(self.free_chunks[i - 1]) == addr:
            prev, prev_size = self.free_chunks.pop(i - 1)
            addr, size = prev, size + prev_size
        if addr + size != self.top:
            bisect.insort(self.free_chunks, (addr, size))
            return
        self.top = addr
        if self.brk - self.top >= self.trim_threshold:
            give_back = (self.brk - self.top - TOP_PAD) // PAGE * PAGE
            self.brk -= give_back
            self.written = min(self.written, self.brk // PAGE)


@dataclass(frozen=True)
class Replay:
    """Fresh pages in the steady state of repeated iterations: per op label ("forward:
    name", "backward: name", ...) and per storage (the pool's id, cost.memory.output_storage
    for a layer's output)."""

    per_op: dict[str, int]
    per_storage: dict[Any, int]


def replay(log: Iterable[tuple[Any, ...]], *, iterations: int = 3) -> Replay:
    """The log (cost.memory.allocation_log) replayed `iterations` times, the last one
    counted."""
    log = list(log)
    arena = Arena()
    counts: dict[str, int] = {}
    storages: dict[Any, int] = {}
    carried: list[Any] = []
    for it in range(iterations):
        counts, storages, pending = {}, {}, 0
        for key in carried:  # the last iteration's output and gradients let go
            arena.free(key)
        carried = []
        for kind, *args in log:
            if kind == "alloc" or (kind == "keep" and it == 0):
                pages = arena.malloc((it, args[0]), args[1])
                storages[args[0]] = pages
                pending += pages
            elif kind == "free":
                arena.free((it, args[0]))
            elif kind == "carry":
                carried.append((it, args[0]))
            elif kind == "temp":
                pending += arena.malloc((it, "temp"), args[0])
                arena.free((it, "temp"))
            elif kind == "op":  # what was allocated since the last op was this op's
                counts[args[0]] = counts.get(args[0], 0) + pending
                pending = 0
    return Replay(counts, storages)


def fresh_pages(log: Iterable[tuple[Any, ...]], *, iterations: int = 3) -> dict[str, int]:
    """Fresh pages per op label in the steady state (see `replay`)."""
    return replay(log, iterations=iterations).per_op


def held_at_backward(log: Iterable[tuple[Any, ...]]) -> set[Any]:
    """The storages a training step's log allocated in its forward and still holds when the
    backward starts: what the forward keeps for the backward (and the output)."""
    alive: set[Any] = set()
    for kind, *args in log:
        if kind == "op" and str(args[0]).startswith("backward:"):
            break
        if kind == "alloc":
            alive.add(args[0])
        elif kind == "free":
            alive.discard(args[0])
    return alive


def network_fresh_pages(network: Any, *, batch: int, training: bool, precision: str = "fp32",
                        optimizer: str = "momentum", amp: str | None = None) -> dict[str, int]:
    """Fresh pages per op of one inference forward (training=False) or one training step,
    in the steady state of repeated iterations."""
    from .memory import allocation_log

    return fresh_pages(allocation_log(network, batch=batch, training=training,
                                      precision=precision, optimizer=optimizer, amp=amp,
                                      backend="cpu"))


__all__ = ["Arena", "Replay", "fresh_pages", "held_at_backward", "network_fresh_pages",
           "replay"]
