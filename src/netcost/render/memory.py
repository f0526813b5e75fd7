"""The memory section of a report (cost/memory.py's dict) as titled key/value lists."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..report import Report
from ..units import iec
from .sections import Section

OPTIMIZER_NAMES = {"sgd": "SGD", "momentum": "SGD with momentum", "adam": "Adam",
                   "adamw": "AdamW"}
TERM_NAMES = {"weights": "weights", "buffers": "buffers", "gradients": "weight gradients",
              "optimizer_state": "optimizer state", "inputs": "inputs",
              "activations": "activations kept", "transient": "transient"}


def _peak_items(label: str, peak: Mapping[str, Any]) -> list[tuple[str, str]]:
    total = peak["peak_bytes"]
    items = [(label, f"{iec(total)} ({total:,} B), at {peak.get('at', '?')}")]
    for term, value in peak["terms"].items():
        share = f"{value / total:.0%}" if total else "—"
        items.append((f"  {TERM_NAMES.get(term, term)}", f"{iec(value)} ({share})"))
    return items


def sections(report: Report) -> list[Section]:
    mem = report.memory or {}
    title = (f"memory (batch {mem.get('batch', report.batch)}, "
             f"{OPTIMIZER_NAMES.get(mem.get('optimizer'), mem.get('optimizer'))}"
             + (f", mixed precision {mem['amp']}" if mem.get("amp") else
                f", {mem.get('precision', report.precision)}") + ")")
    items = _peak_items("training peak", mem["training"])
    items += _peak_items("inference peak", mem["inference"])
    lecture = mem.get("lecture", {})
    if lecture:
        items.append(("lecture model", f"{iec(lecture['bytes'])} "
                                       f"({lecture['numbers']:,} numbers)"))
    kernels = {"cpu": "PyTorch's CPU kernels (oneDNN)",
               "cuda": "CUDA (cuDNN workspaces not modelled)"}
    backend = mem.get("backend", "cpu")
    notes = (
        "transient: gradients in flight and kernel temporaries alive at the worst moment "
        f"(temporaries of {kernels.get(backend, backend)})",
        f"lecture model: {lecture.get('formula', '')}",
    )
    return [Section(title, tuple(items), notes)]
