"""Elementwise activations, softmax and dropout: output shape = input shape, no parameters.

Following the lecture ("whether it is a multiply or add ... it is just an arithmetic
operation"), an activation costs one op per element, exp/tanh included; its backward is one
multiply per element by the local derivative. Softmax and dropout state their own counts.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import InvalidArgument
from ..ir import LayerCost, Shape, numel
from ._attrs import dim_index, real
from .registry import Derivation, OpSpec, Saved, register

# kind -> (summary, what autograd saves for the backward: "input" or "output")
ACTIVATIONS: dict[str, tuple[str, str]] = {
    "relu": ("ReLU: max(0, x)", "output"),
    "relu6": ("ReLU6: min(max(0, x), 6)", "input"),
    "leaky_relu": ("leaky ReLU: x if x > 0 else negative_slope·x", "input"),
    "elu": ("ELU: x if x > 0 else alpha·(exp(x) − 1)", "output"),
    "sigmoid": ("logistic sigmoid: 1/(1 + exp(−x))", "output"),
    "tanh": ("hyperbolic tangent", "output"),
    "gelu": ("GELU: x·Φ(x)", "input"),
    "silu": ("SiLU (swish): x·sigmoid(x)", "input"),
    "hardswish": ("hard swish: x·relu6(x + 3)/6", "input"),
    "hardsigmoid": ("hard sigmoid: relu6(x + 3)/6", "input"),
}


def _elementwise_lines(shape: Shape, ops_per: int, what: str) -> list[Derivation]:
    n = numel(shape)
    dims = "·".join(map(str, shape))
    return [Derivation("params", "0 (no weights)", "0", 0),
            Derivation("elementwise ops", f"{ops_per}·numel" if ops_per > 1 else "numel",
                       f"{ops_per}·{dims}" if ops_per > 1 else dims, ops_per * n),
            Derivation("backward elementwise", "numel (gradient × local derivative)", dims, n),
            Derivation("saved for backward", f"numel (the {what})", dims, n)]


class Activation(OpSpec):
    saves_what: str = "input"

    def normalize(self, attrs: dict[str, Any], inputs: tuple[Shape, ...]) -> dict[str, Any]:
        super().normalize(attrs, inputs)
        if self.kind == "leaky_relu":
            attrs["negative_slope"] = real("negative_slope", attrs.get("negative_slope", 0.01))
        elif self.kind == "elu":
            attrs["alpha"] = real("alpha", attrs.get("alpha", 1.0))
        elif self.kind == "gelu":
            approx = str(attrs.get("approximate", "none"))
            if approx not in ("none", "tanh"):
                raise InvalidArgument(f"gelu approximate must be 'none' or 'tanh', got {approx!r}")
            attrs["approximate"] = approx
        return attrs

    def cost(self, attrs: Mapping[str, Any], inputs: tuple[Shape, ...], output: Shape) -> LayerCost:
        n = numel(output)
        return LayerCost(elementwise_ops=n, backward_elementwise_ops=n,
                         saved_numel=self.saves(attrs, inputs, output).numel(inputs, output))

    def saves(self, attrs: Mapping[str, Any], inputs: tuple[Shape, ...], output: Shape) -> Saved:
        return Saved(output=True) if self.saves_what == "output" else Saved(inputs=(0,))

    def explain(self, attrs: Mapping[str, Any], inputs: tuple[Shape, ...],
                output: Shape) -> list[Derivation]:
        return _elementwise_lines(output, 1, self.saves_what)


for _kind, (_summary, _saves) in ACTIVATIONS.items():
    register(_kind)(type(f"Activation_{_kind}", (Activation,),
                         {"summary": _summary, "saves_what": _saves}))


@register("softmax")
class Softmax(OpSpec):
    summary = "softmax along one dimension: exp, sum, divide (3 ops per element)"

    def normalize(self, attrs: dict[str, Any], inputs: tuple[Shape, ...]) -> dict[str, Any]:
        super().normalize(attrs, inputs)
        attrs["dim"] = dim_index("dim", attrs.get("dim", -1), len(inputs[0]))
        return attrs

    def cost(self, attrs: Mapping[str, Any], inputs: tuple[Shape, ...], output: Shape) -> LayerCost:
        n = numel(output)
        # backward: dx = y·(g − Σ g·y): a multiply, an add into the sum, a subtract, a multiply
        return LayerCost(elementwise_ops=3 * n, backward_elementwise_ops=4 * n,
                         saved_numel=self.saves(attrs, inputs, output).numel(inputs, output))

    def saves(self, attrs: Mapping[str, Any], inputs: tuple[Shape, ...], output: Shape) -> Saved:
        return Saved(output=True)

    def explain(self, attrs: Mapping[str, Any], inputs: tuple[Shape, ...],
                output: Shape) -> list[Derivation]:
        n, dims = numel(output), "·".join(map(str, output))
        return [Derivation("params", "0 (no weights)", "0", 0),
                Derivation("elementwise ops", "3·numel (exp, add to the sum, divide)", f"3·{dims}", 3 * n),
                Derivation("backward elementwise", "4·numel (dx = y·(g − Σ g·y))", f"4·{dims}", 4 * n),
                Derivation("saved for backward", "numel (the output y)", dims, n)]


@register("dropout")
class Dropout(OpSpec):
    summary = "dropout: identity at inference (0 ops); training keeps a mask for backward"

    def normalize(self, attrs: dict[str, Any], inputs: tuple[Shape, ...]) -> dict[str, Any]:
        super().normalize(attrs, inputs)
        attrs["p"] = real("dropout p", attrs.get("p", 0.5), low=0.0, high=1.0, high_open=True)
        return attrs

    def cost(self, attrs: Mapping[str, Any], inputs: tuple[Shape, ...], output: Shape) -> LayerCost:
        n = numel(output)
        # forward counted as inference (identity); training multiplies by the saved mask
        return LayerCost(backward_elementwise_ops=n,
                         saved_numel=self.saves(attrs, inputs, output).numel(inputs, output))

    def saves(self, attrs: Mapping[str, Any], inputs: tuple[Shape, ...], output: Shape) -> Saved:
        return Saved(new=(("bool", numel(output)),))  # the training mask

    def explain(self, attrs: Mapping[str, Any], inputs: tuple[Shape, ...],
                output: Shape) -> list[Derivation]:
        n, dims = numel(output), "·".join(map(str, output))
        return [Derivation("params", "0 (no weights)", "0", 0),
                Derivation("elementwise ops", "0 (identity at inference)", f"p = {attrs['p']:g}", 0),
                Derivation("backward elementwise", "numel (gradient × mask)", dims, n),
                Derivation("saved for backward", "numel (the training mask)", dims, n)]

