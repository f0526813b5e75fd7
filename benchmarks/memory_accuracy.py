"""Predicted against measured peak memory: training (one steady-state SGD-with-momentum or
Adam iteration) and inference, for six torchvision models at batch 4 and 16.

    python benchmarks/memory_accuracy.py [--models resnet18,vgg11] [--batches 4,16]
                                         [--optimizers momentum,adam] [--device cpu|cuda]

Measured as issue 4 defines it (netcost.measure.memory); predicted by netcost.cost.memory
from the torch importer's trace of the same module (the backend's kernel temporaries
modelled for the device). Prints a markdown table, then the median and worst |error|.
Target: median <= 5 %, worst <= 10 %.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

MODELS = ("resnet18", "resnet50", "vgg11", "mobilenet_v2", "densenet121", "googlenet")


def build(name: str):  # -> torch.nn.Module
    import torchvision

    kwargs = {"aux_logits": False, "init_weights": False} if name == "googlenet" else {}
    return getattr(torchvision.models, name)(**kwargs)


def mib(n: int) -> str:
    return f"{n / 2**20:,.1f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--batches", default="4,16")
    parser.add_argument("--optimizers", default="momentum,adam")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args(argv)

    import torch

    from netcost.cost.memory import estimate
    from netcost.importers.torch import load
    from netcost.measure.memory import measure_memory

    torch.manual_seed(0)
    backend = "cuda" if args.device.startswith("cuda") else "cpu"
    rows, train_err, infer_err = [], [], []
    print("| model | batch | optimizer | training predicted MiB | measured MiB | error "
          "| inference predicted MiB | measured MiB | error |")
    print("|---|---:|---|---:|---:|---:|---:|---:|---:|")
    started = time.perf_counter()
    for name in args.models.split(","):
        module = build(name)
        network = load(module, input_shape=(1, 3, 224, 224))
        for batch in (int(b) for b in args.batches.split(",")):
            x = torch.randn(batch, 3, 224, 224)
            for opt in args.optimizers.split(","):
                pred = estimate(network, batch=batch, optimizer=opt, backend=backend)
                meas = measure_memory(module, x, optimizer=opt, device=args.device)
                te = pred.training.peak_bytes / meas.training_peak - 1
                ie = pred.inference.peak_bytes / meas.inference_peak - 1
                train_err.append(abs(te))
                infer_err.append(abs(ie))
                rows.append((name, batch, opt, te, ie))
                print(f"| {name} | {batch} | {opt} | {mib(pred.training.peak_bytes)} "
                      f"| {mib(meas.training_peak)} | {te:+.3%} "
                      f"| {mib(pred.inference.peak_bytes)} | {mib(meas.inference_peak)} "
                      f"| {ie:+.3%} |", flush=True)
        module.to("cpu")
    print()
    print(f"training peak:  median |error| {statistics.median(train_err):.2%}, "
          f"worst {max(train_err):.2%} over {len(train_err)} runs")
    print(f"inference peak: median |error| {statistics.median(infer_err):.2%}, "
          f"worst {max(infer_err):.2%} over {len(infer_err)} runs")
    print(f"device: {args.device}, torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads, {time.perf_counter() - started:.0f} s")
    ok = statistics.median(train_err) <= 0.05 and max(train_err) <= 0.10
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
