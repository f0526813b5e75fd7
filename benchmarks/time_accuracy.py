"""Predicted against measured step time on this CPU.

Runs `netcost calibrate` (unless --no-calibrate), then for each torchvision model prints the
predicted (netcost's time model on the device `local-cpu`) and measured (median of real
steps after warm-up) time of a training step (SGD with momentum, foreach) at batch 8 and of
an inference forward at batch 1, with the relative errors, their median and the worst; and
the fresh pages the inference forward is predicted to fault in (cost.pagefaults) beside the
page faults Linux counts for it, and the same for a training step. Each model is measured in a fresh process, inference
first: what an earlier model or a training step leaves in glibc's allocator changes whether
a forward faults its memory in (densenet121: 7,379 faults and 71 ms per forward in a process
that has only built it, 0 faults after three training steps).

    .venv/bin/python benchmarks/time_accuracy.py [--threads 2] [--models resnet18,vgg11]
        [--rounds 3] [--device cpu|cuda] [--catalogue h100] [--json out.json]
        [--from-json out.json]

On a GPU (`--device cuda`) it calibrates the CUDA backend, predicts on `local-cuda` (and on
the catalogue device `--catalogue` names, from the datasheet alone), measures every model in
this process (no page faults to keep apart) and adds the inference forward replayed as a
CUDA graph: the kernels without the CPU's dispatch, the device's share of the pipeline.
`--json` writes every measurement and prediction; `--from-json` takes the measurements of
such a file instead of measuring, and predicts them again with this code and the saved
profile (a GPU's figures re-scored on a machine without one).

Timings are only as good as the machine is quiet: other processes slow the measured steps
(and the calibration) down. Threads are fixed (default 2) for calibration and measurement,
and OpenMP runs with whatever OMP_WAIT_POLICY the environment sets (PyTorch's default, as
users train, unless set). Calibration and measurement share the policy, and it matters:
on this machine PASSIVE (workers sleep between parallel regions) adds a wake-up to every
op, which took densenet121's batch-1 forward from 82 ms to 150 ms; on a machine shared with
other busy processes, ACTIVE (spinning) workers can instead stall an op for milliseconds.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time

MODELS = ("resnet18", "resnet50", "vgg11", "mobilenet_v2", "densenet121", "googlenet")


def build(name: str):
    import torchvision

    kwargs = {"aux_logits": False, "init_weights": False} if name == "googlenet" else {}
    return getattr(torchvision.models, name)(weights=None, **kwargs)


def faults_per_forward(model, batch: int, runs: int = 5, warmup: int = 3) -> float:
    """Page faults Linux counts (getrusage minor faults) per eval forward, once the
    allocator has settled as it has for the timed forwards (after `warmup` forwards):
    what cost.pagefaults predicts as fresh pages, the steady state of repeated forwards.
    The first few fault more (densenet121 here: about 12,000 in forwards 2-4, 3,400-7,100
    from the fifth on)."""
    import resource

    import torch

    x = torch.randn(batch, 3, 224, 224)
    model.eval()
    with torch.no_grad():
        for _ in range(warmup):
            model(x)
        before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        for _ in range(runs):
            model(x)
        after = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    return (after - before) / runs


def speed_probe() -> tuple[float, float]:
    """(seconds of a fixed small network's batch-1 forward, seconds of a 256 MiB copy),
    medians: eight 3x3 convolution, batch norm and ReLU blocks at 28x28 and a linear layer
    measure the small ops' speed, the copy the memory bandwidth left to this VM. Timed right
    after the calibration and after each model's measurement (not before: its allocations
    would move glibc's thresholds and change the faults the measurement counts), the ratios
    say how much faster or slower the machine ran meanwhile. A shared VM's speed drifts over
    minutes, and a prediction carries the speed of the minute it was calibrated in."""
    import torch

    blocks = []
    for i in range(8):
        blocks += [torch.nn.Conv2d(64 + 8 * i, 64 + 8 * (i + 1), 3, padding=1),
                   torch.nn.BatchNorm2d(64 + 8 * (i + 1)), torch.nn.ReLU(inplace=True)]
    net = torch.nn.Sequential(*blocks, torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(),
                              torch.nn.Linear(128, 1000)).eval()
    x = torch.rand(1, 64, 28, 28)
    src, dst = torch.rand(2**26), torch.empty(2**26)

    from zoo_speed import median_time  # this folder is on the path of a script run here

    def timed(fn, runs: int) -> float:
        fn()  # warm-up: the first call's setup
        return median_time(fn, runs)

    with torch.no_grad():
        return timed(lambda: net(x), 15), timed(lambda: dst.copy_(src), 7)


def faults_per_step(model, batch: int, runs: int = 3) -> float:
    """Page faults per training step (SGD with momentum, as measured), after two steps that
    create the optimizer state: what cost.pagefaults predicts for a step."""
    import resource

    import torch

    opt = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9, foreach=True)
    x, y = torch.randn(batch, 3, 224, 224), torch.randint(0, 1000, (batch,))
    model.train()

    def step() -> None:
        opt.zero_grad(set_to_none=True)
        torch.nn.functional.cross_entropy(model(x), y).backward()
        opt.step()

    step()
    step()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(runs):
        step()
    return (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / runs


def graph_inference_s(model, batch: int, replays: int = 20) -> float | None:
    """Median seconds of the eval forward replayed as a CUDA graph (None where capture
    fails): its kernels back to back, no dispatch."""
    import torch

    x = torch.randn(batch, 3, 224, 224, device="cuda")
    model.eval()
    try:
        with torch.no_grad():
            side = torch.cuda.Stream()
            side.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(side):
                for _ in range(3):
                    model(x)
            torch.cuda.current_stream().wait_stream(side)
            graph = torch.cuda.CUDAGraph()
            with torch.cuda.graph(graph):
                model(x)
    except Exception:  # noqa: BLE001 - a model capture cannot take: no figure, not a failure
        return None
    times = []
    for _ in range(replays):
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        graph.replay()
        torch.cuda.synchronize()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def measure_cuda(name: str, args: argparse.Namespace) -> dict[str, float]:
    """Real times of one model on the GPU: steps and forwards (measure.timing), then the
    forward as a CUDA graph."""
    import torch

    from netcost.measure.timing import time_steps

    torch.manual_seed(0)
    model = build(name).to("cuda")
    meas = time_steps(model, (3, 224, 224), batch=args.train_batch,
                      inference_batch=args.inference_batch, warmup=args.warmup,
                      repeats=args.repeats, groups=False, device="cuda")
    out = {"iteration_s": meas.iteration_s, "inference_s": meas.inference_s,
           "forward_s": meas.forward_s, "backward_s": meas.backward_s,
           "optimizer_s": meas.optimizer_s,
           "inference_graph_s": graph_inference_s(model, args.inference_batch)}
    del model
    torch.cuda.empty_cache()
    return out


def measure(name: str, args: argparse.Namespace) -> dict[str, float]:
    """Real times of one model in this process: faults per forward and inference first,
    while the allocator holds only the model, then training (see measure.timing)."""
    import torch

    from netcost.measure.timing import time_steps

    torch.manual_seed(0)
    torch.set_num_threads(args.threads)
    model = build(name)
    faults = faults_per_forward(model, args.inference_batch)
    meas = time_steps(model, (3, 224, 224), batch=args.train_batch,
                      inference_batch=args.inference_batch, warmup=args.warmup,
                      repeats=args.repeats, groups=False)
    return {"iteration_s": meas.iteration_s, "inference_s": meas.inference_s,
            "faults": faults, "step_faults": faults_per_step(model, args.train_batch),
            **dict(zip(("probe_s", "probe_copy_s"), speed_probe(), strict=True))}


def measure_in_subprocess(name: str, argv: list[str]) -> dict[str, float]:
    """Each model in a fresh process: what one model left in the allocator (raised glibc
    thresholds, a fragmented heap) changes the next one's page faults."""
    out = subprocess.run([sys.executable, __file__, *argv, "--measure-one", name],
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--train-batch", type=int, default=8)
    ap.add_argument("--inference-batch", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--rounds", type=int, default=1,
                    help="measure every model this many times, round-robin, and compare "
                         "the medians: a slow spell of the machine then hits one round of "
                         "each model, not all of one model")
    ap.add_argument("--budget", type=float, default=45.0, help="calibration seconds")
    ap.add_argument("--no-calibrate", action="store_true", help="use the saved profile")
    ap.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    ap.add_argument("--catalogue", help="also predict on this catalogue device (e.g. h100)")
    ap.add_argument("--json", help="write the measurements and predictions to this file")
    ap.add_argument("--from-json", help="re-score the measurements of an earlier --json")
    ap.add_argument("--measure-one", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.measure_one:
        print(json.dumps(measure(args.measure_one, args)))
        return
    if args.from_json:
        with open(args.from_json, encoding="utf-8") as fh:
            earlier = json.load(fh)
        for key in ("device", "train_batch", "inference_batch"):
            setattr(args, key, earlier[key])
        args.no_calibrate = True
    if args.device == "cuda":
        cuda_main(args, earlier["measured"] if args.from_json else None)
        return
    passed = [f"--threads={args.threads}", f"--train-batch={args.train_batch}",
              f"--inference-batch={args.inference_batch}", f"--repeats={args.repeats}",
              f"--warmup={args.warmup}"]

    import torch

    torch.set_num_threads(args.threads)

    import netcost
    from netcost.cost.time import estimate
    from netcost.hardware.calibrate import calibrate

    if not args.no_calibrate:
        start = time.perf_counter()
        calibrate(budget_s=args.budget, backends=("cpu",), threads=args.threads)
        print(f"calibrated in {time.perf_counter() - start:.0f} s "
              f"({args.threads} threads, torch {torch.__version__})")
    calibrated_probe = speed_probe()
    rows = []
    header = (f"{'model':<13} {'train pred':>11} {'train meas':>11} {'error':>7}   "
              f"{'infer pred':>11} {'infer meas':>11} {'error':>7}   "
              f"{'pages pred':>10} {'faults meas':>11}   {'step pages':>10} {'step faults':>11}"
              f"   {'speed':>5} {'bw':>5}")
    print(f"training step at batch {args.train_batch}, inference at batch "
          f"{args.inference_batch}; times in ms; fresh pages (predicted) against the page "
          "faults Linux counts, per inference forward and per training step")
    print(header)
    names = args.models.split(",")
    rounds: dict[str, list[dict[str, float]]] = {name: [] for name in names}
    for r in range(args.rounds):
        for name in names:
            rounds[name].append(measure_in_subprocess(name, passed))
            if args.rounds > 1:
                print(f"  measured {name}, round {r + 1} of {args.rounds}", file=sys.stderr)
    for name in names:
        network = netcost.load(build(name), input_shape=(1, 3, 224, 224))
        step = estimate(network, batch=args.train_batch, device="local-cpu")
        train = step.iteration_s
        inference = estimate(network, batch=args.inference_batch, device="local-cpu")
        infer = inference.inference_s
        meas = {key: statistics.median(m[key] for m in rounds[name]) for key in rounds[name][0]}
        e_train = train / meas["iteration_s"] - 1
        e_infer = infer / meas["inference_s"] - 1
        rows.append((name, e_train, e_infer))
        print(f"{name:<13} {train * 1e3:>11.1f} {meas['iteration_s'] * 1e3:>11.1f} "
              f"{e_train:>+7.1%}   {infer * 1e3:>11.1f} {meas['inference_s'] * 1e3:>11.1f} "
              f"{e_infer:>+7.1%}   {inference.fresh_pages:>10,} {meas['faults']:>11,.0f}   "
              f"{step.step_fresh_pages:>10,} {meas['step_faults']:>11,.0f}   "
              f"{calibrated_probe[0] / meas['probe_s']:>5.2f} "
              f"{calibrated_probe[1] / meas['probe_copy_s']:>5.2f}", flush=True)
    errors = [abs(e) for _, a, b in rows for e in (a, b)]
    over = f"; measured: medians of {args.rounds} rounds" if args.rounds > 1 else ""
    print(f"median |error| {statistics.median(errors):.1%}, worst {max(errors):.1%} "
          f"over {len(errors)} figures (target: median <= 10%, worst <= 25%){over}")
    print("speed, bw: a fixed small network's speed and a 256 MiB copy's bandwidth after each "
          "measurement relative to just after the calibration (speed_probe); far from 1.00, "
          "the VM drifted and the errors carry it")


def cuda_main(args: argparse.Namespace, measured: dict[str, dict] | None) -> None:
    """The GPU's table: predicted on `local-cuda` (and the catalogue device) against
    measured, per model; then the kernels alone (a CUDA graph's replay) against the
    prediction's device side."""
    import torch

    import netcost
    from netcost.cost.time import estimate
    from netcost.hardware.calibrate import calibrate

    names = list(measured) if measured is not None else args.models.split(",")
    if not args.no_calibrate:
        start = time.perf_counter()
        calibrate(budget_s=args.budget, backends=("cuda",))
        print(f"calibrated in {time.perf_counter() - start:.0f} s "
              f"({torch.cuda.get_device_name(0)}, torch {torch.__version__})")
    dump = {"device": "cuda", "train_batch": args.train_batch,
            "inference_batch": args.inference_batch, "measured": measured, "predicted": {}}
    if measured is None:
        measured = dump["measured"] = {}
        for name in names:
            measured[name] = measure_cuda(name, args)
            write_json(args.json, dump)  # kept even if a later model or prediction fails
    devices = ["local-cuda"] + ([args.catalogue] if args.catalogue else [])
    print(f"training step at batch {args.train_batch}, inference at batch "
          f"{args.inference_batch}; times in ms; predicted on {' and '.join(devices)}")
    print(f"{'model':<13} {'device':<11} {'train pred':>10} {'meas':>8} {'error':>7}   "
          f"{'infer pred':>10} {'meas':>8} {'error':>7}   {'kernels pred':>12} "
          f"{'graph':>8} {'error':>7}")
    errors: dict[str, list[float]] = {d: [] for d in devices}
    for name in names:
        network = netcost.load(build(name), input_shape=(1, 3, 224, 224))
        meas = measured[name]
        for dev in devices:
            step = estimate(network, batch=args.train_batch, device=dev)
            infer = estimate(network, batch=args.inference_batch, device=dev)
            kernels = sum(r.inference_s - r.dispatch_inference_s for r in infer.layers)
            e_train = step.iteration_s / meas["iteration_s"] - 1
            e_infer = infer.inference_s / meas["inference_s"] - 1
            errors[dev] += [abs(e_train), abs(e_infer)]
            graph = meas.get("inference_graph_s")
            e_graph = f"{kernels / graph - 1:>+7.1%}" if graph else f"{'-':>7}"
            print(f"{name:<13} {dev:<11} {step.iteration_s * 1e3:>10.2f} "
                  f"{meas['iteration_s'] * 1e3:>8.2f} {e_train:>+7.1%}   "
                  f"{infer.inference_s * 1e3:>10.2f} {meas['inference_s'] * 1e3:>8.2f} "
                  f"{e_infer:>+7.1%}   {kernels * 1e3:>12.2f} "
                  f"{(graph or 0) * 1e3:>8.2f} {e_graph}", flush=True)
            dump["predicted"].setdefault(name, {})[dev] = {
                "iteration_s": step.iteration_s, "forward_s": step.forward_s,
                "backward_s": step.backward_s, "optimizer_s": step.optimizer_s,
                "inference_s": infer.inference_s, "inference_kernels_s": kernels}
    for dev, errs in errors.items():
        print(f"{dev}: median |error| {statistics.median(errs):.1%}, worst {max(errs):.1%} "
              f"over {len(errs)} figures (target: median <= 10%, worst <= 25%)")
    write_json(args.json, dump)


def write_json(path: str | None, data: dict) -> None:
    if path:
        with open(path, "w", encoding="utf-8") as fh:
            json.dump(data, fh, indent=1)


if __name__ == "__main__":
    main()
