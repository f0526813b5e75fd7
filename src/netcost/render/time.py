"""The time section of a report (cost/time.py's dict): the phases of one iteration, the
inference forward, and where the time goes (compute- against memory-bound layers)."""

from __future__ import annotations

from typing import Any

from ..report import Report
from ..units import seconds
from .sections import Section

SLOWEST_SHOWN = 5


def _share(part: float, whole: float) -> str:
    return f"{part / whole:.0%}" if whole else "—"


def _step(layer: dict[str, Any]) -> float:
    """A layer's share of a training iteration: its forward and backward."""
    return layer.get("forward_s", 0.0) + layer.get("backward_s", 0.0)


def _bound_items(layers: list[dict[str, Any]]) -> list[tuple[str, str]]:
    total = sum(map(_step, layers))
    items = []
    for bound in ("compute", "memory"):
        mine = [layer for layer in layers if layer.get("bound") == bound]
        t = sum(map(_step, mine))
        items.append((f"{bound}-bound layers", f"{len(mine)}, {_share(t, total)} of layer time"))
    return items


def _slowest(layers: list[dict[str, Any]]) -> list[tuple[str, str]]:
    top = sorted(layers, key=_step, reverse=True)[:SLOWEST_SHOWN]
    return [(f"  {layer['name']}", f"{seconds(_step(layer))} ({layer.get('kind', '?')}, "
                                    f"{layer.get('bound', '?')}-bound)") for layer in top]


def _overlap_item(layers: list[dict[str, Any]]) -> tuple[str, str]:
    """A GPU iteration's two sides (forward and backward): the host's dispatch and the
    device's kernels, and which one the iteration waits on."""
    dispatch = sum(layer.get("dispatch_s", 0.0) + layer.get("dispatch_bwd_s", 0.0)
                   for layer in layers)
    kernels = sum(map(_step, layers)) - dispatch
    bound = "launch-bound: the GPU waits on the host" if dispatch > kernels \
        else "kernel-bound: the host runs ahead"
    return ("  host dispatch / GPU kernels", f"{seconds(dispatch)} / {seconds(kernels)} "
                                              f"({bound})")


def _pages_item(pages: int, secs: float, whole: float) -> tuple[str, str]:
    return ("  fresh pages (page faults)", f"{pages:,} pages, {seconds(secs)} "
                                           f"({_share(secs, whole)})")


def sections(report: Report) -> list[Section]:
    t = report.time or {}
    device = t.get("device_name") or t.get("device", "?")
    title = f"time (batch {t.get('batch', report.batch)}, {device})"
    iteration = t.get("iteration_s", 0.0)
    items = [("training iteration", seconds(iteration))]
    for phase, label in (("forward_s", "forward"), ("backward_s", "backward"),
                         ("optimizer_s", "optimizer step")):
        if phase in t:
            items.append((f"  {label}", f"{seconds(t[phase])} ({_share(t[phase], iteration)})"))
    if t.get("step_fresh_pages"):
        items.append(_pages_item(t["step_fresh_pages"], t.get("step_fresh_pages_s", 0.0),
                                 iteration))
    if t.get("cold_write_s"):
        items.append(("  cold writes (held outputs)", f"{seconds(t['cold_write_s'])} "
                      f"({_share(t['cold_write_s'], iteration)})"))
    if t.get("pipelined") and t.get("layers"):
        items.append(_overlap_item(t["layers"]))
    if "inference_s" in t:
        items.append(("inference forward", seconds(t["inference_s"])))
    if t.get("fresh_pages"):
        items.append(_pages_item(t["fresh_pages"], t.get("fresh_pages_s", 0.0),
                                 t.get("inference_s", 0.0)))
    if t.get("cold_start_s"):
        items.append(("  cold starts (op state refetched)", f"{seconds(t['cold_start_s'])} "
                      f"({_share(t['cold_start_s'], t.get('inference_s', 0.0))})"))
    layers = list(t.get("layers", []))
    if layers:
        items += _bound_items(layers)
        items.append(("slowest layers (forward + backward)", ""))
        items += _slowest(layers)
    extra = " + cold reads" if t.get("method") == "calibrated" and not t.get("pipelined") \
        else ""
    if t.get("fresh_pages") or t.get("step_fresh_pages"):  # a calibrated CPU only
        extra += " + fresh pages"
    if t.get("cold_start_s"):  # charged on a calibrated CPU only
        extra += " + cold start (forward)"
    if t.get("cold_write_s"):  # likewise
        extra += " + cold writes (training forward)"
    notes = (f"each layer: max(compute time, memory time) + dispatch overhead{extra}; "
             f"method: {t.get('method', '?')}",)
    if t.get("pipelined"):
        notes += ("on a GPU the host's dispatch and the device's kernels overlap: each phase "
                  "takes whichever finishes last, less than the sum of its layers' times",)
    return [Section(title, tuple(items), notes)]
