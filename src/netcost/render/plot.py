"""`--plot FILE.png`: the roofline with each layer placed on it, and per-layer times
(extra: plot; matplotlib is imported only here, only when a plot is asked for)."""

from __future__ import annotations

from typing import Any

from ..errors import InvalidArgument, MissingDependency

TOP_LAYERS = 40  # beyond this many layers the bar chart shows top-level blocks


def _pyplot() -> Any:
    try:
        import matplotlib
    except ModuleNotFoundError:
        raise MissingDependency(
            "plotting needs matplotlib; install it with `pip install netcost[plot]`"
        ) from None
    matplotlib.use("Agg")  # files only: no display needed
    import matplotlib.pyplot as plt

    return plt


def roofline_points(time: dict[str, Any]) -> list[tuple[str, float, float, str]]:
    """(layer, FLOPs per byte, achieved FLOP/s forward, bound) of layers that do arithmetic."""
    pts = []
    for row in time["layers"]:
        if row["flops"] and row["bytes"] and row["forward_s"] > 0:
            pts.append((row["name"], row["flops"] / row["bytes"], row["flops"] / row["forward_s"],
                        row["bound"]))
    return pts


def bar_rows(layers: list[dict[str, Any]]) -> tuple[list[str], list[float], list[float]]:
    """Per-layer (ms) forward and backward bars; a network with more than TOP_LAYERS layers
    is shown per top-level block (the first part of each layer name), in network order."""
    groups: dict[str, list[float]] = {}
    for row in layers:
        key = row["name"] if len(layers) <= TOP_LAYERS else row["name"].split(".")[0].split("/")[0]
        acc = groups.setdefault(key, [0.0, 0.0])
        acc[0] += row["forward_s"] * 1e3
        acc[1] += row["backward_s"] * 1e3
    return list(groups), [v[0] for v in groups.values()], [v[1] for v in groups.values()]


def plot_time(report: Any, path: str) -> str:
    """Write the roofline and the per-layer time chart of a report's time section."""
    time = getattr(report, "time", None)
    if not time:
        raise InvalidArgument("--plot needs a time section: pass --device (see `netcost devices`) "
                              "or run `netcost calibrate` first")
    if not str(path).lower().endswith((".png", ".pdf", ".svg")):
        raise InvalidArgument(f"--plot writes .png, .pdf or .svg files, got {path!r}")
    plt = _pyplot()
    fig, (roof, bars) = plt.subplots(1, 2, figsize=(15, 6.5),
                                     gridspec_kw={"width_ratios": [1.1, 1]})
    peak, bw = time["peak_flops"], time["bandwidth"]
    pts = roofline_points(time)
    xs = [p[1] for p in pts] or [1.0]
    lo, hi = min(min(xs), peak / bw) / 4, max(max(xs), peak / bw) * 4
    grid = [lo * (hi / lo) ** (i / 200) for i in range(201)]
    roof.loglog(grid, [min(peak, bw * x) for x in grid], color="black", lw=1.5,
                label=f"roof: {peak / 1e12:.3g} TFLOP/s, {bw / 1e9:.3g} GB/s")
    for bound, color in (("compute", "tab:blue"), ("memory", "tab:orange")):
        sel = [p for p in pts if p[3] == bound]
        if sel:
            roof.scatter([p[1] for p in sel], [p[2] for p in sel], s=14, color=color,
                         alpha=0.75, label=f"{bound}-bound layers ({len(sel)})")
    roof.set_xlabel("arithmetic intensity (FLOPs per byte moved)")
    roof.set_ylabel("achieved FLOP/s (forward, predicted)")
    roof.set_title(f"{report.model} on {time['device']} — batch {time['batch']}, "
                   f"{time['precision']}")
    roof.grid(True, which="both", alpha=0.3)
    roof.legend(loc="lower right", fontsize=8)

    labels, fwd, bwd = bar_rows(time["layers"])
    ys = list(range(len(labels)))[::-1]
    bars.barh(ys, fwd, color="tab:green", label="forward")
    bars.barh(ys, bwd, left=fwd, color="tab:red", label="backward")
    bars.set_yticks(ys)
    bars.set_yticklabels(labels, fontsize=7)
    bars.set_xlabel("time per iteration (ms, predicted)")
    bars.set_title(f"iteration {time['iteration_s'] * 1e3:.4g} ms: forward "
                   f"{time['forward_s'] * 1e3:.4g}, backward {time['backward_s'] * 1e3:.4g}, "
                   f"optimizer {time['optimizer_s'] * 1e3:.4g} ms")
    bars.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
