"""A calibration profile: what `netcost calibrate` measured on this machine, as curves.

Stored as JSON in the user's cache directory (NETCOST_CACHE_DIR overrides it, for tests),
written atomically (temp file + rename) so an interrupted calibration keeps the old one.
Each backend (cpu, cuda) becomes a device: `local-cpu`, `local-cuda`, and `local` (CUDA when
it was measured, else the CPU).
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from bisect import bisect_left
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import InvalidArgument

SCHEMA = "netcost.profile/1"
FILENAME = "profile.json"

Curve = tuple[tuple[float, float], ...]  # (size, value) points, size ascending


def cache_dir() -> Path:
    env = os.environ.get("NETCOST_CACHE_DIR")
    if env:
        return Path(env)
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("netcost"))


def profile_path() -> Path:
    return cache_dir() / FILENAME


def interpolate(curve: Sequence[tuple[float, float]], x: float) -> float:
    """Piecewise-linear in log(size) between measured points; flat beyond the ends (a larger
    problem than any measured runs at the largest measured rate, not an extrapolated one)."""
    if not curve:
        raise ValueError("empty curve")
    xs = [p[0] for p in curve]
    if x <= xs[0]:
        return curve[0][1]
    if x >= xs[-1]:
        return curve[-1][1]
    i = bisect_left(xs, x)
    (x0, y0), (x1, y1) = curve[i - 1], curve[i]
    w = (math.log(x) - math.log(x0)) / (math.log(x1) - math.log(x0))
    return y0 + w * (y1 - y0)


def _points(points: Any) -> tuple[tuple[float, float, float], ...]:
    pts = tuple((float(a), float(b), float(v)) for a, b, v in points)
    if not pts or any(x <= 0 for p in pts for x in p):
        raise InvalidArgument("a profile surface must hold positive (x, y, value) points")
    return pts


def _curve(points: Any, *, zero: bool = False) -> Curve:
    """(size, value) points, sizes positive, values positive (or, with `zero`, not negative:
    a cost that can measure as nothing)."""
    pts = tuple(sorted((float(a), float(b)) for a, b in points))
    if not pts or any(a <= 0 or b < 0 or (b == 0 and not zero) for a, b in pts):
        raise InvalidArgument("a profile curve must hold positive (size, value) points")
    return pts


@dataclass(frozen=True)
class Backend:
    """One measured compute device of this machine."""

    backend: str  # "cpu" | "cuda"
    name: str  # e.g. "Intel(R) Xeon(R) Processor, 2 threads"
    threads: int
    memory_bytes: int
    # precision -> op class -> measured (x, y, achieved FLOP/s) points; classes gemm
    # (x = rows, y = width), conv3x3, conv1x1, depthwise, stem (x = output pixels, y =
    # channel feature, see cost.time.shape_features), plus their "_bwd" (backward) and
    # "_b8" (forward at batch 8) surfaces; a profile without "stem" reads conv3x3
    compute: Mapping[str, Mapping[str, tuple[tuple[float, float, float], ...]]]
    # (bytes moved per call, achieved bytes/s) of an elementwise op that allocates its output
    elementwise: Curve
    # bytes/s: STREAM-like "copy" / "triad" into preallocated memory, and "cold_read", a read
    # of data no cache holds (see hardware.calibrate)
    stream: Mapping[str, float]
    overhead_s: float  # one tiny op, forward (framework dispatch)
    overhead_bwd_s: float  # extra per op for its autograd backward
    optimizer_overhead_s: float = 0.0  # per parameter tensor of a foreach optimizer step
    # (bytes moved per call, bytes/s) of the same op in place: no fresh output to fault in
    elementwise_inplace: Curve = ()
    # memory-bound op class ("batch_norm", "relu", "max_pool", "avg_pool", "add", "cat",
    # each also "_bwd" and "_eval") -> (input numbers, numbers per second)
    pointwise: Mapping[str, Curve] = field(default_factory=dict)
    extra: Mapping[str, Any] = field(default_factory=dict)
    # seconds per fresh 4 KiB page an op writes: fault, zeroing, release (CPU; 0: unmeasured)
    fresh_page_s: float = 0.0
    # op group ("conv", "gemm", a memory-bound class, "other") -> seconds an op of it takes
    # in a network beyond its time in a loop: its code and bookkeeping, evicted by the ops
    # between two of its kind, fetched back (CPU; see cost.time.cold_start_group)
    cold_start_s: Mapping[str, float] = field(default_factory=dict)
    # what the CPU spends dispatching one op inside a network (CUDA, where it overlaps the
    # kernels): "<group>" in an inference forward, "train:<group>" in a training forward
    # (autograd records the op), "backward" per op's backward (see calibrate._dispatch_task)
    dispatch_s: Mapping[str, float] = field(default_factory=dict)
    # (output bytes, seconds) an op's output costs beyond its loop time when written into
    # memory last touched long ago, as a training forward's held activations are (CPU;
    # empty: unmeasured; see calibrate._cold_write_task)
    cold_write: Curve = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "backend": self.backend, "name": self.name, "threads": self.threads,
            "memory_bytes": self.memory_bytes,
            "compute": {p: {c: [list(pt) for pt in curve] for c, curve in classes.items()}
                        for p, classes in self.compute.items()},
            "elementwise": [list(pt) for pt in self.elementwise],
            "stream": dict(self.stream), "overhead_s": self.overhead_s,
            "overhead_bwd_s": self.overhead_bwd_s,
            "optimizer_overhead_s": self.optimizer_overhead_s,
            "elementwise_inplace": [list(pt) for pt in self.elementwise_inplace],
            "pointwise": {k: [list(pt) for pt in v] for k, v in self.pointwise.items()},
            "extra": dict(self.extra), "fresh_page_s": self.fresh_page_s,
            "cold_start_s": dict(self.cold_start_s), "dispatch_s": dict(self.dispatch_s),
            "cold_write": [list(pt) for pt in self.cold_write],
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Backend:
        return cls(
            backend=str(d["backend"]), name=str(d["name"]), threads=int(d["threads"]),
            memory_bytes=int(d["memory_bytes"]),
            compute={p: {c: _points(pts) for c, pts in classes.items()}
                     for p, classes in d["compute"].items()},
            elementwise=_curve(d["elementwise"]),
            stream={k: float(v) for k, v in d["stream"].items()},
            overhead_s=float(d["overhead_s"]), overhead_bwd_s=float(d["overhead_bwd_s"]),
            optimizer_overhead_s=float(d.get("optimizer_overhead_s", 0.0)),
            elementwise_inplace=_curve(d["elementwise_inplace"]) if d.get(
                "elementwise_inplace") else (),
            pointwise={k: _curve(v) for k, v in d.get("pointwise", {}).items()},
            extra=dict(d.get("extra", {})),
            fresh_page_s=float(d.get("fresh_page_s", 0.0)),
            cold_start_s={k: float(v) for k, v in d.get("cold_start_s", {}).items()},
            dispatch_s={k: float(v) for k, v in d.get("dispatch_s", {}).items()},
            cold_write=_curve(d["cold_write"], zero=True) if d.get("cold_write") else (),
        )

    def peak_flops(self) -> dict[str, float]:
        """The best rate measured per precision: the device's practical peak."""
        return {p: max(v for pts in classes.values() for _, _, v in pts)
                for p, classes in self.compute.items() if classes}

    def bandwidth(self) -> float:
        streams = [v for k, v in self.stream.items() if k != "cold_read"]
        return max(streams) if streams else max(v for _, v in self.elementwise)


@dataclass(frozen=True)
class Profile:
    created: str  # ISO time
    torch: str
    backends: Mapping[str, Backend]

    def to_dict(self) -> dict[str, Any]:
        return {"schema": SCHEMA, "created": self.created, "torch": self.torch,
                "backends": {k: b.to_dict() for k, b in self.backends.items()}}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Profile:
        if d.get("schema") != SCHEMA:
            raise InvalidArgument(f"profile schema {d.get('schema')!r} is not {SCHEMA}")
        return cls(created=str(d["created"]), torch=str(d["torch"]),
                   backends={k: Backend.from_dict(b) for k, b in d["backends"].items()})

    def default_backend(self) -> str:
        return "cuda" if "cuda" in self.backends else "cpu"

    def device(self, backend: str | None = None) -> Any:
        from .catalogue import Device

        key = backend or self.default_backend()
        b = self.backends[key]
        src = f"measured by `netcost calibrate` on {self.created} (torch {self.torch})"
        return Device(
            key="local" if backend is None else f"local-{key}",
            name=f"this machine's {b.name} (calibrated)",
            kind="local",
            memory_bytes=b.memory_bytes,
            bandwidth=b.bandwidth(),
            peak_flops=b.peak_flops(),
            sources={"*": src},
            origin="calibrated",
            profile=b,
        )


def save_profile(profile: Profile, path: Path | None = None) -> Path:
    """Write atomically: a Ctrl-C before the rename leaves the previous profile intact."""
    path = path or profile_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".profile-", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(profile.to_dict(), fh, indent=1)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def load_profile(path: Path | None = None) -> Profile | None:
    """The saved profile, or None if this machine was never calibrated. A damaged file is
    an error that says to recalibrate."""
    path = path or profile_path()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    try:
        return Profile.from_dict(json.loads(text))
    except (ValueError, KeyError, TypeError) as exc:
        raise InvalidArgument(
            f"calibration profile {str(path)!r} is damaged ({exc}); run `netcost calibrate` again"
        ) from None
