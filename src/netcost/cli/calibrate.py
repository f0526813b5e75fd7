"""`netcost calibrate`: measure this machine; the profile becomes the device `local`."""

from __future__ import annotations

import click


@click.command()
@click.option("--budget", type=float, default=45.0, show_default=True, metavar="SECONDS",
              help="About how long to measure (the whole run stays under a minute).")
@click.option("--threads", type=int, default=None,
              help="CPU threads for PyTorch (default: PyTorch's own choice).")
@click.option("--cpu-only", is_flag=True, help="Skip CUDA even where it is present.")
def calibrate(budget: float, threads: int | None, cpu_only: bool) -> None:
    """Measure GEMM and convolution throughput by shape, memory bandwidth and per-op
    overhead with PyTorch (extra: torch), and save them as the device `local`.

    Calibrate on a quiet machine, with the threads your training will use. On a machine
    shared with other processes, OpenMP's spinning worker threads can stall each parallel
    op for milliseconds: run both calibrate and training with OMP_WAIT_POLICY=PASSIVE."""
    from ..errors import InvalidArgument, MissingDependency

    if budget <= 0:
        raise InvalidArgument(f"--budget must be a positive number of seconds, got {budget}")
    if threads is not None and threads <= 0:
        raise InvalidArgument(f"--threads must be a positive integer, got {threads}")
    try:
        import torch  # noqa: F401
    except ModuleNotFoundError:
        raise MissingDependency(
            "calibrate measures with PyTorch; install it with `pip install netcost[torch]`"
        ) from None
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from ..hardware.calibrate import calibrate as run
    from ..hardware.profile import profile_path
    from ..units import iec

    with Progress(TextColumn("{task.description:<40}"), BarColumn(),
                  TextColumn("{task.completed}/{task.total}"), TimeElapsedColumn(),
                  transient=True) as bar:
        task = bar.add_task("starting", total=None)

        def progress(label: str, done: int, total: int) -> None:
            bar.update(task, description=label, completed=done, total=total)

        profile = run(budget_s=budget, threads=threads, progress=progress,
                      backends=("cpu",) if cpu_only else None)
    for key, b in profile.backends.items():
        peaks = ", ".join(f"{p} {v / 1e9:,.0f} GFLOP/s" for p, v in b.peak_flops().items())
        click.echo(f"local-{key}: {b.name}; best {peaks}; STREAM triad "
                   f"{b.stream.get('triad', 0) / 1e9:,.1f} GB/s; dispatch "
                   f"{b.overhead_s * 1e6:.1f} us per op; memory {iec(b.memory_bytes)}")
        if b.dispatch_s:  # CUDA: what the host spends per op inside a network
            d = b.dispatch_s
            click.echo(f"  host dispatch in a network: convolution {d.get('conv', 0) * 1e6:.0f} "
                       f"us (training forward {d.get('train:conv', 0) * 1e6:.0f} us), batch "
                       f"norm {d.get('batch_norm', 0) * 1e6:.0f} us, backward "
                       f"{d.get('backward', 0) * 1e6:.0f} us per op")
        skipped = b.extra.get("skipped", [])
        if skipped:
            click.echo(f"  the budget ran out: {len(skipped)} measurements skipped "
                       "(a busy machine?); their classes fall back to GEMM / bandwidth")
    click.echo(f"saved {profile_path()} (device `local` = local-{profile.default_backend()})")
