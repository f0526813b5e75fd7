"""Predicted against measured time of each convolution and linear layer at inference.

Times each leaf module of a torchvision model inside the whole forward (forward pre/post
hooks, median over the runs after warm-up) and prints it beside netcost's per-layer
`inference_s` on the device `local-cpu` (run `netcost calibrate` first). A layer timed
inside the model pays what a loop over one op does not: caches other layers evicted, and
output memory the allocator has to fault in afresh.

    .venv/bin/python benchmarks/layer_accuracy.py [--models vgg11,resnet18] [--all]
"""

from __future__ import annotations

import argparse
import statistics
import time

MODELS = ("vgg11", "resnet18", "densenet121")


def measure(model, x, runs: int, warmup: int) -> dict[str, float]:
    """Median seconds of each leaf module's forward inside the model's forward."""
    import torch

    starts: dict[str, float] = {}
    times: dict[str, list[float]] = {}
    for name, mod in model.named_modules():
        if list(mod.children()):
            continue
        mod.register_forward_pre_hook(
            lambda m, i, n=name: starts.__setitem__(n, time.perf_counter()))
        mod.register_forward_hook(
            lambda m, i, o, n=name: times.setdefault(n, []).append(
                time.perf_counter() - starts[n]))
    with torch.no_grad():
        for _ in range(warmup):
            model(x)
        times.clear()
        for _ in range(runs):
            model(x)
    return {name: statistics.median(ts) for name, ts in times.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--all", action="store_true", help="every leaf, not only conv/linear")
    args = ap.parse_args()

    import torch
    import torchvision

    import netcost
    from netcost.cost.time import estimate

    torch.set_num_threads(args.threads)
    for name in args.models.split(","):
        model = getattr(torchvision.models, name)(weights=None).eval()
        shape = (1, 3, 224, 224)
        measured = measure(model, torch.rand(shape), args.runs, args.warmup)
        est = estimate(netcost.load(model, input_shape=shape), batch=1, device="local-cpu")
        # netcost names a layer "<module path>/<op>"
        predicted = {lt.name.split("/")[0]: lt for lt in est.layers}
        print(f"{name}: inference predicted {est.inference_s * 1e3:.1f} ms; per layer, ms:")
        print(f"  {'layer':<42} {'kind':<10} {'pred':>8} {'meas':>8} {'ratio':>6}")
        for layer, t in measured.items():
            lt = predicted.get(layer)
            if lt is None or not (args.all or lt.kind in ("conv2d", "linear")):
                continue
            print(f"  {layer:<42} {lt.kind:<10} {lt.inference_s * 1e3:8.3f} {t * 1e3:8.3f} "
                  f"{lt.inference_s / t:6.2f}")


if __name__ == "__main__":
    main()
