"""Fully connected layer: the lecture's first example."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import ShapeError
from ..ir import LayerCost, Shape, numel
from ._attrs import positive
from .registry import Derivation, OpSpec, Saved, register


@register("linear")
class Linear(OpSpec):
    summary = "fully connected layer: y = W·x + b, n inputs to k outputs"

    def normalize(self, attrs: dict[str, Any], inputs: tuple[Shape, ...]) -> dict[str, Any]:
        super().normalize(attrs, inputs)
        attrs["out_features"] = positive("out_features", attrs.get("out_features"))
        attrs["bias"] = bool(attrs.get("bias", True))
        n = inputs[0][-1]
        if "in_features" in attrs and int(attrs["in_features"]) != n:
            raise ShapeError(f"expects {attrs['in_features']} input features, got shape {inputs[0]}")
        attrs["in_features"] = n
        return attrs

    def output_shape(self, attrs: Mapping[str, Any], inputs: tuple[Shape, ...]) -> Shape:
        return (*inputs[0][:-1], attrs["out_features"])

    def cost(self, attrs: Mapping[str, Any], inputs: tuple[Shape, ...], output: Shape) -> LayerCost:
        n, k, bias = attrs["in_features"], attrs["out_features"], attrs["bias"]
        rows = numel(inputs[0][:-1])  # tokens in a sequence; 1 for a plain vector
        outs = rows * k
        macs = rows * n * k
        return LayerCost(
            params=(n + bias) * k,
            macs=macs,
            dot_outputs=outs,
            bias_ops=outs if bias else 0,
            backward_input_macs=macs,
            backward_weight_macs=macs,
            backward_elementwise_ops=outs if bias else 0,  # bias gradient: sum over rows
            saved_numel=self.saves(attrs, inputs, output).numel(inputs, output),
        )

    def saves(self, attrs: Mapping[str, Any], inputs: tuple[Shape, ...], output: Shape) -> Saved:
        return Saved(inputs=(0,))  # the input, for the weight gradient

    def explain(self, attrs: Mapping[str, Any], inputs: tuple[Shape, ...],
                output: Shape) -> list[Derivation]:
        n, k, bias = attrs["in_features"], attrs["out_features"], attrs["bias"]
        rows = numel(inputs[0][:-1])
        r, rs = ("r·", f"{rows}·") if rows > 1 else ("", "")
        params = [Derivation("params", "(n+1)·k", f"({n}+1)·{k}", (n + 1) * k) if bias
                  else Derivation("params", "n·k", f"{n}·{k}", n * k)]
        lecture = (Derivation("ops (lecture)", f"2·{r}n·k", f"2·{rs}{n}·{k}", 2 * rows * n * k)
                   if bias else
                   Derivation("ops (lecture)", f"(2·n−1)·{r}k", f"(2·{n}−1)·{rs}{k}", (2 * n - 1) * rows * k))
        return [
            *params,
            Derivation("MACs", f"{r}n·k", f"{rs}{n}·{k}", rows * n * k),
            lecture,
            Derivation("backward MACs", f"2·{r}n·k (input and weight gradients)",
                       f"2·{rs}{n}·{k}", 2 * rows * n * k),
            Derivation("lecture space (1 sample)", "2·(n+1)·k + 2·n + 2·k",
                       f"2·({n}+1)·{k} + 2·{n} + 2·{k}", 2 * (n + 1) * k + 2 * n + 2 * k)
            if bias and rows == 1 else
            Derivation("lecture space (1 sample)", "2·params + 2·inputs + 2·outputs",
                       f"2·{(n + bias) * k:,} + 2·{rows * n:,} + 2·{rows * k:,}",
                       2 * ((n + bias) * k + rows * n + rows * k)),
        ]
