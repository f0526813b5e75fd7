"""The Report: everything netcost computed about one network, with exact integers.

`Report.to_dict()` is the JSON contract (schema netcost.report/1) that scripts rely on;
renderers read only the Report. Memory and time sections are attached by their cost models.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

from .ir import Shape

SCHEMA = "netcost.report/1"


@dataclass(frozen=True)
class LayerRow:
    name: str
    kind: str
    input_shapes: tuple[Shape, ...]  # batch first
    output_shape: Shape
    params: int
    param_bytes: int
    macs: int
    ops: int  # under the report's convention
    flops: int
    activations: int  # numbers in the output, whole batch
    activation_bytes: int
    backward_macs: int
    backward_ops: int
    lecture_space: int  # the lecture's operational space for the batch, in numbers

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"name": self.name, "kind": self.kind,
                             "input_shape": list(self.input_shapes[0]) if self.input_shapes else [],
                             "input_shapes": [list(s) for s in self.input_shapes],
                             "output_shape": list(self.output_shape)}
        for f in fields(self):
            if f.name not in d and f.name != "input_shapes":
                d[f.name] = getattr(self, f.name)
        return d


@dataclass
class Report:
    model: str
    inputs: dict[str, Shape]  # batch first
    batch: int
    precision: str
    convention: str
    totals: dict[str, int]
    layers: tuple[LayerRow, ...]
    coverage: dict[str, Any]
    source: str = "zoo"
    description: str = ""
    memory: dict[str, Any] | None = None  # filled by cost.memory
    time: dict[str, Any] | None = None  # filled by cost.time
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def input(self) -> Shape:
        return next(iter(self.inputs.values()))

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "schema": SCHEMA,
            "model": self.model,
            "input": list(self.input),
            "inputs": {k: list(v) for k, v in self.inputs.items()},
            "batch": self.batch,
            "precision": self.precision,
            "convention": self.convention,
            "totals": dict(self.totals),
            "layers": [row.to_dict() for row in self.layers],
            "coverage": self.coverage,
        }
        if self.memory is not None:
            d["memory"] = self.memory
        if self.time is not None:
            d["time"] = self.time
        d.update(self.extra)
        return d
