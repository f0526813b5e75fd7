"""How long netcost takes to analyse a PyTorch model, against ptflops, fvcore and thop.

    python benchmarks/torch_speed.py [--repeat N] [--skip-large]

Each tool gets its own freshly built torchvision resnet50 (thop and ptflops attach state to
the modules) and the same input. ptflops, fvcore and thop run the model for real on the
CPU; netcost traces forward *and* backward on meta tensors at batch 1 and scales.
"cold" is the first call in this process (netcost's per-signature shape cache is empty);
"warm" is the median of the repeats after it. Needs the `bench` extra:
pip install 'netcost[bench]'.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import statistics
import time
import warnings
from collections.abc import Callable
from typing import Any

import torch
import torchvision


def netcost_macs(model: Any, shape: tuple[int, ...]) -> int:
    import netcost

    return netcost.analyze(model, input_shape=shape, convention="macs").totals["macs"]


def ptflops_macs(model: Any, shape: tuple[int, ...]) -> int:
    from ptflops import get_model_complexity_info

    batch, *sample = shape
    with contextlib.redirect_stdout(io.StringIO()):  # it prints a batch-size notice
        macs, _ = get_model_complexity_info(
            model, tuple(sample), as_strings=False, print_per_layer_stat=False, verbose=False,
            input_constructor=lambda _: {"x": torch.randn(shape)})
    return int(macs)


def fvcore_macs(model: Any, shape: tuple[int, ...]) -> int:
    from fvcore.nn import FlopCountAnalysis

    analysis = FlopCountAnalysis(model, torch.randn(shape))
    analysis.unsupported_ops_warnings(False).uncalled_modules_warnings(False)
    return int(analysis.total())


def thop_macs(model: Any, shape: tuple[int, ...]) -> int:
    from thop import profile

    macs, _ = profile(model, inputs=(torch.randn(shape),), verbose=False)
    return int(macs)


TOOLS: dict[str, Callable[[Any, tuple[int, ...]], int]] = {
    "netcost": netcost_macs, "ptflops": ptflops_macs, "fvcore": fvcore_macs, "thop": thop_macs,
}


def time_tool(fn: Callable[[Any, tuple[int, ...]], int], shape: tuple[int, ...],
              repeat: int) -> tuple[float, float, int]:
    times = []
    macs = 0
    for _ in range(1 + repeat):
        model = torchvision.models.resnet50().eval()
        start = time.perf_counter()
        with torch.no_grad() if fn is not netcost_macs else torch.enable_grad():
            macs = fn(model, shape)
        times.append(time.perf_counter() - start)
    warm = statistics.median(times[1:]) if repeat else times[0]
    return times[0], warm, macs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="warm repeats at batch 1")
    parser.add_argument("--skip-large", action="store_true", help="batch 1 only")
    opts = parser.parse_args()
    warnings.filterwarnings("ignore")
    cases = [((1, 3, 224, 224), opts.repeat)]
    if not opts.skip_large:
        cases.append(((64, 3, 512, 512), 0))
    print(f"resnet50 on this machine's CPU ({torch.get_num_threads()} threads), "
          f"torch {torch.__version__}")
    for shape, repeat in cases:
        results = {name: time_tool(fn, shape, repeat) for name, fn in TOOLS.items()}
        print(f"\ninput {'x'.join(map(str, shape))}" + (f", warm = median of {repeat}" if repeat else ""))
        print(f"{'tool':10s} {'cold s':>9s} {'warm s':>9s} {'GMACs':>10s} {'tool/netcost (warm)':>20s}")
        base = results["netcost"][1]
        for name, (cold, warm, macs) in results.items():
            print(f"{name:10s} {cold:9.3f} {warm:9.3f} {macs / 1e9 / shape[0]:10.3f} "
                  f"{warm / base:20.1f}")


if __name__ == "__main__":
    main()
