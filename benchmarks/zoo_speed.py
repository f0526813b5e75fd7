"""How fast netcost analyses the zoo: per model in-process, the whole zoo, and the command.

    .venv/bin/python benchmarks/zoo_speed.py [--repeat N] [--runs N]

Per model: build the Network from the zoo and analyse it at batch 1 - counts and the memory
section, what `netcost report` does before rendering on a machine not calibrated (the
benchmark points NETCOST_CACHE_DIR at an empty folder) - the median of --repeat runs. Whole
zoo: the sum of those medians; then the whole zoo again with the time section added for a
catalogue device (--device, default a100).
Command: `netcost report resnet152` (the full per-layer table) from process start to exit,
the median of --runs subprocess runs, output discarded. Targets (issue 2): whole zoo well
under 0.5 s, the command under 0.5 s. Timings are wall clock on whatever else the machine
runs at the time; say so when quoting them.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time


def median_time(func, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        func()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def analyse_zoo(repeat: int, device: str | None = None) -> list[tuple[str, int, float]]:
    from netcost import analyze
    from netcost.zoo import entries

    rows = []
    for name in entries():
        layers = len(analyze(name, device=device).layers)  # warm: imports, op registry
        rows.append((name, layers,
                     median_time(lambda n=name: analyze(n, device=device), repeat)))
    return rows


def command_time(args: list[str], runs: int) -> tuple[float, float]:
    """Median and fastest wall time of a fresh process running `netcost ARGS`."""
    cmd = [sys.executable, "-m", "netcost", *args]
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        times.append(time.perf_counter() - t0)
    return statistics.median(times), min(times)


def python_startup(runs: int) -> float:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="in-process runs per model")
    parser.add_argument("--runs", type=int, default=9, help="process runs of the command")
    parser.add_argument("--device", default="a100", help="catalogue device for the time section")
    opts = parser.parse_args()
    os.environ["NETCOST_CACHE_DIR"] = tempfile.mkdtemp(prefix="netcost-bench-")  # no profile

    rows = analyse_zoo(opts.repeat)
    width = max(len(r[0]) for r in rows)
    print(f"netcost zoo speed · Python {platform.python_version()} · {os.cpu_count()} CPUs · "
          f"load average {os.getloadavg()[0]:.2f}")
    print()
    print(f"{'model':<{width}}  {'layers':>6}  {'analyse (ms)':>12}")
    print("─" * (width + 22))
    for name, layers, t in rows:
        print(f"{name:<{width}}  {layers:>6}  {t * 1e3:>12.2f}")
    print("─" * (width + 22))
    total = sum(t for *_, t in rows)
    print(f"{'whole zoo':<{width}}  {sum(r[1] for r in rows):>6}  {total * 1e3:>12.2f}"
          f"   (target well under 500 ms)")
    timed = sum(t for *_, t in analyse_zoo(opts.repeat, opts.device))
    print(f"{'... with time':<{width}}  {'':>6}  {timed * 1e3:>12.2f}"
          f"   (the time section for --device {opts.device} added)")
    print()
    med, best = command_time(["report", "resnet152"], opts.runs)
    startup = python_startup(opts.runs)
    print(f"`netcost report resnet152`, process start to exit: median {med * 1e3:.0f} ms, "
          f"fastest {best * 1e3:.0f} ms over {opts.runs} runs (target under 500 ms)")
    print(f"for scale, `python -c pass`: median {startup * 1e3:.0f} ms")


if __name__ == "__main__":
    main()
