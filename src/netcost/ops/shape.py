"""Layers that only change the view of a tensor: flatten. No arithmetic, nothing saved."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import InvalidArgument
from ..ir import LayerCost, Shape, format_shape, numel
from ._attrs import dim_index
from .registry import Derivation, OpSpec, register


@register("flatten")
class Flatten(OpSpec):
    summary = "flatten per-sample dims start_dim..end_dim into one: CxHxW → C·H·W"

    def normalize(self, attrs: dict[str, Any], inputs: tuple[Shape, ...]) -> dict[str, Any]:
        super().normalize(attrs, inputs)
        ndim = len(inputs[0])
        attrs["start_dim"] = start = dim_index("start_dim", attrs.get("start_dim", 0), ndim)
        attrs["end_dim"] = end = dim_index("end_dim", attrs.get("end_dim", -1), ndim)
        if start > end:
            raise InvalidArgument(f"flatten start_dim {start} comes after end_dim {end}")
        return attrs

    def output_shape(self, attrs: Mapping[str, Any], inputs: tuple[Shape, ...]) -> Shape:
        s, e, shape = attrs["start_dim"], attrs["end_dim"], inputs[0]
        return (*shape[:s], numel(shape[s:e + 1]), *shape[e + 1:])

    def cost(self, attrs: Mapping[str, Any], inputs: tuple[Shape, ...], output: Shape) -> LayerCost:
        return LayerCost()  # a view of the same memory

    def explain(self, attrs: Mapping[str, Any], inputs: tuple[Shape, ...],
                output: Shape) -> list[Derivation]:
        s, e, shape = attrs["start_dim"], attrs["end_dim"], inputs[0]
        return [Derivation("output", f"{format_shape(shape)} → dims {s}..{e} multiplied",
                           "·".join(map(str, shape[s:e + 1])), numel(shape[s:e + 1])),
                Derivation("elementwise ops", "0 (a view)", "0", 0)]
