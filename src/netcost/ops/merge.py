"""Layers that join tensors: residual add, broadcast multiply (squeeze-and-excitation) and
channel concatenation (inception, dense blocks). No parameters."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import InvalidArgument, ShapeError
from ..ir import LayerCost, Shape, format_shape, numel
from ._attrs import dim_index
from .registry import Derivation, OpSpec, Saved, register


def _shapes(inputs: tuple[Shape, ...]) -> str:
    return ", ".join(format_shape(s) for s in inputs)


@register("add")
class Add(OpSpec):
    summary = "elementwise sum of 2+ tensors of equal shape (residual connection)"
    n_inputs = None

    def normalize(self, attrs: dict[str, Any], inputs: tuple[Shape, ...]) -> dict[str, Any]:
        if len(inputs) < 2:
            raise InvalidArgument(f"add takes 2 or more inputs, got {len(inputs)}")
        if len(set(inputs)) != 1:
            raise ShapeError(f"add needs inputs of equal shape, got {_shapes(inputs)}")
        return attrs

    def cost(self, attrs: Mapping[str, Any], inputs: tuple[Shape, ...], output: Shape) -> LayerCost:
        # m tensors: m−1 adds per element; backward passes the gradient through unchanged
        return LayerCost(elementwise_ops=(len(inputs) - 1) * numel(output))

    def explain(self, attrs: Mapping[str, Any], inputs: tuple[Shape, ...],
                output: Shape) -> list[Derivation]:
        m, n = len(inputs), numel(output)
        return [Derivation("elementwise ops", "(inputs − 1)·numel", f"({m} − 1)·{n}", (m - 1) * n),
                Derivation("backward elementwise", "0 (the gradient passes to every input unchanged)",
                           "0", 0)]


def broadcast(a: Shape, b: Shape) -> Shape:
    """NumPy/PyTorch broadcasting of two per-sample shapes, aligned on the right."""
    ndim = max(len(a), len(b))
    pa, pb = (1,) * (ndim - len(a)) + a, (1,) * (ndim - len(b)) + b
    out = []
    for x, y in zip(pa, pb, strict=True):
        if x != y and 1 not in (x, y):
            raise ShapeError(f"mul cannot broadcast shapes {format_shape(a)} and {format_shape(b)}")
        out.append(max(x, y))
    return tuple(out)


@register("mul")
class Mul(OpSpec):
    summary = "elementwise product of 2 broadcastable tensors (squeeze-and-excitation scaling)"
    n_inputs = 2

    def output_shape(self, attrs: Mapping[str, Any], inputs: tuple[Shape, ...]) -> Shape:
        return broadcast(inputs[0], inputs[1])

    def cost(self, attrs: Mapping[str, Any], inputs: tuple[Shape, ...], output: Shape) -> LayerCost:
        n = numel(output)
        # each input's gradient is g × the other (n multiplies), summed back down to the
        # input's own shape where it was broadcast (n − its numel adds)
        reduce = sum(n - numel(s) for s in inputs)
        return LayerCost(elementwise_ops=n, backward_elementwise_ops=2 * n + reduce,
                         saved_numel=self.saves(attrs, inputs, output).numel(inputs, output))

    def saves(self, attrs: Mapping[str, Any], inputs: tuple[Shape, ...], output: Shape) -> Saved:
        return Saved(inputs=(0, 1))  # each input's gradient needs the other

    def explain(self, attrs: Mapping[str, Any], inputs: tuple[Shape, ...],
                output: Shape) -> list[Derivation]:
        n, (a, b) = numel(output), (numel(s) for s in inputs)
        return [Derivation("elementwise ops", "numel(output)", f"{n}", n),
                Derivation("backward elementwise", "2·numel(out) + Σ(numel(out) − numel(input))",
                           f"2·{n} + ({n} − {a}) + ({n} − {b})", 2 * n + (n - a) + (n - b)),
                Derivation("saved for backward", "numel(a) + numel(b)", f"{a} + {b}", a + b)]


@register("concat")
class Concat(OpSpec):
    summary = "concatenation of 2+ tensors along a per-sample dimension (channels by default)"
    n_inputs = None

    def normalize(self, attrs: dict[str, Any], inputs: tuple[Shape, ...]) -> dict[str, Any]:
        if len(inputs) < 2:
            raise InvalidArgument(f"concat takes 2 or more inputs, got {len(inputs)}")
        ndim = len(inputs[0])
        if any(len(s) != ndim for s in inputs):
            raise ShapeError(f"concat needs inputs of equal rank, got {_shapes(inputs)}")
        dim = attrs["dim"] = dim_index("dim", attrs.get("dim", 0), ndim)
        rest = {s[:dim] + s[dim + 1:] for s in inputs}
        if len(rest) != 1:
            raise ShapeError(
                f"concat along dim {dim} needs the other dimensions to match, got {_shapes(inputs)}"
            )
        return attrs

    def output_shape(self, attrs: Mapping[str, Any], inputs: tuple[Shape, ...]) -> Shape:
        dim, first = attrs["dim"], inputs[0]
        return (*first[:dim], sum(s[dim] for s in inputs), *first[dim + 1:])

    def cost(self, attrs: Mapping[str, Any], inputs: tuple[Shape, ...], output: Shape) -> LayerCost:
        return LayerCost()  # a copy: no arithmetic, and the backward only slices

    def explain(self, attrs: Mapping[str, Any], inputs: tuple[Shape, ...],
                output: Shape) -> list[Derivation]:
        sizes = [s[attrs["dim"]] for s in inputs]
        return [Derivation(f"output dim {attrs['dim']}", "Σ input sizes",
                           " + ".join(map(str, sizes)), sum(sizes)),
                Derivation("elementwise ops", "0 (a copy)", "0", 0)]
